"""MA figures: per-graph max ratios and bond counts against hand-computed values, and the three
PNGs from synthetic records whose activation files hold a planted massive activation."""
import json

import numpy as np
import pytest

from benchmark.ma_plots import bond_counts, graph_max_ratios, plot_massive, pooled_profile, variant_of
from dgl_ma.analysis.capture import report, save

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LAYERS = ["layers.0.attention", "layers.1.attention", "layers.2.attention"]


def _record(name="gt", ebt="none", use_bias=False, seed=0, data="zinc", massive=None, files=None, layers=3):
    model = {"name": name, "ebt": ebt, "use_bias": use_bias, "layers": layers}
    record = {"config": {"model": model, "data": {"name": data}}, "seed": seed, "status": "ok"}
    if massive is not None:
        record["massive"], record["massive_files"] = massive, files
    return record


def _acts(rng, planted=None, edges=120, graphs=6, features=16):
    """Activations of three layers; ``planted`` = (layer, edge, ratio, bond): that edge (of bond
    type ``bond``) has a row of ones but one element of size ``ratio``."""
    acts = {f"{layer}/scores": rng.normal(size=(edges, features)).astype(np.float32) for layer in LAYERS}
    acts["graph"] = np.repeat(np.arange(graphs), edges // graphs)
    acts["real"] = np.ones(edges, dtype=bool)
    acts["edge_type"] = rng.choice([1, 2, 3, -1], size=edges)
    acts["layers"] = np.array(LAYERS)
    if planted is not None:
        layer, edge, ratio, bond = planted
        row = np.ones(features, dtype=np.float32)
        row[3] = ratio
        acts[f"{LAYERS[layer]}/scores"][edge] = row
        acts["edge_type"][edge] = bond
    return acts


def _write_run(folder, rng, run_id, planted=None, **config):
    """Synthetic record + base/final/best npz files, the record built with the real report."""
    acts = {"base": _acts(rng), "final": _acts(rng, planted), "best": _acts(rng, planted)}
    files = {}
    for state, a in acts.items():
        files[state] = f"{run_id}.{state}.npz"
        save(folder / files[state], a, cap=1000)
    massive = {state: report(a, None if state == "base" else acts["base"]) for state, a in acts.items()}
    return _record(massive=massive, files=files, **config)


def test_graph_max_ratio_by_hand():
    acts = {"l/scores": np.array([[1, 2, 3],        # median 2 -> 1.5
                                  [-1, 1, -4],      # median 1 -> 4 (magnitudes)
                                  [0, 0, 5],        # median 0 -> nan / inf: left out
                                  [2, 2, 2],        # -> 1
                                  [0, 0, 0]],       # graph 2 has no finite ratio -> nan
                                 dtype=np.float16),
            "graph": np.array([0, 0, 1, 1, 2])}
    graphs, best = graph_max_ratios(acts, "l")
    assert graphs.tolist() == [0, 1, 2]
    np.testing.assert_allclose(best[:2], [4.0, 1.0])
    assert np.isnan(best[2])


def test_planted_activation_and_pooling():
    rng = np.random.default_rng(0)
    a, b = _acts(rng, planted=(1, 25, 2000.0, 2)), _acts(rng)
    graphs, best = graph_max_ratios(a, LAYERS[1])
    assert best[25 // 20] == pytest.approx(2000.0) and np.all(np.delete(best, 1) < 1000)
    profile = pooled_profile([a, b])
    assert len(profile) == 3 and all(v.size == 12 for v in profile)      # 6 graphs per seed, pooled
    assert np.nanmax(profile[1]) == pytest.approx(2000.0) and np.nanmax(profile[0]) < 1000


def test_variant_labels_and_bond_counts():
    assert [variant_of(_record(**kw)) for kw in ({}, {"use_bias": True}, {"ebt": "sink"})] == [
        "gt", "gt +bias", "gt EBT sink"]
    def rows(*counts):
        return [{"layer": f"l{i}", "massive_by_edge_type": c} for i, c in enumerate(counts)]

    records = [
        _record(seed=0, massive={"final": rows({1: 2, 2: 1}, {"1": 3})}, files={}),     # JSON keys as strings
        _record(seed=1, massive={"final": rows({-1: 4}, {})}, files={}),
        _record(ebt="sink", massive={"final": rows({}, {})}, files={}),
        _record(name="san", massive=None),                                              # no massive data
    ]
    variants, types, counts = bond_counts(records)
    assert variants == ["gt", "gt EBT sink"] and types == [-1, 1, 2]
    assert counts.tolist() == [[4, 5, 1], [0, 0, 0]]
    deeper = _record(layers=6, massive={"final": rows({3: 1})}, files={})            # a second depth of "gt"
    variants, types, counts = bond_counts(records + [deeper])
    assert variants == ["gt L=3", "gt L=6", "gt EBT sink"] and counts[:, -1].tolist() == [0, 1, 0]


def test_labels_leave_out_keys_that_only_follow_the_model():
    """A key set per model (the suites' reference batch sizes) is not in the labels; one that
    differs between runs of the same variant (two learning rates) is, so seeds alone are pooled."""
    def rows():
        return [{"layer": "l0", "massive_by_edge_type": {1: 1}}]

    def run(name, batch, lr, ebt="none"):
        record = _record(name=name, ebt=ebt, massive={"final": rows()}, files={})
        record["config"]["train"] = {"batch_size": batch, "lr": lr}
        return record

    per_model = [run("gt", 128, 7e-4), run("gt", 128, 7e-4, "sink"), run("san", 32, 7e-4)]
    assert bond_counts(per_model)[0] == ["gt", "gt EBT sink", "san"]
    two_lrs = per_model + [run("san", 32, 3e-4)]
    assert bond_counts(two_lrs)[0] == ["gt lr=0.0007", "gt EBT sink lr=0.0007", "san lr=0.0007", "san lr=0.0003"]


def test_plot_massive_writes_three_pngs(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "results"
    folder.mkdir()
    records = []
    for i, (name, ebt, use_bias) in enumerate([("gt", "none", False), ("gt", "none", True), ("gt", "sink", False),
                                                ("san", "none", False)]):
        for seed in (0, 1):
            planted = (1, 5 + seed, 3000.0, 2 - seed) if ebt == "none" else None
            records.append(_write_run(folder, rng, f"run{i}{seed}", planted, name=name, ebt=ebt,
                                      use_bias=use_bias, seed=seed))
    records = json.loads(json.dumps(records))                  # as read back from disk: string keys
    assert records[0]["massive"]["final"][1]["massive_by_edge_type"] == {"2": 1}
    assert records[1]["massive"]["final"][1]["massive_by_edge_type"] == {"1": 1}
    paths = plot_massive(records, folder, tmp_path / "figures")
    assert [p.name for p in paths] == ["ma_ratio_curves.png", "ma_gamma_fits.png", "ma_bond_heatmap.png"]
    for path in paths:
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 10_000, path
    variants, types, counts = bond_counts(records)            # one planted edge per ebt=none record
    assert variants == ["gt", "gt +bias", "gt EBT sink", "san"] and types == [1, 2]
    assert counts.tolist() == [[1, 1], [1, 1], [0, 0], [1, 1]]


def test_plot_massive_without_data_or_files(tmp_path):
    assert plot_massive([], tmp_path, tmp_path / "a") == []
    assert plot_massive([_record(), _record(massive={}, files={})], tmp_path, tmp_path / "b") == []
    assert not (tmp_path / "a").exists()
    rows = [{"layer": "l0", "massive_by_edge_type": {"1": 2}}]
    lonely = _record(massive={"base": rows, "final": rows}, files={"base": "gone.npz", "final": "gone.npz"})
    paths = plot_massive([lonely], tmp_path, tmp_path / "c")    # activation files missing: heatmap only
    assert [p.name for p in paths] == ["ma_bond_heatmap.png"] and paths[0].read_bytes()[:8] == PNG_MAGIC
