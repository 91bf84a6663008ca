"""Missing features (SSNC-MV), depends_on_seed, and the long-range tasks ring_transfer and
tree_neighbors_match."""
import math

import dgl
import networkx as nx
import pytest
import torch

from dgl_ma.data import DataConfig, NodeTask, TaskInfo, depends_on_seed, load_task
from dgl_ma.data.missing import apply_missing_features
from dgl_ma.errors import ConfigError

from data_mirror import real_mirror

MASKS = ("train_mask", "val_mask", "test_mask")


# --------------------------------------------------------------------------- missing features


def toy_task(n=110, train=10, width=3):
    """A path graph with strictly positive features, nodes ``0..train-1`` in the training set."""
    g = dgl.graph((torch.arange(n - 1), torch.arange(1, n)), num_nodes=n)
    g.ndata["feat"] = torch.rand(n, width, generator=torch.Generator().manual_seed(0)) + 0.5
    g.ndata["label"] = torch.zeros(n, dtype=torch.long)
    g.ndata["train_mask"] = torch.arange(n) < train
    g.ndata["val_mask"] = (torch.arange(n) >= train) & (torch.arange(n) < train + 10)
    g.ndata["test_mask"] = torch.arange(n) >= train + 10
    return NodeTask(TaskInfo("node", width, 2, "cross_entropy", "accuracy"), g)


def zeroed(task):
    return (task.graph.ndata["feat"] == 0).all(1)


@pytest.mark.parametrize("rate", [0, 1, 25, 29, 50, 75, 100])
def test_missing_count_and_training_nodes_kept(rate):
    base = toy_task()
    out = apply_missing_features(base, "toy", rate, seed=3)
    train = base.graph.ndata["train_mask"]
    pool = int((~train).sum())                     # 100: 29 / 100 * 100 would floor to 28
    assert int(zeroed(out).sum()) == rate * pool // 100
    assert not zeroed(out)[train].any()
    assert torch.equal(out.graph.ndata["feat"][train], base.graph.ndata["feat"][train])
    kept = ~zeroed(out)
    assert torch.equal(out.graph.ndata["feat"][kept], base.graph.ndata["feat"][kept])
    for key in ("label",) + MASKS:
        assert torch.equal(out.graph.ndata[key], base.graph.ndata[key])
    assert out.info == base.info


def test_rate_100_zeroes_every_non_training_node():
    base = toy_task()
    out = apply_missing_features(base, "toy", 100, seed=0)
    assert torch.equal(zeroed(out), ~base.graph.ndata["train_mask"])


def test_missing_mask_depends_on_dataset_rate_and_seed_only():
    a = zeroed(apply_missing_features(toy_task(), "cora", 50, seed=1))
    b = zeroed(apply_missing_features(toy_task(width=7), "cora", 50, seed=1))  # another "model" view
    assert torch.equal(a, b)
    assert not torch.equal(a, zeroed(apply_missing_features(toy_task(), "cora", 50, seed=2)))
    assert not torch.equal(a, zeroed(apply_missing_features(toy_task(), "citeseer", 50, seed=1)))


def test_rate_zero_and_input_not_mutated():
    base = toy_task()
    before = {key: value.clone() for key, value in base.graph.ndata.items()}
    assert apply_missing_features(base, "toy", 0, seed=0) is base
    out = apply_missing_features(base, "toy", 75, seed=0)
    assert zeroed(out).any()
    for key, value in before.items():
        assert torch.equal(base.graph.ndata[key], value), key
    assert out.graph is not base.graph
    assert out.graph.ndata["feat"].data_ptr() != base.graph.ndata["feat"].data_ptr()


def test_load_task_applies_missing_features():
    base = load_task(DataConfig(name="csbm", num_nodes=100), 4)
    out = load_task(DataConfig(name="csbm", num_nodes=100, missing_rate=50), 4)
    pool = int((~base.graph.ndata["train_mask"]).sum())
    assert int(zeroed(out).sum()) == 50 * pool // 100
    assert not zeroed(base).any()


@pytest.mark.parametrize("rate", [-1, 101, math.nan])
def test_missing_rate_out_of_range(rate):
    with pytest.raises(ConfigError, match="missing_rate"):
        DataConfig(missing_rate=rate)


def test_missing_rate_on_graph_task_raises():
    with pytest.raises(ConfigError, match="node tasks only"):
        load_task(DataConfig(name="minigc", num_graphs=40, missing_rate=10), 0)


def test_depends_on_seed():
    assert depends_on_seed(DataConfig(name="csbm"))
    assert depends_on_seed(DataConfig(name="ring_transfer"))
    assert depends_on_seed(DataConfig(name="tree_neighbors_match"))
    assert not depends_on_seed(DataConfig(name="cora"))
    assert depends_on_seed(DataConfig(name="cora", missing_rate=25))
    with pytest.raises(ConfigError, match="coraa"):
        depends_on_seed(DataConfig(name="coraa"))


@pytest.mark.realdata
def test_cora_with_missing_features_from_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("DGL_REPO", raising=False)
    mirror = str(real_mirror("dgl/cora_v2_d697a464"))
    cfg = DataConfig(name="cora", root=str(tmp_path), mirror=mirror, download=False)
    base = load_task(cfg, 0)
    out = load_task(DataConfig(**{**vars(cfg), "missing_rate": 50}), 0)
    train = out.graph.ndata["train_mask"]
    assert int(train.sum()) == 140
    empty = zeroed(out) & ~zeroed(base)                 # Cora has no all-zero rows of its own
    assert int(empty.sum()) == (2708 - 140) // 2
    assert not empty[train].any()


