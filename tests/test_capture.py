"""Activation capture for the massive-activation analysis: per-layer S with edge metadata,
the cap, the compact file format, and the per-layer report (planted activation, bond types, ΔKS)."""
import dgl
import numpy as np
import torch

from dgl_ma.analysis.capture import collect, load, report, save
from dgl_ma.data.task import TaskInfo
from dgl_ma.models import ModelConfig, build_model

TASK = TaskInfo("graph", 1, 1, "l1", "mae", node_vocab=4, edge_vocab=4)


def batches(model, sizes=((5, 6, 7), (8, 4))):
    gen = torch.Generator().manual_seed(0)
    out = []
    for group in sizes:
        graphs = []
        for n in group:
            g = dgl.to_bidirected(dgl.graph((torch.arange(n - 1), torch.arange(1, n)), num_nodes=n))
            g.ndata["feat"] = torch.randint(0, 4, (n,), generator=gen)
            g.edata["feat"] = torch.randint(1, 4, (g.num_edges(),), generator=gen)
            graphs.append(model.prepare_graph(g))
        out.append((dgl.batch(graphs), torch.zeros(len(group), 1)))
    return out


def build(name):
    torch.manual_seed(0)
    return build_model(ModelConfig(name=name, layers=2, hidden=4, heads=2, norm="layernorm"), TASK)


def test_collect_layers_metadata_and_cap(tmp_path):
    model = build("gt")
    data = batches(model)
    acts = collect(model, data, cap=10_000)
    total = sum(g.num_edges() for g, _ in data)
    assert list(acts["layers"]) == ["layers.0.attention", "layers.1.attention"]
    assert acts["layers.0.attention/scores"].shape == (total, 8)
    assert np.array_equal(np.unique(acts["graph"]), np.arange(5)) and (np.diff(acts["graph"]) >= 0).all()
    bonds = torch.cat([g.edata["feat"] for g, _ in data]).numpy()
    assert np.array_equal(acts["edge_type"], bonds) and acts["real"].all()
    capped = collect(model, data, cap=25)
    assert capped["layers.1.attention/scores"].shape[0] == 25 == len(capped["graph"])
    save(tmp_path / "acts.npz", acts, cap=10_000)
    back = load(tmp_path / "acts.npz")
    assert np.array_equal(back["layers.1.attention/scores"], acts["layers.1.attention/scores"])
    assert list(back["layers"]) == list(acts["layers"]) and np.array_equal(back["edge_type"], acts["edge_type"])


def test_full_graph_models_mark_non_edges():
    model = build("san")
    acts = collect(model, batches(model, sizes=((5, 6),)))
    assert acts["layers.0.attention/scores"].shape[0] == 5 * 4 + 6 * 5          # SAN: no self-pairs
    assert (~acts["real"]).sum() == 50 - 2 * (4 + 5) and (acts["edge_type"][~acts["real"]] == -1).all()


def test_report_finds_planted_activation_by_layer_and_bond_type():
    rng = np.random.default_rng(0)
    edges = 400
    base = {"layers": np.array(["a", "b"]), "graph": np.repeat(np.arange(20), 20),
            "real": np.ones(edges, bool), "edge_type": rng.integers(1, 4, edges)}
    for layer in ("a", "b"):
        base[f"{layer}/scores"] = rng.normal(size=(edges, 16)).astype(np.float32)
    trained = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in base.items()}
    edge = 123
    trained["b/scores"][edge, 3] = 1e4 * np.median(np.abs(trained["b/scores"][edge]))
    rows = {row["layer"]: row for row in report(trained, base)}
    assert rows["a"]["massive"] == 0 and rows["b"]["massive"] == 1
    assert rows["b"]["massive_by_edge_type"] == {int(trained["edge_type"][edge]): 1}
    kinds, counts = np.unique(trained["edge_type"], return_counts=True)      # every captured edge, the base rates
    assert rows["a"]["edges_by_edge_type"] == rows["b"]["edges_by_edge_type"] == dict(zip(kinds.tolist(), counts.tolist()))
    assert rows["b"]["graphs_above"] == 1 and rows["b"]["max_ratio"] > 5000
    assert abs(rows["a"]["delta_ks"]) < 1e-9          # identical layer: no change in KS
    assert rows["b"]["base_max_ratio"] < 1000
    # an absolute threshold above the planted value removes it from the counts and the bond types alike
    strict = {row["layer"]: row for row in report(trained, base, abs_threshold=1e9)}
    assert strict["b"]["massive"] == 0 and strict["b"]["massive_by_edge_type"] == {}


def test_activation_files_keep_massive_values_exactly(tmp_path):
    # float16 files turned |S| >= 65 504 into inf: a recomputed report counted the massive
    # activation as a non-finite ratio instead (massive 1 -> 0, non-finite 0 -> 1)
    rng = np.random.default_rng(0)
    acts = {"layers": np.array(["a"]), "graph": np.zeros(50, dtype=np.int64), "real": np.ones(50, bool),
            "edge_type": np.ones(50, dtype=np.int64),
            "a/scores": rng.normal(size=(50, 16)).astype(np.float32)}
    acts["a/scores"][7, 2] = 1e5
    save(tmp_path / "acts.npz", acts, cap=50)
    back = load(tmp_path / "acts.npz")
    assert back["a/scores"].dtype == np.float32
    assert np.array_equal(back["a/scores"], acts["a/scores"])
    (before,), (after,) = report(acts), report(back)
    assert before["massive"] == after["massive"] == 1 and before["nonfinite"] == after["nonfinite"] == 0
