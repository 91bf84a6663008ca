"""The massive-activation analysis through the runner: three states captured and stored, the
report and attack in the record, the MA leaderboard columns; probes and analysis off change nothing."""
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from benchmark.leaderboard import METRIC_COLUMNS, render
from benchmark.runner import execute
from benchmark.suites import load_suite
from benchmark.sweep import expand
from dgl_ma.analysis.capture import load

from data_mirror import real_mirror
from report_fixtures import check_site

SUITE = """
description: MA pipeline test
config:
  model: {name: gt, layers: 2, hidden: 4, heads: 2, norm: layernorm}
  data: {name: minigc, num_graphs: 40}
  train: {epochs: 3, batch_size: 16, patience: 0}
  analysis: {massive: true, attack: true, cap_edges: 300, attack_steps: 2, attack_batches: 1, sigmas: [0.01, 0.1]}
  seeds: [0]
grid:
  model.ebt: [none, sink]
leaderboard:
  metrics: [test, ma_max_ratio, ma_base_max_ratio, ma_fraction, ma_delta_ks, gain@0.01, gain@0.1]
"""


@pytest.mark.slow
def test_analysis_records_files_and_leaderboard(tmp_path):
    path = tmp_path / "ma.yaml"
    path.write_text(textwrap.dedent(SUITE))
    plan = expand(load_suite(str(path)), {"output.dir": str(tmp_path / "results")})
    summary = execute(plan, progress=False)
    assert [r["status"] for r in summary.executed] == ["ok", "ok"], [r.get("message") for r in summary.executed]
    for record in summary.executed:
        assert set(record["massive"]) == {"base", "final", "best"}
        layers = record["massive"]["final"]
        assert [row["layer"] for row in layers] == ["layers.0.attention", "layers.1.attention"]
        assert all("delta_ks" in row and row["elements"] > 0 for row in layers)
        assert "delta_ks" not in record["massive"]["base"][0]
        assert [a["sigma"] for a in record["attack"]] == [0.01, 0.1]
        assert all(a["optimised_loss"] >= a["random_loss"] - 1e-6 for a in record["attack"])
        for state, name in record["massive_files"].items():
            acts = load(plan.output_dir / name)
            assert acts["layers.0.attention/scores"].shape[0] <= 300 and len(acts["graph"]) == acts[
                "layers.0.attention/scores"].shape[0]
    base = load(plan.output_dir / summary.executed[0]["massive_files"]["base"])
    final = load(plan.output_dir / summary.executed[0]["massive_files"]["final"])
    assert not np.array_equal(base["layers.0.attention/scores"], final["layers.0.attention/scores"])  # trained
    table = render(summary.executed, plan.suite.metrics)
    for column in ("ma_max_ratio", "ma_base_max_ratio", "ma_fraction", "ma_delta_ks", "gain@0.01", "gain@0.1", "ebt"):
        assert column in table
    for record in summary.executed:  # the max-ratio columns read the final and the base state
        for column, state in (("ma_max_ratio", "final"), ("ma_base_max_ratio", "base")):
            want = max(row["max_ratio"] for row in record["massive"][state])
            assert METRIC_COLUMNS[column][0](record) == pytest.approx(want)


def test_analysis_off_leaves_the_run_unchanged(tmp_path):
    path = tmp_path / "ma.yaml"
    path.write_text(textwrap.dedent(SUITE))
    suite = load_suite(str(path))
    on = expand(suite, {"output.dir": str(tmp_path / "a"), "model.ebt": "none"})
    off = expand(suite, {"output.dir": str(tmp_path / "b"), "model.ebt": "none", "analysis.massive": False,
                         "analysis.attack": False})
    assert on.runs[0].run_id != off.runs[0].run_id             # the analysis is part of what a run records
    a, b = execute(on, progress=False).executed[0], execute(off, progress=False).executed[0]
    strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h]  # noqa: E731
    assert strip(a["history"]) == strip(b["history"]) and "massive" not in b


MA_QUICK = {  # suite: (its mirror file, the edge types its massive counts may name; None: not checked)
    "ma_zinc_quick": ("dgl/zinc_8af4f93b", {1, 2, 3}),          # ZINC bond types
    "ma_tox21_quick": ("tox21/tox21.csv", None),
    "ma_tu_proteins_quick": ("dgl/PROTEINS_8123a282", None),
}


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("suite_name", sorted(MA_QUICK))
def test_ma_quick_suite_in_ci_size(suite_name, tmp_path):
    mirror_file, edge_types = MA_QUICK[suite_name]
    real_mirror(mirror_file)
    suite = load_suite(suite_name)
    plan = expand(suite, {"train.epochs": 1, "model.layers": 1, "data.subset": 32, "model.ebt": ["none", "gnn_ma"],
                          "model.use_bias": [False], "output.dir": str(tmp_path), "data.root": str(tmp_path / "data"),
                          "data.download": False})
    summary = execute(plan, progress=False)
    assert len(summary.executed) == 3 * 2 and summary.count("failed") == 0
    if edge_types is not None:
        bonds = set()
        for record in summary.executed:
            for row in record["massive"]["final"]:
                bonds |= set(row["massive_by_edge_type"])
        assert bonds <= edge_types                               # massive counts are by bond type
    assert "ma_max_ratio" in render(summary.executed, suite.metrics)
    check_site(tmp_path, suite_name)                             # its results site, MA figures included


@pytest.mark.slow
def test_plot_command_writes_the_ma_figures(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "ma.yaml"
    path.write_text(textwrap.dedent(SUITE))
    execute(expand(load_suite(str(path)), {"output.dir": str(tmp_path / "results")}), progress=False)
    repo = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "benchmark", "plot", f"suite={path}",
                             f"output.dir={tmp_path / 'results'}"], capture_output=True, text=True, cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=str(repo)), timeout=300)
    assert result.returncode == 0, result.stderr
    names = {Path(line).name for line in result.stdout.split()}
    assert {"ma_ratio_curves.png", "ma_gamma_fits.png", "ma_bond_heatmap.png"} <= names
