"""A synthetic but realistic results folder of a whole suite, made by copying and perturbing real
records: to measure ``python -m benchmark report`` on a large sweep without running it.

    python -m benchmarks.synthetic_results SOURCE OUT [suite=deep_gat]   # or suite=deep_gat_short

SOURCE is a folder of real records of the same models and datasets (e.g. the results of
``python -m benchmark run suite=deep_gat_quick seeds=[0] model.layers=[2,4] train.epochs=3``,
which covers cora, cora at 100 % missing features and ring_transfer); a dataset absent from
SOURCE (citeseer) borrows the records of another one. OUT/<suite>/ receives one record per run
of the suite's full grid (deep_gat: 500), each with the run's real id, config and seed, a copy
of a template record of the same model and normalisation whose scores are perturbed, a
per-epoch history of the suite's epoch budget (early-stopped at a random epoch, curves that
end at the record's scores) and diagnostics every ``train.diagnostics_every`` epochs with one
entry per layer. About 3 % of the deep runs are marked diverged and 1 % failed, as a long sweep
has. The numbers mean nothing; the shape, size and count of the records are those of the sweep.
"""
import copy
import math
import random
import sys
from pathlib import Path
from typing import Any, Dict, List

from benchmark.results import ResultStore
from benchmark.suites import load_suite
from benchmark.sweep import expand, stable_hash


def _templates(source: Path) -> Dict[tuple, List[Dict[str, Any]]]:
    by_model: Dict[tuple, List[Dict[str, Any]]] = {}
    for record in ResultStore(source).records():
        if record.get("status") == "ok":
            model = record["config"]["model"]
            by_model.setdefault((model["name"], model.get("norm")), []).append(record)
    return by_model


def _history(rng: random.Random, epochs: int, metric: str, record: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Loss falling and the metric rising towards the record's final scores, with noise."""
    end = {split: record[split][metric] for split in ("val", "test")}
    loss = {split: record[split]["loss"] for split in ("val", "test")}
    rate = rng.uniform(0.03, 0.15)
    history = []
    for epoch in range(epochs + 1):
        progress = 1 - math.exp(-rate * epoch)
        entry = {"epoch": epoch, "lr": record["config"]["train"]["lr"], "seconds": 0.0 if epoch == 0 else
                 record.get("seconds_per_epoch", 0.05) * rng.uniform(0.9, 1.1),
                 "train_loss": math.nan if epoch == 0 else 2.0 - (2.0 - 0.6 * loss["val"]) * progress + rng.gauss(0, 0.02)}
        for split in ("val", "test"):
            entry[f"{split}_loss"] = 2.0 - (2.0 - loss[split]) * progress + rng.gauss(0, 0.02)
            entry[f"{split}_{metric}"] = min(1.0, max(0.0, 0.15 + (end[split] - 0.15) * progress + rng.gauss(0, 0.01)))
        history.append(entry)
    return history


def synthesize(source: Path, out: Path, suite_name: str = "deep_gat", seed: int = 0) -> int:
    """Write the synthetic records of ``suite_name`` into ``out/<suite>``; return how many."""
    rng = random.Random(seed)
    templates = _templates(source)
    plan = expand(load_suite(suite_name), {"output.dir": str(out)})
    store = ResultStore(plan.output_dir)
    for run in plan.runs:
        model = run.resolved["model"]
        pool = templates.get((model["name"], model.get("norm"))) or next(iter(templates.values()))
        same_data = [t for t in pool if t["config"]["data"]["name"] == run.resolved["data"]["name"]]
        template = rng.choice(same_data or pool)
        record = copy.deepcopy(template)
        depth, train = run.resolved["model"]["layers"], run.resolved["train"]
        record.update(run_id=run.run_id, config_id=run.config_id, seed=run.seed, point=run.point,
                      config=run.resolved, suite=plan.suite.name, dataset=run.resolved["data"]["name"])
        metric = record["metric"]["name"]
        for split in ("val", "test"):
            record[split][metric] = min(1.0, max(0.0, record[split][metric] + rng.gauss(0, 0.03) - 0.004 * depth))
        epochs = rng.randint(max(train["patience"], 10), train["epochs"]) if train["patience"] else train["epochs"]
        record["history"] = _history(rng, epochs, metric, record)
        record.update(epochs_run=epochs, best_epoch=max(0, epochs - train["patience"]),
                      stop_reason="early_stopping" if epochs < train["epochs"] else "max_epochs",
                      seconds_per_epoch=template["seconds_per_epoch"] * depth / template["config"]["model"]["layers"])
        every = train["diagnostics_every"] or 0
        layer = template["diagnostics"][0]["layers"][0] if template.get("diagnostics") else None
        record["diagnostics"] = [{"epoch": e, "layers": [{k: None if v is None else v * 0.7 ** i * rng.uniform(0.5, 2) for k, v in layer.items()}
                                                         for i in range(depth)]}
                                 for e in range(0, epochs + 1, every)] if every and layer else []
        draw = rng.random()
        if depth >= 16 and draw < 0.03:
            record.update(status="diverged", diverged_epoch=epochs, message=f"training loss or predictions became NaN/Inf at epoch {epochs}")
        elif draw > 0.99:
            for key in ("val", "test", "history", "diagnostics", "best_epoch"):
                record.pop(key, None)
            record.update(status="failed", message="RuntimeError: synthetic failure",
                          traceback="Traceback (most recent call last):\n  ...\nRuntimeError: synthetic failure")
        record["synthetic_from"] = template["run_id"] + "/" + stable_hash(run.run_id, 6)
        store.write(record)
    return len(plan.runs)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    name = next((a.split("=", 1)[1] for a in sys.argv[3:] if a.startswith("suite=")), "deep_gat")
    print(synthesize(Path(sys.argv[1]), Path(sys.argv[2]), name), "records written to", Path(sys.argv[2]) / name)
