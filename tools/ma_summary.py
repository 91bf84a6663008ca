"""The pooled numbers quoted in the README's "What our numbers say" (massive-activation study):
per dataset and variant (plain, EBT gnn_ma, EBT sink, use_bias alone), over the three models
and their seeds — mean largest ratio of the trained model and at initialisation, mean growth
(trained ÷ initial, per run), runs with an element above 1000, largest ΔKS, mean attack GAIN.

    python tools/ma_summary.py [RESULTS_DIR]      # default: studies
"""
import sys
from pathlib import Path

import pandas as pd

from benchmark.leaderboard import METRIC_COLUMNS
from benchmark.results import ResultStore

SUITES = {"ma_zinc": "zinc", "ma_tox21": "tox21", "ma_tu_proteins": "proteins"}
COLUMNS = ["ma_max_ratio", "ma_base_max_ratio", "ma_fraction", "ma_delta_ks", "gain@0.01", "gain@0.1", "test"]


def variant(config) -> str:
    model = config["model"]
    return "use_bias" if model.get("use_bias") else (model.get("ebt") or "none").replace("none", "plain")


def table(root: Path) -> pd.DataFrame:
    rows = []
    for suite, dataset in SUITES.items():
        for record in ResultStore(root / suite).records():
            if record.get("status") != "ok":
                continue
            row = {"dataset": dataset, "variant": variant(record["config"]), "model": record["config"]["model"]["name"],
                   "seed": record["seed"]}
            row.update({c: METRIC_COLUMNS[c][0](record) for c in COLUMNS + ["epochs"]})
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame["growth"] = frame["ma_max_ratio"] / frame["ma_base_max_ratio"]
    frame["above_1000"] = frame["ma_max_ratio"] > 1000
    return frame


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "studies")
    frame = table(root)
    print(f"{len(frame)} finished runs; epochs trained per dataset:")
    print(frame.groupby("dataset")["epochs"].agg(["min", "max"]).to_string())
    summary = frame.groupby(["dataset", "variant"]).agg(
        runs=("seed", "size"), max_ratio=("ma_max_ratio", "mean"), base_ratio=("ma_base_max_ratio", "mean"),
        growth=("growth", "mean"), above_1000=("above_1000", "sum"), delta_ks_max=("ma_delta_ks", "max"),
        gain_01=("gain@0.1", "mean"))
    print(summary.round(3).to_string())
    print("\nper model (plain):")
    print(frame[frame.variant == "plain"].groupby(["dataset", "model"])[["ma_max_ratio", "ma_base_max_ratio"]]
          .mean().round(1).to_string())


if __name__ == "__main__":
    main()
