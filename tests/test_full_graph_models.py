"""GraphiT and SAN (full and sparse): complete graphs, kernels, attention normalisation, the
γ = 0 reduction of SAN to its sparse variant, invariances and a training step."""
import dgl
import numpy as np
import pytest
import torch

from dgl_ma.data.task import TaskInfo
from dgl_ma.models import ModelConfig, build_model
from dgl_ma.models.full_graph import complete_graph, diffusion_kernel, normalized_laplacian, random_walk_kernel
from dgl_ma.models.graphit import KernelAttention
from dgl_ma.models.san import SANAttention
from dgl_ma.probes import capture

TASK = TaskInfo("graph", 1, 1, "l1", "mae", node_vocab=6, edge_vocab=4)
MODELS = ["graphit", "graphit_sparse", "san", "san_sparse"]


def molecule(n: int, seed: int) -> dgl.DGLGraph:
    gen = torch.Generator().manual_seed(seed)
    g = dgl.to_bidirected(dgl.graph((torch.randint(0, n, (2 * n,), generator=gen),
                                     torch.randint(0, n, (2 * n,), generator=gen)), num_nodes=n))
    g.ndata["feat"] = torch.randint(0, 6, (n,), generator=gen)
    g.edata["feat"] = torch.randint(1, 4, (g.num_edges(),), generator=gen)
    return g


def build(name, **kw):
    torch.manual_seed(0)
    cfg = dict(name=name, layers=2, hidden=4, heads=2, norm="batchnorm", readout="mean", dropout=0.0)
    cfg.update(kw)
    return build_model(ModelConfig(**cfg), TASK)


def test_complete_graph_marks_real_edges_and_copies_features():
    g = molecule(7, 0)
    full = complete_graph(g)
    assert full.num_edges() == 49 and int(full.edata["real"].sum()) == g.num_edges()
    u, v = g.edges()
    torch.testing.assert_close(full.edata["feat"][u * 7 + v], g.edata["feat"])
    assert (full.edata["feat"][~full.edata["real"]] == 0).all()
    src, dst = full.edges()
    assert torch.equal(src * 7 + dst, torch.arange(49))
    simple = dgl.remove_self_loop(g)
    san = complete_graph(simple, self_pairs=False)               # SAN: n(n-1) pairs, no self-pairs
    assert san.num_edges() == 42 and not (san.edges()[0] == san.edges()[1]).any()
    assert torch.equal(san.edata["real"], complete_graph(simple).edata["real"][src != dst])
    looped = dgl.add_self_loop(simple)                           # a self-loop that is an edge stays
    assert complete_graph(looped, self_pairs=False).num_edges() == 49


@pytest.mark.parametrize("kernel", [lambda g: diffusion_kernel(g, 1.0), lambda g: random_walk_kernel(g, 0.25, 16)])
def test_kernels_are_symmetric_positive_semidefinite_and_nonnegative(kernel):
    k = kernel(molecule(9, 1))
    np.testing.assert_allclose(k, k.T, atol=1e-10)
    assert np.linalg.eigvalsh(k).min() > -1e-8 and k.min() > -1e-12


def test_kernel_limits():
    g = molecule(6, 2)
    np.testing.assert_allclose(diffusion_kernel(g, 1e-9), np.eye(6), atol=1e-6)
    lap = normalized_laplacian(g)
    np.testing.assert_allclose(random_walk_kernel(g, 0.25, 2), (np.eye(6) - 0.25 * lap) @ (np.eye(6) - 0.25 * lap))


def test_kernel_attention_sums_to_one_and_vanishing_kernel_removes_pairs():
    g = complete_graph(molecule(6, 3))
    att = KernelAttention(8, 2)
    h = torch.randn(6, 8)
    kernel = g.edata["real"].float()
    _, _, alpha, _ = att(g, h, None, kernel, get_attention=True)
    sums = torch.zeros(6, 2, 1).index_add_(0, g.edges()[1], alpha)
    has_real = torch.zeros(6, dtype=torch.bool).index_fill_(0, g.edges()[1][g.edata["real"]], True)
    torch.testing.assert_close(sums[has_real], torch.ones(int(has_real.sum()), 2, 1))
    assert alpha[~g.edata["real"]].max() == 0                  # κ = 0 outside the real edges