# --------------------------------------------------------------------------- ring_transfer


def ring(seed, n=7, graphs=20):
    return load_task(DataConfig(name="ring_transfer", ring_size=n, num_graphs=graphs), seed)


def same_task(a, b):
    if a.graph.num_nodes() != b.graph.num_nodes() or a.graph.num_edges() != b.graph.num_edges():
        return False
    if not all(torch.equal(x, y) for x, y in zip(a.graph.edges(), b.graph.edges())):
        return False
    return all(torch.equal(a.graph.ndata[k], b.graph.ndata[k]) for k in a.graph.ndata)


def check_masks(g, query):
    """Masks are bool, disjoint, cover exactly the ``query`` nodes, in 60/20/20 shares."""
    masks = [g.ndata[key] for key in MASKS]
    assert all(m.dtype == torch.bool for m in masks)
    assert int(sum(m.long() for m in masks).max()) == 1
    assert torch.equal(masks[0] | masks[1] | masks[2], query)
    q = int(query.sum())
    assert [int(m.sum()) for m in masks] == [q - 2 * (q // 5), q // 5, q // 5]
    assert g.ndata["label"].dtype == torch.int64 and int(g.ndata["label"].min()) >= 0


@pytest.mark.parametrize("n", [4, 7, 10])
def test_ring_structure_and_labels(n):
    task = ring(0, n=n)
    g = task.graph
    assert task.info == TaskInfo("node", 6, 5, "cross_entropy", "accuracy")
    assert g.num_nodes() == 20 * n and g.num_edges() == 20 * 2 * n
    feat, label = g.ndata["feat"].view(20, n, 6), g.ndata["label"].view(20, n)
    target = feat[:, :, 5] == 1
    assert torch.equal(target.nonzero()[:, 1], torch.full((20,), n // 2))
    assert torch.equal(label[:, n // 2], feat[:, 0, :5].argmax(1))
    assert torch.equal(feat[:, 0, :5].sum(1), torch.ones(20))
    check_masks(g, target.flatten())
    first = dgl.node_subgraph(g, torch.arange(n))                   # graph 0 = nodes 0..n-1
    assert first.num_edges() == 2 * n and first.in_degrees().eq(2).all()
    lengths = nx.single_source_shortest_path_length(nx.DiGraph(dgl.to_networkx(first)), 0)
    assert lengths[n // 2] == n // 2 and max(lengths.values()) == n // 2


def test_ring_deterministic_and_differs_across_seeds():
    assert same_task(ring(0), ring(0))
    assert not torch.equal(ring(0).graph.ndata["feat"], ring(1).graph.ndata["feat"])


# --------------------------------------------------------------------------- tree_neighbors_match


def tree(seed, depth=3, graphs=30):
    return load_task(DataConfig(name="tree_neighbors_match", tree_depth=depth, num_graphs=graphs), seed)


@pytest.mark.parametrize("depth", [1, 3, 5])
def test_tree_structure_and_labels(depth):
    task = tree(2, depth=depth)
    g, leaves = task.graph, 2 ** depth
    n = 2 * leaves - 1
    assert task.info == TaskInfo("node", 2 * leaves, leaves, "cross_entropy", "accuracy")
    assert g.num_nodes() == 30 * n and g.num_edges() == 30 * (n - 1)
    feat = g.ndata["feat"].view(30, n, 2 * leaves)
    leaf_feat = feat[:, leaves - 1:]
    keys, values = leaf_feat[..., :leaves].argmax(-1), leaf_feat[..., leaves:].argmax(-1)
    assert torch.equal(leaf_feat.sum(-1), torch.full((30, leaves), 2.0))
    assert torch.equal(keys.sort(1).values, torch.arange(leaves).expand(30, -1))    # distinct keys
    assert not feat[:, 1:leaves - 1].any()                                           # internal nodes
    root = feat[:, 0]
    assert torch.equal(root.sum(1), torch.ones(30)) and not root[:, leaves:].any()
    asked = (keys == root[:, :leaves].argmax(1, keepdim=True)).float().argmax(1)
    label = g.ndata["label"].view(30, n)
    assert torch.equal(label[:, 0], values[torch.arange(30), asked])
    root_mask = torch.zeros(30, n, dtype=torch.bool)
    root_mask[:, 0] = True
    check_masks(g, root_mask.flatten())
    first = dgl.node_subgraph(g, torch.arange(n))
    indeg = first.in_degrees()
    assert int(indeg[0]) == 2 and not indeg[leaves - 1:].any() and first.out_degrees()[0] == 0
    digraph = nx.DiGraph(dgl.to_networkx(first))
    for leaf in range(leaves - 1, n):
        assert nx.shortest_path_length(digraph, leaf, 0) == depth


def test_tree_deterministic_and_differs_across_seeds():
    assert same_task(tree(0), tree(0))
    assert not torch.equal(tree(0).graph.ndata["feat"], tree(1).graph.ndata["feat"])


def test_tree_many_classes_few_graphs_still_splits():
    check_masks(tree(0, depth=6, graphs=10).graph, torch.arange(10 * 127) % 127 == 0)


@pytest.mark.parametrize("kwargs", [{"ring_size": 3}, {"tree_depth": 0}, {"tree_depth": 9}])
def test_long_range_size_checks(kwargs):
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        DataConfig(**kwargs)
