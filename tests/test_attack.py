"""Adversarial input noise: optimised noise raises the loss above random noise on a trained toy
model; the model is left untouched; noise is shaped per batch (or shared)."""
import dgl
import pytest
import torch
import torch.nn.functional as F

from dgl_ma.analysis.attack import attack, attack_batch
from dgl_ma.data.task import TaskInfo
from dgl_ma.models import ModelConfig, build_model

TASK = TaskInfo("graph", 1, 1, "l1", "mae", node_vocab=4, edge_vocab=3)


def molecules(count, seed):
    gen = torch.Generator().manual_seed(seed)
    graphs, targets = [], []
    for _ in range(count):
        n = int(torch.randint(5, 10, (1,), generator=gen))
        g = dgl.to_bidirected(dgl.graph((torch.arange(n - 1), torch.arange(1, n)), num_nodes=n))
        g.ndata["feat"] = torch.randint(0, 4, (n,), generator=gen)
        g.edata["feat"] = torch.randint(0, 3, (g.num_edges(),), generator=gen)
        graphs.append(g)
        targets.append((g.ndata["feat"] == 0).float().sum().view(1))     # learnable: count of type-0 atoms
    return dgl.batch(graphs), torch.stack(targets)


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gt", layers=2, hidden=4, heads=2, norm="layernorm", readout="sum"), TASK)
    batch, target = molecules(64, 0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        optimiser.zero_grad()
        F.l1_loss(model(batch, batch.ndata["feat"]), target).backward()
        optimiser.step()
    return model.eval()


def test_optimised_noise_beats_random_noise(trained):
    batches = [molecules(16, s) for s in (1, 2)]
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    results = attack(trained, batches, F.l1_loss, sigmas=(0.1, 0.3), steps=15, lr=0.2, seed=0)
    for result in results:
        assert result.optimised_loss > result.random_loss
        assert result.gain > 0
    assert results[0].clean_loss == pytest.approx(results[1].clean_loss)  # the same clean loss for every σ
    assert all(torch.equal(before[k], v) for k, v in trained.state_dict().items())   # model untouched
    assert all(p.requires_grad for p in trained.parameters())


def test_zero_sigma_changes_nothing(trained):
    graph, target = molecules(8, 3)
    clean, random, optimised = attack_batch(trained, graph, target, F.l1_loss, sigma=0.0, steps=2,
                                            generator=torch.Generator().manual_seed(0))
    assert clean == pytest.approx(random) == pytest.approx(optimised)


@pytest.mark.parametrize("shared", [False, True])
def test_noise_is_shaped_per_batch_or_shared(trained, shared):
    from dgl_ma.analysis.attack import _noise_shapes

    for count in (4, 9):  # two batch sizes: the noise follows each batch
        graph, _ = molecules(count, count)
        shapes = _noise_shapes(trained, graph, shared)
        expected = {"node": (1, 8), "edge": (1, 8)} if shared else {"node": (graph.num_nodes(), 8),
                                                                      "edge": (graph.num_edges(), 8)}
        assert shapes == expected
