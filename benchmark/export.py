"""Tidy tables of run records for pandas: one row per run and one row per epoch, as CSV or Parquet.

``runs``: ``run_id``, ``config_id``, ``suite``, ``seed``, ``status``, ``dataset``, ``model``,
``metric`` (its name) and ``higher_is_better``, the leaderboard's metric columns (``test``,
``val``, ``test_loss``, ``val_loss``, ``best_epoch``, ``epochs`` and, where a record has them,
``init_grad``, ``ma_*``, ``gain@*``), ``params``, ``s_per_epoch``, ``wall_seconds``,
``stop_reason``, ``diverged_epoch``, ``message``, then the flattened configuration (one column
per dotted key such as ``model.layers``; defaults filled in for records written before a key
existed; locations such as ``data.root`` left out; list values as JSON text).

``epochs``: ``run_id``, ``config_id``, ``seed`` and each entry of the record's training
history (``epoch``, ``lr``, ``seconds``, ``train_loss``, ``val_loss``, ``val_<metric>``,
``test_loss``, ``test_<metric>``); join it to ``runs`` on ``run_id``.

Missing values (a failed run, ``null`` in a record) are empty in CSV and null in Parquet.
"""
import json
from pathlib import Path
from typing import Any, Dict, List

import pandas as pd

from benchmark.config import EXECUTION_GROUPS, LOCATION_KEYS, flat_defaults, flatten
from benchmark.leaderboard import METRIC_COLUMNS, value_of
from dgl_ma.errors import UserError

FORMATS = ("csv", "parquet")
ALWAYS = ("test", "val", "test_loss", "val_loss", "best_epoch", "epochs")  # metric columns always present


def _cell(value: Any) -> Any:
    """Lists and mappings as JSON text: one type per column, readable by CSV and Parquet alike."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _config_columns(record: Dict[str, Any]) -> Dict[str, Any]:
    flat = {**flat_defaults(), **flatten(record.get("config") or {})}
    return {k: _cell(v) for k, v in flat.items() if k not in LOCATION_KEYS and not k.startswith(EXECUTION_GROUPS)}


def runs_table(records: List[Dict[str, Any]]) -> pd.DataFrame:
    """One row per run record (see the module docstring for the columns)."""
    present = [c for c in METRIC_COLUMNS if c in ALWAYS or any(value_of(r, c) is not None for r in records)]
    rows = []
    for r in records:
        metric = r.get("metric") or {}
        row = {"run_id": r["run_id"], "config_id": r["config_id"], "suite": r.get("suite"), "seed": r["seed"],
               "status": r["status"], "dataset": r["config"]["data"]["name"], "model": r["config"]["model"]["name"],
               "metric": metric.get("name"), "higher_is_better": metric.get("higher_is_better")}
        row.update({c: value_of(r, c) for c in present})
        row.update({k: r.get(k) for k in ("params", "seconds_per_epoch", "wall_seconds", "stop_reason",
                                          "diverged_epoch", "message")})
        row["s_per_epoch"] = row.pop("seconds_per_epoch")
        row.update(_config_columns(r))
        rows.append(row)
    return pd.DataFrame(rows)


def epochs_table(records: List[Dict[str, Any]]) -> pd.DataFrame:
    """One row per epoch of every record's training history (epoch 0 = initialisation)."""
    rows = [{"run_id": r["run_id"], "config_id": r["config_id"], "seed": r["seed"], **entry}
            for r in records for entry in r.get("history") or []]
    return pd.DataFrame(rows, columns=None if rows else ["run_id", "config_id", "seed", "epoch"])


def write_tables(records: List[Dict[str, Any]], folder: Path, fmt: str) -> List[Path]:
    """Write ``runs.<fmt>`` and ``epochs.<fmt>`` into ``folder`` (created); return their paths."""
    if fmt not in FORMATS:
        raise UserError(f"Unknown export format {fmt!r}; use one of {', '.join(FORMATS)}.")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"Cannot create the export folder {folder} ({err.strerror}); pass to=PATH.") from None
    paths = []
    for name, table in (("runs", runs_table(records)), ("epochs", epochs_table(records))):
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            table.to_csv(path, index=False)
        else:
            try:
                table.to_parquet(path, index=False)
            except ImportError as err:
                raise UserError(f"format=parquet needs pyarrow ({err}); install it with "
                                f"`pip install -c constraints.txt pyarrow`, or use format=csv.") from None
        paths.append(path)
    return paths
