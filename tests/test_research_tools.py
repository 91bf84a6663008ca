"""What researchers do with finished sweeps: tidy tables for pandas (export), where= filters and
model selection by validation (leaderboard select=)."""
import shutil
import textwrap

import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.filters import parse_where, select
from benchmark.leaderboard import aggregate, render, select_by_validation
from benchmark.results import ResultStore
from dgl_ma.errors import ConfigError
from record_cases import record

SWEEP = """
description: a quick CSBM sweep over depth and learning rate, two seeds
config:
  model: {name: gat, hidden: 4, heads: 2}
  data: {name: csbm, num_nodes: 60}
  train: {epochs: 3, patience: 0}
  seeds: [0, 1]
grid:
  model.layers: [1, 2]
  train.lr: [0.01, 0.005]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    (root / "sweep.yaml").write_text(textwrap.dedent(SWEEP))
    assert main(["run", f"suite={root / 'sweep.yaml'}", f"output.dir={root / 'results'}", "--no-progress"]) == 0
    return root


@pytest.fixture
def sweep(swept, tmp_path):
    shutil.copytree(swept, tmp_path, dirs_exist_ok=True)
    return tmp_path / "sweep.yaml", tmp_path / "results"


# ---- export ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_one_row_per_run_and_one_per_epoch(capsys, sweep, fmt):
    suite, results = sweep
    assert main(["export", f"suite={suite}", f"output.dir={results}", f"format={fmt}"]) == 0
    out = capsys.readouterr().out.split()
    folder = results / "sweep" / "export"
    assert out == [str(folder / f"runs.{fmt}"), str(folder / f"epochs.{fmt}")]
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    runs, epochs = read(folder / f"runs.{fmt}"), read(folder / f"epochs.{fmt}")
    records = {r["run_id"]: r for r in ResultStore(results / "sweep").records()}
    assert len(runs) == 8 and set(runs["run_id"]) == set(records)
    for column in ("seed", "status", "model.layers", "train.lr", "test", "val", "params", "s_per_epoch", "metric"):
        assert column in runs.columns
    assert "data.root" not in runs.columns and "output.dir" not in runs.columns
    row = runs.set_index("run_id").loc[next(iter(records))]
    rec = records[row.name]
    assert row["test"] == pytest.approx(rec["test"]["accuracy"]) and row["params"] == rec["params"]
    assert row["model.layers"] == rec["config"]["model"]["layers"] and row["seed"] == rec["seed"]
    assert row["s_per_epoch"] == pytest.approx(rec["seconds_per_epoch"])
    assert len(epochs) == sum(len(r["history"]) for r in records.values())   # 4 per run: init + 3 epochs
    assert {"run_id", "epoch", "train_loss", "val_accuracy", "test_loss"} <= set(epochs.columns)
    assert epochs.loc[epochs["epoch"] == 0, "train_loss"].isna().all()        # null in the record: missing


def test_export_where_and_to(capsys, sweep, tmp_path):
    suite, results = sweep
    target = tmp_path / "tables"
    assert main(["export", f"suite={suite}", f"output.dir={results}", "where=model.layers=2", f"to={target}"]) == 0
    runs = pd.read_csv(target / "runs.csv")
    assert len(runs) == 4 and set(runs["model.layers"]) == {2}


def test_export_of_nothing_is_a_user_error(capsys, sweep):
    suite, results = sweep
    assert main(["export", f"suite={suite}", f"output.dir={results}", "where=model.layers=7"]) == 2
    assert "No result records matching where model.layers=7" in capsys.readouterr().err


# ---- where= ------------------------------------------------------------------------------------

def test_parse_where_types_values_by_the_schema_and_checks_keys():
    assert parse_where(["train.lr=5e-3", "model.layers=[2,4]"]) == {"train.lr": [0.005], "model.layers": [2, 4]}
    with pytest.raises(ConfigError, match="Did you mean 'model.layers'"):
        parse_where(["model.layerz=2"])
    with pytest.raises(ConfigError, match="expects int"):
        parse_where(["model.layers=deep"])
    with pytest.raises(ConfigError, match="names model.layers twice"):
        parse_where(["model.layers=2", "model.layers=4"])
    with pytest.raises(ConfigError, match="group of keys"):
        parse_where(["model=gat"])


def test_select_matches_every_key_and_fills_defaults_for_old_records():
    records = [record("a", model={"layers": 2}), record("b", model={"layers": 4}),
               record("c", model={"layers": 4, "name": "gcn"})]
    del records[0]["config"]["model"]["name"]  # written before model.name existed: it was the default gat
    assert [r["run_id"] for r in select(records, parse_where(["model.name=gat"]))] == ["a", "b"]
    assert [r["run_id"] for r in select(records, parse_where(["model.name=gat", "model.layers=4"]))] == ["b"]
    assert [r["run_id"] for r in select(records, parse_where(["model.layers=[2,4]"]))] == ["a", "b", "c"]
    assert select(records, {}) == records


def test_where_filters_leaderboard_and_plot(capsys, sweep):
    suite, results = sweep
    assert main(["leaderboard", f"suite={suite}", f"output.dir={results}", "where=train.lr=0.01", "format=csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and "train.lr" not in lines[0]          # two depths at lr 0.01: lr no longer varies
    assert main(["plot", f"suite={suite}", f"output.dir={results}", "where=model.layers=1"]) == 2
    assert "matching where model.layers=1" in capsys.readouterr().err  # one depth: nothing to plot


# ---- select= (model selection by validation) ---------------------------------------------------

def _lr_records():
    """Two depths × two learning rates × two seeds; at depth 2 the lr with the better val has the
    worse test (selection must follow val, not test)."""
    table = {(2, 0.01): (0.70, 0.90), (2, 0.001): (0.80, 0.60),   # (val, test) means
             (4, 0.01): (0.50, 0.50), (4, 0.001): (0.40, 0.55)}
    out = []
    for (layers, lr), (val, test) in table.items():
        for seed, delta in ((0, -0.02), (1, 0.02)):
            out.append(record(f"{layers}-{lr}-{seed}", config_id=f"{layers}-{lr}", seed=seed, test=test + delta,
                              val=val + delta, model={"layers": layers}, train={"lr": lr}))
    return out


def test_select_by_validation_picks_the_best_val_and_reports_its_test():
    chosen = select_by_validation(aggregate(_lr_records(), ["test", "val"]), ["train.lr"])
    by_depth = {row.keys["model.layers"]: row for row in chosen}
    assert by_depth[2].keys["train.lr"] == 0.001 and by_depth[2].stats["test"].mean == pytest.approx(0.60)
    assert by_depth[4].keys["train.lr"] == 0.01 and by_depth[4].stats["test"].mean == pytest.approx(0.50)
    assert all(row.candidates == 2 for row in chosen)


def test_select_by_validation_follows_a_lower_is_better_metric():
    records = _lr_records()
    for r in records:
        r["metric"] = {"name": "accuracy", "higher_is_better": False}
    chosen = {row.keys["model.layers"]: row for row in select_by_validation(aggregate(records, ["test", "val"]),
                                                                             ["train.lr"])}
    assert chosen[2].keys["train.lr"] == 0.01 and chosen[4].keys["train.lr"] == 0.001


def test_leaderboard_select_renders_the_chosen_configurations(capsys, sweep):
    text = render(_lr_records(), ["test", "val"], select=["train.lr"])
    assert "train.lr chosen by the best mean val accuracy" in text and "chosen from" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "layers" not in line]
    assert len(rows) == 2
    suite, results = sweep
    assert main(["leaderboard", f"suite={suite}", f"output.dir={results}", "select=train.lr", "format=csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].endswith(",chosen_from") and all(line.endswith(",2") for line in lines[1:])
    assert main(["leaderboard", f"suite={suite}", f"output.dir={results}", "select=train.lrr"]) == 2
    assert "Did you mean 'train.lr'" in capsys.readouterr().err


def test_where_filters_compare(capsys, tmp_path):
    """compare reads its runs through the same where= filter: here only depth 2 of a depth study."""
    from test_compare import depth_study, rows_of, write

    out = tmp_path / "results"
    write(out, depth_study())
    assert main(["compare", "suite=toy", f"output.dir={out}", "a=model.norm=lipschitz", "b=model.norm=none",
                 "by=model.layers", "where=model.layers=2", "name=depth2"]) == 0
    rows = rows_of(out, "depth2")
    assert [row["model.layers"] for row in rows] == ["2"] and rows[0]["pairs"] == "4"


def test_min_lr_check_pairs_the_stopped_runs_with_their_full_length_twins(tmp_path):
    """tools/min_lr_check.py: the same run stopped at lr < 1e-8 and trained for every epoch."""
    import sys
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "tools"))
    import min_lr_check

    def write(folder, run_id, min_lr, epochs, final, test, dropout=0.6):
        ResultStore(tmp_path / folder / "deep_gat").write(record(
            run_id, test=test, model={"norm": "lipschitz", "layers": 8, "hidden": 8, "dropout": dropout},
            data={"name": "cora", "missing_rate": 100}, train={"min_lr": min_lr}, epochs_run=epochs,
            final={"test": {"accuracy": final}}))

    write("study", "a", 1e-8, 70, 0.20, 0.30)
    write("study", "b", 1e-8, 70, 0.50, 0.50, dropout=0.0)      # an ablation run: not part of the check
    write("check", "c", 0.0, 2500, 0.25, 0.30)
    text = min_lr_check.main(tmp_path / "study", tmp_path / "check")
    line = next(row for row in text.splitlines() if "| cora" in row)
    assert "70" in line and "2500" in line and "0.0500" in line
    assert "largest |Δ final_test| 0.0500, largest |Δ test| 0.0000 over 1 runs" in text
