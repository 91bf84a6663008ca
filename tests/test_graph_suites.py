"""zinc_quick / tox21_quick / proteins_quick in CI size on the real (mirrored) data: every model
trains and is recorded; PROTEINS aggregates over folds; the records make a results site. Behaviour only, never accuracy."""

import pytest

from benchmark.leaderboard import aggregate, render
from benchmark.runner import execute
from benchmark.suites import load_suite
from benchmark.sweep import expand

from data_mirror import real_mirror
from report_fixtures import check_site

FOLDERS = {"zinc_quick": "zinc_8af4f93b", "tox21_quick": None, "proteins_quick": "PROTEINS_8123a282"}


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("suite_name", sorted(FOLDERS))
def test_graph_quick_suite_in_ci_size(suite_name, tmp_path):
    real_mirror("dgl/" + FOLDERS[suite_name] if FOLDERS[suite_name] else "tox21/tox21.csv")
    suite = load_suite(suite_name)
    overrides = {"train.epochs": 1, "model.layers": 1, "data.subset": 32, "output.dir": str(tmp_path),
                 "data.root": str(tmp_path / "data"), "data.download": False}
    plan = expand(suite, overrides)
    summary = execute(plan, progress=False)
    assert summary.count("failed") == 0, [r.get("message") for r in summary.executed]
    records = summary.executed
    assert {r["config"]["model"]["name"] for r in records} == {m["name"] for m in suite.grid["model"]}
    assert all(r["params"] > 0 and r["metric"]["name"] in ("mae", "rocauc", "accuracy") for r in records)
    rows = aggregate(records, suite.metrics, suite.aggregate_over)
    assert len(rows) == len(suite.grid["model"])                 # folds are aggregated, not rows
    if suite.aggregate_over:
        assert all(row.seeds + row.diverged == 2 for row in rows)  # two folds × one seed
    assert "###" in render(records, suite.metrics, over=suite.aggregate_over)
    check_site(tmp_path, suite_name, figures=False)                # its results site builds
