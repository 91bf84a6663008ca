"""Deep models (gat, unimp, gcn): the norm option mechanism, PairNorm, diagnostics."""
import re

import dgl
import pytest
import torch

from benchmark.config import defaults, merge, to_run_config
from dgl_ma.data import DataConfig, load_task
from dgl_ma.data.task import TaskInfo
from dgl_ma.errors import ConfigError
from dgl_ma.layers.norms import PairNorm
from dgl_ma.models import MODELS, ModelConfig, build_model
from dgl_ma.models.options import allowed_norms
from dgl_ma.train import TrainConfig, fit, seed_everything
from dgl_ma.train.diagnostics import layer_diagnostics

NODE = TaskInfo("node", 5, 3, "cross_entropy", "accuracy")
GRAPH = TaskInfo("graph", 5, 4, "cross_entropy", "accuracy")
MODEL_NORMS = [(name, norm) for name in ("gat", "unimp", "gcn") for norm in allowed_norms(MODELS.get(name).attention_norms)]


def graphs(seed=0):
    gen = torch.Generator().manual_seed(seed)
    sizes = [5, 8, 6]
    gs = [dgl.graph((torch.randint(0, n, (2 * n,), generator=gen), torch.randint(0, n, (2 * n,), generator=gen)), num_nodes=n)
          for n in sizes]
    return gs, [torch.randn(n, 5, generator=gen) for n in sizes]


@pytest.mark.parametrize("name, norm", MODEL_NORMS)
def test_every_model_and_norm_runs_on_node_and_graph_tasks(name, norm):
    gs, feats = graphs()
    for task in (NODE, GRAPH):
        torch.manual_seed(0)
        model = build_model(ModelConfig(name=name, norm=norm, layers=3, hidden=4, heads=2), task).eval()
        batch = dgl.batch([model.prepare_graph(g) for g in gs])
        out = model(batch, torch.cat(feats))
        expected = (batch.num_nodes(), 3) if task is NODE else (3, 4)
        assert out.shape == expected and torch.isfinite(out).all()
        if task is GRAPH:  # batching equivalence: each graph alone gives its row
            alone = torch.cat([model(model.prepare_graph(g), f) for g, f in zip(gs, feats)])
            torch.testing.assert_close(out, alone, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name, norm, message", [
    ("gat", "maxnorm", "not available for model 'gat'"),
    ("gcn", "lipschitz", "not available for model 'gcn'"),
    ("unimp", "lipschitz_per_head", "lipschitz+layernorm"),
    ("gat", "pairnorm+layernorm", "choose one of"),
])
def test_unknown_norm_is_a_config_error(name, norm, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        to_run_config(merge(defaults(), {"model.name": name, "model.norm": norm}, "test"))


def test_norm_none_and_lipschitz_differ_only_in_the_attention():
    gs, feats = graphs()
    g = dgl.add_self_loop(gs[1])
    outs = {}
    for norm in ("none", "lipschitz"):
        torch.manual_seed(0)
        outs[norm] = build_model(ModelConfig(norm=norm, layers=2, hidden=4, heads=2), NODE).eval()(g, feats[1])
    assert not torch.allclose(outs["none"], outs["lipschitz"])
    a = build_model(ModelConfig(norm="none", layers=2, hidden=4, heads=2), NODE)
    b = build_model(ModelConfig(norm="lipschitz", layers=2, hidden=4, heads=2), NODE)
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]  # no new parameters


@pytest.mark.parametrize("name", ["gat", "gcn"])
def test_input_dropout_alone_drops_only_what_the_first_layer_sees(name):
    """model.dropout=0, model.input_dropout=p (the ablation of dropout before every layer):
    in training the first layer sees the encoder output with about p of it zeroed and the rest
    scaled by 1/(1-p); every later layer sees exactly the ELU of the previous layer's output."""
    gs, feats = graphs()
    g = dgl.add_self_loop(gs[1])
    torch.manual_seed(0)
    model = build_model(ModelConfig(name=name, layers=3, hidden=8, heads=2, input_dropout=0.5), NODE).train()
    inputs, outputs = [], []

    def keep(module, args, out):
        inputs.append(args[1])
        outputs.append(out.flatten(1))

    for layer in model.layers:
        layer.register_forward_hook(keep)
    model(g, feats[1])
    encoded = model.node_encoder(feats[1])
    kept = inputs[0] != 0
    assert 0.2 < 1 - kept.float().mean() < 0.8
    torch.testing.assert_close(inputs[0][kept], 2 * encoded[kept])
    for i in (1, 2):
        torch.testing.assert_close(inputs[i], torch.nn.functional.elu(outputs[i - 1]))


def test_pairnorm_centres_and_scales_each_graph():
    gs, _ = graphs()
    batch = dgl.batch(gs)
    h = torch.randn(batch.num_nodes(), 7) * 5 + 3
    out = PairNorm()(batch, h)
    for part in torch.split(out, batch.batch_num_nodes().tolist()):
        torch.testing.assert_close(part.mean(0), torch.zeros(7), atol=1e-5, rtol=0)
        assert part.pow(2).sum(1).mean().sqrt() == pytest.approx(1.0, abs=1e-3)


def test_diagnostics_rows_and_bound():
    task = load_task(DataConfig(name="csbm", num_nodes=80), 0)
    for norm, bound in (("lipschitz", 0.25), ("none", None)):
        torch.manual_seed(0)
        model = build_model(ModelConfig(norm=norm, layers=4, hidden=4, heads=2), task.info)
        graph = model.prepare_graph(task.graph)
        mask = graph.ndata["train_mask"]
        rows = layer_diagnostics(model, lambda m: torch.nn.functional.cross_entropy(
            m(graph, graph.ndata["feat"])[mask], graph.ndata["label"][mask]))
        assert len(rows) == 4
        assert all(r["weight_grad"] > 0 and r["attention_grad"] > 0 for r in rows)
        assert all(p.grad is None for p in model.parameters())  # leaves no gradient behind
        if bound:
            assert max(r["max_score"] for r in rows) <= bound + 1e-6


@pytest.mark.parametrize("dataset", ["csbm", "minigc"])
def test_diagnostics_leave_training_unchanged(dataset):
    task = load_task(DataConfig(name=dataset, num_nodes=60, num_graphs=40), 0)
    histories = []
    for every in (0, 1):
        seed_everything(0)
        model = build_model(ModelConfig(layers=2, hidden=4, heads=2, dropout=0.5, attn_dropout=0.3), task.info)
        result = fit(model, task, TrainConfig(epochs=4, diagnostics_every=every, patience=0), seed=0)
        histories.append([{k: v for k, v in e.items() if k != "seconds"} for e in result.history])
        assert len(result.diagnostics) == (5 if every else 0)   # epochs 0..4
    assert histories[0] == histories[1]
