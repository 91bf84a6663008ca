"""Aggregation over seeds and leaderboard rendering, against hand-computed values."""
import csv
import io
import math

import pytest

from benchmark.leaderboard import Stat, aggregate, render
from dgl_ma.errors import ConfigError


def record(config_id, seed, test, val, layers, dataset="csbm", status="ok", higher=True, name="accuracy"):
    return {
        "run_id": f"{config_id}-{seed}", "config_id": config_id, "seed": seed, "status": status,
        "config": {"model": {"name": "gat", "layers": layers}, "data": {"name": dataset, "root": None},
                   "seeds": [0, 1, 2], "output": {"dir": "x"}},
        "metric": {"name": name, "higher_is_better": higher},
        "test": {name: test, "loss": 1.0}, "val": {name: val, "loss": 1.0},
        "best_epoch": 3, "epochs_run": 5, "params": 12345, "seconds_per_epoch": 0.5,
    }


RECORDS = [record("A", 0, 0.70, 0.71, 2), record("A", 1, 0.80, 0.79, 2), record("A", 2, 0.90, 0.88, 2),
           record("B", 0, 0.60, 0.60, 4), record("B", 1, 0.64, 0.62, 4),
           record("B", 2, float("nan"), float("nan"), 4, status="diverged")]


def test_mean_and_sample_std_by_hand():
    rows = {row.config_id: row for row in aggregate(RECORDS, ["test", "val"])}
    a = rows["A"].stats["test"]
    assert a.n == 3 and a.mean == pytest.approx(0.8)
    assert a.std == pytest.approx(0.1)             # sqrt(((-.1)^2 + 0 + .1^2) / (3 - 1))
    b = rows["B"].stats["test"]
    assert b.n == 2 and b.mean == pytest.approx(0.62)
    assert b.std == pytest.approx(math.sqrt(2 * 0.02**2))  # ddof=1 with two values
    assert rows["B"].diverged == 1 and rows["B"].seeds == 2


def test_single_value_has_no_std():
    assert math.isnan(Stat.of([0.5]).std) and Stat.of([0.5]).text() == "0.5000 (n=1)"
    assert Stat.of([]).text() == "—"


def test_github_table_sorted_best_first_and_marked():
    text = render(RECORDS, ["test", "val"], "github")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert "layers" in lines[0] and "test accuracy" in lines[0] and "diverged" in lines[0]
    assert lines[2].startswith("| 2 ") and "**0.8000 ± 0.1000**" in lines[2]
    assert lines[3].startswith("| 4 ") and "**" not in lines[3]
    assert "ddof=1" in text and "### csbm — accuracy, higher is better" in text


def test_lower_is_better_metric_sorts_ascending():
    records = [record("A", s, 0.5 + s / 10, 0.5, 2, "zinc", higher=False, name="mae") for s in range(2)]
    records += [record("B", s, 0.3 + s / 10, 0.3, 4, "zinc", higher=False, name="mae") for s in range(2)]
    lines = [line for line in render(records, ["test"], "github").splitlines() if line.startswith("|")]
    assert lines[2].startswith("| 4 ") and "**0.3500" in lines[2]
    assert "lower is better" in render(records, ["test"], "github")


def test_one_table_per_dataset():
    records = RECORDS + [record("C", 0, 0.5, 0.5, 2, dataset="minigc"), record("C", 1, 0.7, 0.6, 2, dataset="minigc")]
    text = render(records, ["test"], "github")
    assert text.index("### csbm") < text.index("### minigc")


def test_latex_and_csv():
    latex = render(RECORDS, ["test", "val"], "latex")
    assert r"\toprule" in latex and r"\textbf{0.8000 $\pm$ 0.1000}" in latex
    rows = list(csv.DictReader(io.StringIO(render(RECORDS, ["test", "val"], "csv"))))
    assert [r["layers" if "layers" in r else "model.layers"] for r in rows] == ["2", "4"]
    assert float(rows[0]["test_mean"]) == pytest.approx(0.8) and float(rows[0]["test_std"]) == pytest.approx(0.1)
    assert rows[0]["best"] == "1" and rows[1]["best"] == "0" and rows[1]["diverged"] == "1"


def test_unknown_format():
    with pytest.raises(ConfigError, match="Unknown leaderboard format"):
        render(RECORDS, ["test"], "xml")


def test_pivot_puts_depths_in_columns_and_marks_the_best_per_column():
    records = [record("A", s, v, v, 2) for s, v in enumerate([0.70, 0.80, 0.90])]
    records += [record("B", s, v, v, 4) for s, v in enumerate([0.60, 0.64])]
    for r in records[:3]:
        r["config"]["model"]["norm"] = "lipschitz"
    for r in records[3:]:
        r["config"]["model"]["norm"] = "none"
    records += [dict(record("C", s, v, v, 2), config={**record("C", 0, 0, 0, 2)["config"],
                                                       "model": {"name": "gat", "layers": 2, "norm": "none"}})
                for s, v in enumerate([0.5, 0.7])]
    text = render(records, ["test"], "github", pivot="model.layers")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert "layers=2" in lines[0] and "layers=4" in lines[0] and "norm" in lines[0]
    lipschitz = next(line for line in lines if "lipschitz" in line)
    none = next(line for line in lines if "| none" in line)
    assert "**0.8000 ± 0.1000**" in lipschitz                    # best at depth 2
    assert "0.6000 ± 0.1414" in none and "**0.6200 ± 0.0283**" in none
    with pytest.raises(ConfigError, match="pivot"):
        render(records, ["test"], "csv", pivot="model.layers")


