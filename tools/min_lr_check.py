"""The check of the LipschitzNorm study's early stop (README, "the lr < 1e-8 stop"): the same
runs trained once until the learning rate fell below 1e-8 (``train.min_lr=1e-8``, the study) and
once for the reference's full epoch count (``train.min_lr=0``), side by side per dataset, norm,
depth and seed — epochs trained, final-epoch and best-validation test accuracy, and the change.

    python tools/min_lr_check.py [STUDY_DIR] [CHECK_DIR]     # default: studies studies-check
"""
import sys
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from benchmark.leaderboard import value_of
from benchmark.results import ResultStore

KEYS = ["dataset", "norm", "layers", "seed"]


def runs(folder: Path) -> pd.DataFrame:
    rows = []
    for record in ResultStore(folder / "deep_gat").records():
        config = record["config"]
        if record.get("status") != "ok":
            continue
        rows.append({"dataset": config["data"]["name"], "norm": config["model"]["norm"],
                     "layers": config["model"]["layers"], "seed": record["seed"], "epochs": record["epochs_run"],
                     "final_test": value_of(record, "final_test"), "test": value_of(record, "test"),
                     "min_lr": config["train"]["min_lr"], "model": config["model"]["name"],
                     "hidden": config["model"]["hidden"], "missing": config["data"].get("missing_rate"),
                     "dropout": config["model"].get("dropout"), "input_dropout": config["model"].get("input_dropout", 0.0)})
    return pd.DataFrame(rows)


def main(study: Path, check: Path) -> str:
    stopped, full = runs(study), runs(check)
    same = ["model", "hidden", "missing", "dropout", "input_dropout"]   # an ablation run has no twin in the check
    stopped = stopped[stopped.min_lr > 0]
    full = full[full.min_lr == 0]
    both = stopped.merge(full, on=KEYS + same, suffixes=(" stopped", " full"))
    both["Δ final_test"] = both["final_test full"] - both["final_test stopped"]
    both["Δ test"] = both["test full"] - both["test stopped"]
    columns = KEYS + ["epochs stopped", "epochs full", "final_test stopped", "final_test full", "Δ final_test",
                      "test stopped", "test full", "Δ test"]
    table = both.sort_values(KEYS)[columns]
    return (tabulate(table, headers="keys", tablefmt="github", showindex=False, floatfmt=".4f")
            + f"\n\nlargest |Δ final_test| {both['Δ final_test'].abs().max():.4f}, "
              f"largest |Δ test| {both['Δ test'].abs().max():.4f} over {len(both)} runs")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] + [Path("studies"), Path("studies-check")][len(sys.argv) - 1:]
    print(main(*args[:2]))