def test_san_attention_gamma_weights_and_sum():
    g = complete_graph(molecule(6, 4))
    h, e = torch.randn(6, 8), torch.randn(36, 8)
    for gamma in (0.0, 0.5):
        _, _, alpha, _ = SANAttention(8, 2, gamma)(g, h, e, g.edata["real"], get_attention=True)
        sums = torch.zeros(6, 2, 1).index_add_(0, g.edges()[1], alpha)
        has_real = torch.zeros(6, dtype=torch.bool).index_fill_(0, g.edges()[1][g.edata["real"]], True)
        if gamma == 0.0:
            assert alpha[~g.edata["real"]].abs().max() == 0
            torch.testing.assert_close(sums[has_real], torch.ones(int(has_real.sum()), 2, 1), atol=1e-5, rtol=0)
        else:
            torch.testing.assert_close(sums, torch.ones(6, 2, 1), atol=1e-5, rtol=0)


def test_san_with_gamma_zero_equals_san_sparse():
    full = build("san", fake_edge_gamma=0.0).eval()
    sparse = build("san_sparse").eval()
    missing = sparse.load_state_dict(full.state_dict(), strict=False)
    assert not missing.missing_keys and all(".fake." in k or k == "no_edge" for k in missing.unexpected_keys)
    g = molecule(8, 5)
    a, b = full.prepare_graph(g), sparse.prepare_graph(g)
    torch.testing.assert_close(full(a, a.ndata["feat"]), sparse(b, b.ndata["feat"]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_batching_permutation_probes_and_a_training_step(name):
    model = build(name, pos_enc=4 if name == "san" else 0).eval()
    graphs = [molecule(n, s) for s, n in enumerate((6, 9, 5))]
    prepared = [model.prepare_graph(g) for g in graphs]
    batch = dgl.batch(prepared)
    out = model(batch, batch.ndata["feat"])
    alone = torch.cat([model(p, p.ndata["feat"]) for p in prepared])
    torch.testing.assert_close(out, alone, rtol=1e-4, atol=1e-5)
    g = graphs[1]
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(3))
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(9)
    src, dst = g.edges()
    gp = dgl.graph((inverse[src], inverse[dst]), num_nodes=9)
    gp.ndata["feat"], gp.edata["feat"] = g.ndata["feat"][perm], g.edata["feat"]
    if name != "san":  # eigenvectors of repeated eigenvalues are not permutation-equivariant
        p1, p2 = model.prepare_graph(g), model.prepare_graph(gp)
        torch.testing.assert_close(model(p2, p2.ndata["feat"]), model(p1, p1.ndata["feat"]), rtol=1e-4, atol=1e-5)
    with capture(model, names=("scores",)) as probes:
        assert torch.equal(model(batch, batch.ndata["feat"]), out)
    assert len(probes) == 2 and all(t.shape == (batch.num_edges(), 2, 4) for t in probes.values())
    model.train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    target = torch.randn(3, 1)
    losses = []
    for _ in range(2):
        optimiser.zero_grad()
        loss = torch.nn.functional.l1_loss(model(batch, batch.ndata["feat"]), target)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[1] < losses[0]


@pytest.mark.parametrize("ebt", ["none", "gnn_ma", "sink"])
@pytest.mark.parametrize("name", MODELS + ["gt"])
def test_isolated_atoms_give_finite_outputs_and_gradients(name, ebt):
    # Salts and mixtures in TOX21 and isolated nodes in PROTEINS: a node without incoming edges
    # attends over nothing (sparse models); its output must be finite (the regression: GraphiT's
    # max-shifted softmax divided 0 by 0).
    salt = dgl.graph((torch.tensor([], dtype=torch.int64), torch.tensor([], dtype=torch.int64)), num_nodes=2)
    salt.ndata["feat"], salt.edata["feat"] = torch.tensor([1, 2]), torch.tensor([], dtype=torch.int64)
    model = build(name, ebt=ebt, pos_enc=2 if name == "san" else 0)
    prepared = [model.prepare_graph(g) for g in (molecule(6, 1), salt)]
    batch = dgl.batch(prepared)
    out = model(batch, batch.ndata["feat"])
    out.sum().backward()
    assert torch.isfinite(out).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