def test_aggregate_over_folds_counts_them_like_seeds():
    records = []
    for fold, value in enumerate([0.6, 0.7, 0.8]):
        r = record(f"F{fold}", 0, value, value, 2)
        r["config"]["data"]["fold"] = fold
        records.append(r)
    assert len(aggregate(records, ["test"])) == 3                      # one row per fold by default
    rows = aggregate(records, ["test"], over=["data.fold"])
    assert len(rows) == 1 and rows[0].stats["test"].n == 3
    assert rows[0].stats["test"].mean == pytest.approx(0.7) and rows[0].stats["test"].std == pytest.approx(0.1)


def test_init_diagnostics_columns():
    records = [record("A", s, 0.5, 0.5, 2) for s in range(2)]
    for s, r in enumerate(records):
        r["diagnostics"] = [{"epoch": 0, "layers": [{"weight_grad": 1.0 + s, "attention_grad": None, "max_score": 0.1},
                                                    {"weight_grad": 3.0 + s, "attention_grad": None, "max_score": 0.2}]}]
    row = aggregate(records, ["init_grad", "init_score"])[0]
    assert row.stats["init_grad"].mean == pytest.approx(3.5) and row.stats["init_score"].mean == pytest.approx(0.2)
    assert Stat.of([2e-5, 4e-5]).text() == "3.00e-05 ± 1.4e-05"


def test_records_from_before_an_option_existed_match_newer_ones():
    old = [record("A", s, 0.5 + s / 10, 0.5, 2) for s in range(2)]
    new = [record("A", s, 0.5 + s / 10, 0.5, 2) for s in range(2, 4)]
    for r in new:  # newer records carry options the older ones lack, at their default values
        r["config"]["analysis"] = {"massive": False, "sigmas": [0.01, 0.0316, 0.1]}
    rows = aggregate(old + new, ["test"])
    assert len(rows) == 1 and rows[0].stats["test"].n == 4
    text = render(old + new, ["test"], pivot="model.layers")
    assert "analysis" not in text and "layers=2" in text


def test_common_edge_excess_against_the_bond_base_rates():
    # two layers; edge types 1 (most frequent), 2, 3 (rare) and -1 (non-edges, left out of both shares)
    rows = [{"layer": "l0", "massive_by_edge_type": {"1": 3, "3": 1, "-1": 5}, "edges_by_edge_type": {"1": 60, "2": 30, "3": 10, "-1": 100}},
            {"layer": "l1", "massive_by_edge_type": {"3": 4}, "edges_by_edge_type": {"1": 60, "2": 30, "3": 10, "-1": 100}}]
    r = record("A", 0, 0.5, 0.5, 2)
    r["massive"] = {"final": rows}
    # massive real edges 8, of which 3 on the two commonest types (1, 2): 3/8; base rate 180/200
    assert aggregate([r], ["ma_common_edge_excess"])[0].stats["ma_common_edge_excess"].mean == pytest.approx(3 / 8 - 0.9)
    r["massive"] = {"final": [{**row, "massive_by_edge_type": {"-1": 2}} for row in rows]}
    assert aggregate([r], ["ma_common_edge_excess"])[0].stats["ma_common_edge_excess"].n == 0   # no massive real edge
    r["massive"] = {"final": [{"layer": "l0", "massive_by_edge_type": {"1": 3}}]}              # a record without base rates
    assert aggregate([r], ["ma_common_edge_excess"])[0].stats["ma_common_edge_excess"].n == 0


def test_pivot_moves_a_key_set_per_depth_into_the_column_heading():
    """deep_gat sets the epochs by depth: one row per method, not one per (method, epochs)."""
    records = []
    for cid, norm, layers, epochs, value in [("A", "none", 2, 1000, 0.7), ("B", "none", 8, 2500, 0.5),
                                             ("C", "lipschitz", 2, 1000, 0.6), ("D", "lipschitz", 8, 2500, 0.4)]:
        r = record(cid, 0, value, value, layers)
        r["config"]["model"]["norm"] = norm
        r["config"]["train"] = {"epochs": epochs}
        records.append(r)
    lines = [line for line in render(records, ["test"], "github", pivot="model.layers").splitlines()
             if line.startswith("|")]
    assert "layers=2 · train.epochs=1000" in lines[0] and "layers=8 · train.epochs=2500" in lines[0]
    body = lines[2:]
    assert len(body) == 2 and all(line.count("(n=1)") == 2 for line in body)
    records[3]["config"]["train"] = {"epochs": 100}          # now epochs also varies at one depth: a row key again
    lines = [line for line in render(records, ["test"], "github", pivot="model.layers").splitlines()
             if line.startswith("|")]
    assert "epochs" in lines[0].split("|")[2] and len(lines[2:]) == 4


def test_max_train_loss_is_the_largest_finite_training_loss():
    r = record("A", 0, 0.5, 0.5, 2)
    r["history"] = [{"epoch": 0, "train_loss": float("nan")}, {"epoch": 1, "train_loss": 3.5},
                    {"epoch": 2, "train_loss": 1e9}, {"epoch": 3, "train_loss": float("inf")}, {"epoch": 4}]
    assert aggregate([r], ["max_train_loss"])[0].stats["max_train_loss"].mean == 1e9
    r["history"] = [{"epoch": 0, "train_loss": float("nan")}]
    assert aggregate([r], ["max_train_loss"])[0].stats["max_train_loss"].n == 0
