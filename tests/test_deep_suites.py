"""The deep_gat_quick / deep_gt_quick suites in CI size: tiny generated data, two epochs.
Behaviour only (records, diagnostics, the LipschitzNorm bound, plots, the results site), never accuracy."""

import pytest

from benchmark.leaderboard import render
from benchmark.plots import plot_suite
from benchmark.runner import execute
from benchmark.suites import load_suite
from benchmark.sweep import expand

from data_mirror import real_mirror
from report_fixtures import check_site

TINY = {"train.epochs": 2, "train.diagnostics_every": 1, "seeds": [0], "model.layers": [1, 3], "model.hidden": 4,
        "model.heads": 2, "data": [{"name": "ring_transfer", "num_graphs": 20, "ring_size": 6, "missing_rate": 0},
                                   {"name": "tree_neighbors_match", "num_graphs": 40, "tree_depth": 2, "missing_rate": 0}]}


@pytest.mark.slow
@pytest.mark.parametrize("suite_name", ["deep_gat_quick", "deep_gt_quick"])
def test_quick_suite_in_ci_size(suite_name, tmp_path):
    suite = load_suite(suite_name)
    plan = expand(suite, {**TINY, "output.dir": str(tmp_path)})
    methods = len(suite.grid["model"])
    assert len(plan.runs) == methods * 2 * 2          # methods × depths × datasets, one seed
    summary = execute(plan, progress=False)
    records = summary.executed
    assert {r["status"] for r in records} <= {"ok", "diverged"} and summary.count("failed") == 0
    for record in records:
        if record["status"] != "ok":
            continue
        depth = record["config"]["model"]["layers"]
        assert [d["epoch"] for d in record["diagnostics"]] == [0, 1, 2]
        assert all(len(d["layers"]) == depth for d in record["diagnostics"])
        if "lipschitz" in record["config"]["model"]["norm"]:
            scores = [layer["max_score"] for d in record["diagnostics"] for layer in d["layers"]]
            if record["config"]["model"]["name"] == "gat":   # GAT's bound: |e| <= 1/4
                assert max(scores) <= 0.25 + 1e-6
    table = render(records, suite.metrics, pivot="model.layers")
    assert "### ring_transfer" in table and "### tree_neighbors_match" in table
    assert "layers=1" in table and "layers=3" in table
    paths = plot_suite(records, tmp_path / "plots")
    assert sorted(p.name for p in paths) == ["accuracy_vs_depth.png", "grad_norm_vs_epoch.png", "grad_norm_vs_layer.png"]
    check_site(tmp_path, suite_name)                              # its results site builds


@pytest.mark.slow
@pytest.mark.realdata
def test_deep_gat_quick_on_cora_with_missing_features(tmp_path):
    real_mirror("dgl/cora_v2_d697a464")
    plan = expand(load_suite("deep_gat_quick"), {
        "train.epochs": 2, "seeds": [0], "model.layers": [2], "output.dir": str(tmp_path),
        "data": [{"name": "cora", "missing_rate": 100}], "data.root": str(tmp_path / "data"), "data.download": False})
    summary = execute(plan, progress=False)
    assert len(summary.executed) == 4 and summary.count("failed") == 0
