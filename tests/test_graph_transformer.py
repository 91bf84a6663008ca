"""GraphTransformer (gt): attention normalisation, S probe, invariances, batching, a training step."""
import dgl
import pytest
import torch

from dgl_ma.data.task import TaskInfo
from dgl_ma.layers.edge_attention import EdgeAttention
from dgl_ma.models import ModelConfig, build_model
from dgl_ma.probes import capture

MOLECULE = TaskInfo("graph", 1, 1, "l1", "mae", node_vocab=6, edge_vocab=4)
NO_EDGES = TaskInfo("graph", 5, 3, "cross_entropy", "accuracy")


def molecule(n: int, seed: int) -> dgl.DGLGraph:
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(0, n, (2 * n,), generator=gen)
    dst = torch.randint(0, n, (2 * n,), generator=gen)
    g = dgl.to_bidirected(dgl.graph((src, dst), num_nodes=n))
    g.ndata["feat"] = torch.randint(0, 6, (n,), generator=gen)
    g.edata["feat"] = torch.randint(0, 4, (g.num_edges(),), generator=gen)
    return g


def build(task=MOLECULE, **kw):
    torch.manual_seed(0)
    cfg = dict(name="gt", layers=2, hidden=4, heads=2, norm="batchnorm", readout="mean")
    cfg.update(kw)
    return build_model(ModelConfig(**cfg), task)


def test_attention_weights_sum_to_one_and_scores_have_head_shape():
    g = molecule(7, 0)
    att = EdgeAttention(8, 2)
    h, scores, alpha, slot = att(g, torch.randn(7, 8), torch.randn(g.num_edges(), 8), get_attention=True)
    assert not slot.any()                                                   # no EBT: no bias slot
    assert h.shape == (7, 2, 4) and scores.shape == (g.num_edges(), 2, 4)
    with g.local_scope():
        g.edata["a"] = alpha
        g.update_all(dgl.function.copy_e("a", "m"), dgl.function.sum("m", "s"))
        has_in = g.in_degrees() > 0
        torch.testing.assert_close(g.ndata["s"][has_in], torch.ones(int(has_in.sum()), 2, 1), atol=1e-5, rtol=0)


def test_scores_probe_is_S_before_the_softmax_and_probes_off_change_nothing():
    model = build().eval()
    g = molecule(8, 1)
    out_plain = model(g, g.ndata["feat"])
    with capture(model, names=("scores",)) as probes:
        out_probed = model(g, g.ndata["feat"])
    assert torch.equal(out_plain, out_probed)
    assert sorted(probes) == [("layers.0.attention", "scores"), ("layers.1.attention", "scores")]
    assert probes[("layers.0.attention", "scores")].shape == (g.num_edges(), 2, 4)


@pytest.mark.parametrize("norm", ["batchnorm", "layernorm", "none"])
@pytest.mark.parametrize("readout", ["mean", "sum"])
def test_permutation_invariance_and_batching(norm, readout):
    model = build(norm=norm, readout=readout).eval()
    graphs = [molecule(n, s) for s, n in enumerate((6, 9, 5))]
    batch = dgl.batch(graphs)
    out = model(batch, batch.ndata["feat"])
    alone = torch.cat([model(g, g.ndata["feat"]) for g in graphs])
    torch.testing.assert_close(out, alone, rtol=1e-4, atol=1e-5)
    g = graphs[1]
    perm = torch.randperm(g.num_nodes(), generator=torch.Generator().manual_seed(3))
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(len(perm))
    src, dst = g.edges()
    gp = dgl.graph((inverse[src], inverse[dst]), num_nodes=g.num_nodes())
    gp.ndata["feat"] = g.ndata["feat"][perm]
    gp.edata["feat"] = g.edata["feat"]
    torch.testing.assert_close(model(gp, gp.ndata["feat"]), model(g, g.ndata["feat"]), rtol=1e-4, atol=1e-5)


def test_without_edge_features_and_with_positional_encoding():
    model = build(NO_EDGES, pos_enc=3)
    g = molecule(8, 2)
    g.ndata["feat"] = torch.randn(8, 5)
    prepared = model.prepare_graph(g)
    assert prepared.ndata["lap_pe"].shape == (8, 3) and "lap_pe" not in g.ndata   # input untouched
    assert model.eval()(prepared, prepared.ndata["feat"]).shape == (1, 3)


def test_one_step_lowers_the_loss():
    model = build(dropout=0.0)
    batch = dgl.batch([molecule(n, s) for s, n in enumerate((6, 9, 5, 7))])
    target = torch.randn(4, 1)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(2):
        optimiser.zero_grad()
        loss = torch.nn.functional.l1_loss(model(batch, batch.ndata["feat"]), target)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[1] < losses[0]


def test_unknown_norm_is_rejected():
    from benchmark.config import defaults, merge, to_run_config
    from dgl_ma.errors import ConfigError

    with pytest.raises(ConfigError, match="not available for model 'gt'"):
        to_run_config(merge(defaults(), {"model.name": "gt", "model.norm": "lipschitz"}, "test"))
