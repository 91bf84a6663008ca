"""Leaderboards: aggregate run records over seeds and render them with tabulate.

One table per dataset (datasets differ in metric); one row per configuration (records sharing a
``config_id``); columns are the configuration keys that differ between rows, the suite's
metrics as mean ± sample standard deviation (ddof=1) over the finished seeds, the number of
seeds, parameters and training seconds per epoch. Rows are sorted by the first metric in its
direction and the best row is marked (columns without a direction, such as ``best_epoch``, are
listed in ascending order and nothing is marked). Always computed from the raw records.

``select=KEY`` (or a list of keys) reports model selection by validation: for every
configuration of the other keys, the value of KEY with the best mean validation score is
chosen and its test score reported (:func:`select_by_validation`).
"""
import csv
import html
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from tabulate import tabulate

from benchmark.config import EXECUTION_GROUPS, LOCATION_KEYS, flat_defaults, flatten
from dgl_ma.errors import ConfigError

# column name -> (value of a record, direction: "metric" follows the dataset's metric, "min"/"max" fixed,
# None: no better direction)
METRIC_COLUMNS: Dict[str, Any] = {
    "test": (lambda r: r["test"][r["metric"]["name"]], "metric"),
    "val": (lambda r: r["val"][r["metric"]["name"]], "metric"),
    "test_loss": (lambda r: r["test"]["loss"], "min"),
    "val_loss": (lambda r: r["val"]["loss"], "min"),
    "best_epoch": (lambda r: r["best_epoch"], None),
    # the test metric of the last finite epoch (the LipschitzNorm paper's protocol)
    "final_test": (lambda r: (r.get("final") or {}).get("test", {}).get(r["metric"]["name"]), "metric"),
    "epochs": (lambda r: r["epochs_run"], None),
    # the largest training loss of any epoch (in training mode: dropout on), a blow-up of a deep stack
    "max_train_loss": (lambda r: _largest_train_loss(r), "min"),
    # from train.diagnostics_every: the largest per-layer weight-gradient norm / |pre-softmax score| at init
    "init_grad": (lambda r: _at_init(r, "weight_grad"), "min"),
    "init_score": (lambda r: _at_init(r, "max_score"), None),
    # from analysis.massive (final model vs its own initialisation) and analysis.attack
    "ma_max_ratio": (lambda r: _massive(r, "max_ratio", max), None),
    "ma_base_max_ratio": (lambda r: _massive(r, "max_ratio", max, state="base"), None),
    "ma_fraction": (lambda r: _massive_fraction(r), None),
    "ma_delta_ks": (lambda r: _massive(r, "delta_ks", max), None),
    "ma_common_edge_excess": (lambda r: _common_edge_excess(r), None),
    "gain@0.01": (lambda r: _gain(r, 0.01), None),
    "gain@0.0316": (lambda r: _gain(r, 0.0316), None),
    "gain@0.1": (lambda r: _gain(r, 0.1), None),
}


def _massive(record: Dict[str, Any], key: str, reduce, state: str = "final") -> Optional[float]:
    rows = (record.get("massive") or {}).get(state) or []
    values = [row[key] for row in rows if row.get(key) is not None and not math.isnan(row[key])]
    return reduce(values) if values else None


def _massive_fraction(record: Dict[str, Any]) -> Optional[float]:
    rows = (record.get("massive") or {}).get("final") or []
    elements = sum(row["elements"] for row in rows)
    return sum(row["massive"] for row in rows) / elements if elements else None


def _common_edge_excess(record: Dict[str, Any], common: int = 2) -> Optional[float]:
    """Share of the trained model's massive edges whose type is one of the ``common`` most frequent
    real edge types, minus those types' share of all captured real edges (pooled over layers):
    > 0 when massive activations gather on common bond types beyond their base rate. ``None``
    without a massive edge (the share is undefined) or for records older than the base rates."""
    massive, edges = {}, {}
    for row in (record.get("massive") or {}).get("final") or []:
        if "edges_by_edge_type" not in row:
            return None
        for counts, total in ((row["massive_by_edge_type"], massive), (row["edges_by_edge_type"], edges)):
            for kind, count in counts.items():
                if int(kind) >= 0:       # -1: a non-edge of a full-graph model, or an unknown type
                    total[int(kind)] = total.get(int(kind), 0) + int(count)
    if not sum(massive.values()):
        return None
    top = sorted(edges, key=lambda kind: -edges[kind])[:common]
    share = lambda counts: sum(counts.get(kind, 0) for kind in top) / sum(counts.values())  # noqa: E731
    return share(massive) - share(edges)


def _largest_train_loss(record: Dict[str, Any]) -> Optional[float]:
    losses = [e["train_loss"] for e in record.get("history") or []
              if isinstance(e.get("train_loss"), (int, float)) and math.isfinite(e["train_loss"])]
    return max(losses) if losses else None


def _gain(record: Dict[str, Any], sigma: float) -> Optional[float]:
    return next((a["gain"] for a in record.get("attack") or [] if math.isclose(a["sigma"], sigma)), None)


def _at_init(record: Dict[str, Any], key: str) -> Optional[float]:
    diagnostics = record.get("diagnostics") or []
    values = [layer[key] for layer in diagnostics[0]["layers"] if layer[key] is not None] if diagnostics else []
    return max(values) if values else None
FORMATS = {"github": "github", "latex": "latex_booktabs", "csv": "csv", "html": "html"}  # html: the report site
DEFAULTS = flat_defaults()
FOOTER = (
    "mean ± sample std (ddof=1) over the finished runs (n: seeds, and folds where the suite "
    "aggregates over them); test and val scores at the "
    "best-validation epoch; s/epoch = training seconds per epoch; best row in bold."
)


# One line per column for `python -m benchmark list`.
METRIC_HELP = {
    "test": "test score (the dataset's metric) at the best-validation epoch",
    "val": "validation score at the best-validation epoch",
    "test_loss": "test loss at the best-validation epoch",
    "val_loss": "validation loss at the best-validation epoch",
    "best_epoch": "epoch of the best validation score (0 = initialisation)",
    "final_test": "test score at the last finite epoch (the LipschitzNorm paper's protocol)",
    "epochs": "epochs trained (early stopping, max_seconds)",
    "max_train_loss": "largest training loss of any epoch (training mode, dropout on)",
    "init_grad": "largest per-layer weight-gradient norm at init (train.diagnostics_every)",
    "init_score": "largest |pre-softmax score| at init (train.diagnostics_every)",
    "ma_max_ratio": "largest activation / median ratio of the trained model (analysis.massive)",
    "ma_base_max_ratio": "the same at initialisation (analysis.massive)",
    "ma_fraction": "share of activation entries that are massive (analysis.massive)",
    "ma_delta_ks": "largest KS distance trained vs init (analysis.massive)",
    "ma_common_edge_excess": "share of massive edges on the two commonest edge (bond) types minus their share of all "
                             "edges; undefined without a massive edge (analysis.massive)",
    "gain@0.01": "attack loss gain at sigma 0.01 (analysis.attack); also gain@0.0316, gain@0.1",
}


def value_of(record: Dict[str, Any], column: str) -> Optional[float]:
    """The value of leaderboard ``column`` for ``record``; ``None`` when the record lacks it
    (a failed run, a record without diagnostics, a ``null`` written for NaN)."""
    try:
        value = METRIC_COLUMNS[column][0](record)
    except (KeyError, TypeError, IndexError, ValueError):
        return None
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def check_metric_columns(names: Any, source: str) -> List[str]:
    if not isinstance(names, list) or not names or any(n not in METRIC_COLUMNS for n in names):
        raise ConfigError(
            f"{source}: leaderboard.metrics must be a non-empty list drawn from {', '.join(METRIC_COLUMNS)}; got {names!r}."
        )
    return names


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"Unknown leaderboard format {fmt!r}; use one of {', '.join(FORMATS)}.")


@dataclass
class Stat:
    mean: float
    std: float  # nan when n < 2
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "Stat":
        arr = np.asarray([v for v in values if v is not None], dtype=float)
        if arr.size == 0:
            return cls(math.nan, math.nan, 0)
        return cls(float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else math.nan, int(arr.size))

    def text(self, digits: int = 4) -> str:
        if self.n == 0:
            return "—"
        if abs(self.mean) >= 1e4 or 0 < abs(self.mean) < 1e-3:  # gradient norms span many decades
            return f"{self.mean:.2e} ± {self.std:.1e}" if not math.isnan(self.std) else f"{self.mean:.2e} (n=1)"
        if math.isnan(self.std):
            return f"{self.mean:.{digits}f} (n=1)"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


@dataclass
class Row:
    config_id: str
    dataset: str
    model: str
    metric: Dict[str, Any]
    keys: Dict[str, Any]                       # flattened config of the configuration
    stats: Dict[str, Stat] = field(default_factory=dict)
    seeds: int = 0
    diverged: int = 0
    failed: int = 0
    params: Optional[int] = None
    s_per_epoch: Stat = field(default_factory=lambda: Stat(math.nan, math.nan, 0))
    candidates: int = 0                        # select=: how many configurations this row was chosen from


def group_key(record: Dict[str, Any], over: Sequence[str] = ()) -> str:
    """The configuration a record belongs to; keys in ``over`` (e.g. ``data.fold``) are
    aggregated like seeds instead of splitting rows."""
    if not over:
        return record["config_id"]
    flat = {**DEFAULTS, **flatten(record["config"])}
    kept = {k: v for k, v in flat.items() if k not in over and not _is_location(k)}
    return json.dumps(kept, sort_keys=True, default=str)


def aggregate(records: List[Dict[str, Any]], metrics: Sequence[str], over: Sequence[str] = ()) -> List[Row]:
    """Group records by configuration (ignoring the keys in ``over``) and aggregate the finished
    (status ok) runs: seeds, and the values of ``over`` such as cross-validation folds."""
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(group_key(record, over), []).append(record)
    rows = []
    for config_id, group in groups.items():
        first = group[0]
        ok = [r for r in group if r["status"] == "ok"]
        described = next((r for r in group if "metric" in r), first)
        # records written before an option existed lack its key: it had the default value
        keys = {k: v for k, v in {**DEFAULTS, **flatten(first["config"])}.items() if k not in over}
        row = Row(config_id=config_id, dataset=first["config"]["data"]["name"],
                  model=first["config"]["model"]["name"], metric=described.get("metric", {}),
                  keys=keys, seeds=len(ok),
                  diverged=sum(r["status"] == "diverged" for r in group),
                  failed=sum(r["status"] == "failed" for r in group),
                  params=described.get("params"))
        row.stats = {m: Stat.of([value_of(r, m) for r in ok]) for m in metrics}
        row.s_per_epoch = Stat.of([r.get("seconds_per_epoch") for r in ok])
        rows.append(row)
    return rows


def higher_is_better(column: str, metric: Dict[str, Any]) -> Optional[bool]:
    """Whether larger values of ``column`` are better, given a record's ``metric`` description
    (``{"name": "mae", "higher_is_better": false}``); None for a column without a direction."""
    direction = METRIC_COLUMNS[column][1]
    if direction == "metric":
        return bool(metric.get("higher_is_better", True))
    return {"max": True, "min": False}.get(direction)


def _higher_is_better(row: Row, column: str) -> Optional[bool]:
    return higher_is_better(column, row.metric)


def _direction(row: Row, column: str) -> str:
    higher = _higher_is_better(row, column)
    return "no better direction" if higher is None else "higher is better" if higher else "lower is better"


def sort_rows(rows: List[Row], column: str) -> List[Row]:
    """Best first by ``column`` (ascending for a column without direction); rows without a value last."""
    if not rows:
        return rows
    higher = _higher_is_better(rows[0], column)
    sign = -1.0 if higher else 1.0

    def key(row: Row):   # ties in a stable order, whatever order the records were read in
        mean = row.stats[column].mean
        return (math.isnan(mean), sign * mean if not math.isnan(mean) else 0.0, repr(sorted(row.keys.items())))

    return sorted(rows, key=key)


def _is_location(key: str) -> bool:
    return key in LOCATION_KEYS or key.startswith(EXECUTION_GROUPS)


def varying_keys(rows: List[Row]) -> List[str]:
    """Configuration keys whose value differs between rows (data.name is the table itself)."""
    keys = sorted({k for row in rows for k in row.keys})
    return [k for k in keys if not _is_location(k) and k != "data.name"
            and len({repr(row.keys.get(k)) for row in rows}) > 1]


def select_by_validation(rows: List[Row], axes: Sequence[str]) -> List[Row]:
    """Model selection by validation: among the rows that differ only in the keys ``axes`` (e.g.
    ``["train.lr"]``), the one with the best mean validation score (in the direction of the
    dataset's metric), for every configuration of the other keys and every dataset. Rows
    without a validation score are no candidates. Each chosen row's ``candidates`` counts its
    group. Needs ``"val"`` among the aggregated metrics."""
    groups: Dict[str, List[Row]] = {}
    for row in rows:
        rest = {k: v for k, v in row.keys.items() if k not in axes and not _is_location(k)}
        groups.setdefault(json.dumps(rest, sort_keys=True, default=str), []).append(row)
    chosen = []
    for group in groups.values():
        ranked = sort_rows([r for r in group if r.stats["val"].n], "val")
        if ranked:
            ranked[0].candidates = len(group)
            chosen.append(ranked[0])
    return chosen


def _seconds(stat: Stat) -> str:
    return "—" if stat.n == 0 else f"{stat.mean:.3f}"


def _params(n: Optional[int]) -> str:
    if n is None:
        return "—"
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e3 else str(n)


def _column_name(key: str) -> str:
    """``model.name`` → ``model``, ``model.layers`` → ``layers``, ``train.lr`` stays."""
    names = {"model.name": "model", "data.name": "dataset"}
    return names.get(key, key.split(".", 1)[-1] if key.startswith(("model.", "data.")) else key)


def _tabulate(body: List[List[Any]], header: List[str], fmt: str) -> str:
    text = tabulate(body, headers=header, tablefmt=FORMATS[fmt], disable_numparse=True)
    if fmt == "latex":
        text = text.replace("±", r"$\pm$").replace("BOLDSTART", r"\textbf{").replace("BOLDEND", "}")
    elif fmt == "html":  # tabulate escaped the cells; the markers hold no character it escapes
        text = text.replace("BOLDSTART", "<strong>").replace("BOLDEND", "</strong>")
        text = text.replace("<table>", '<table class="leaderboard">', 1)
    return text


def _header(keys: List[str], metrics: Sequence[str], metric_name: str) -> List[str]:
    header = [_column_name(k) for k in keys]
    return header + [f"{m} {metric_name}" if METRIC_COLUMNS[m][1] == "metric" else m for m in metrics]


def table(rows: List[Row], metrics: Sequence[str], fmt: str) -> str:
    """Render one dataset's rows as a github or latex table."""
    rows = sort_rows(rows, metrics[0])
    keys = varying_keys(rows)
    header = _header(keys, metrics, rows[0].metric.get("name", "")) + ["n", "params", "s/epoch"]
    problems = any(r.diverged or r.failed for r in rows)
    if problems:
        header += ["diverged", "failed"]
    selected = any(r.candidates for r in rows)
    if selected:
        header += ["chosen from"]
    best = rows[0].stats[metrics[0]].n > 0 and _higher_is_better(rows[0], metrics[0]) is not None
    body = []
    for i, row in enumerate(rows):
        cells = [row.stats[m].text() for m in metrics]
        if best and i == 0:
            cells[0] = _bold(cells[0], fmt)
        line = [row.keys.get(k) for k in keys] + cells
        line += [row.seeds, _params(row.params), _seconds(row.s_per_epoch)]
        body.append(line + ([row.diverged, row.failed] if problems else []) + ([row.candidates] if selected else []))
    return _tabulate(body, header, fmt)


def _number(value: float) -> Optional[float]:
    return None if math.isnan(value) else value


def csv_lines(rows: List[Row], metrics: Sequence[str]) -> List[Dict[str, Any]]:
    """One dict per configuration (mean and std in separate columns; empty where undefined),
    ranked within each dataset; ``best`` marks the first row when the column has a direction."""
    keys = varying_keys(rows)
    by_dataset: Dict[str, List[Row]] = {}
    for row in rows:
        by_dataset.setdefault(row.dataset, []).append(row)
    lines = []
    for dataset in sorted(by_dataset):
        ranked = sort_rows(by_dataset[dataset], metrics[0])
        directed = _higher_is_better(ranked[0], metrics[0]) is not None
        for i, row in enumerate(ranked):
            line = {"dataset": dataset, "metric": row.metric.get("name"), **{k: row.keys.get(k) for k in keys}}
            for m in metrics:
                line.update({f"{m}_mean": _number(row.stats[m].mean), f"{m}_std": _number(row.stats[m].std)})
            line.update(n=row.seeds, params=row.params, s_per_epoch=_number(row.s_per_epoch.mean),
                        diverged=row.diverged, failed=row.failed,
                        best=int(directed and i == 0 and row.stats[metrics[0]].n > 0))
            if row.candidates:
                line["chosen_from"] = row.candidates
            lines.append(line)
    return lines


def to_csv(lines: List[Dict[str, Any]]) -> str:
    """One CSV table from dicts with possibly different keys: the union of the keys as header
    (in first-seen order), empty cells where a line lacks a key."""
    header: Dict[str, None] = {}
    for line in lines:
        header.update(dict.fromkeys(line))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), restval="")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in line.items()} for line in lines)
    return out.getvalue().rstrip("\n")


def csv_table(rows: List[Row], metrics: Sequence[str]) -> str:
    """All rows as CSV, one line per configuration, with mean and std in separate columns."""
    return to_csv(csv_lines(rows, metrics))


def pivot_table(rows: List[Row], metric: str, pivot: str, fmt: str) -> str:
    """One dataset's rows with ``pivot``'s values as columns (e.g. depth) and the other varying
    keys as rows; each cell is ``metric`` mean ± std, the best of each column in bold. A key that
    varies only with the pivot (deep_gat's epochs per depth) goes into the column heading instead
    of splitting the rows."""
    values = sorted({row.keys.get(pivot) for row in rows}, key=lambda v: (str(type(v)), v))
    def along_pivot(key: str) -> bool:
        return all(len({repr(r.keys.get(key)) for r in rows if r.keys.get(pivot) == v}) == 1 for v in values)
    keys, with_pivot = [], []
    for key in varying_keys(rows):
        if key != pivot:
            (with_pivot if along_pivot(key) else keys).append(key)
    cells: Dict[str, Any] = {}  # repr(label) -> (label, {pivot value: row}); labels may hold lists
    for row in rows:
        label = tuple(row.keys.get(k) for k in keys)
        cells.setdefault(repr(label), (label, {}))[1][row.keys.get(pivot)] = row
    best = {}
    directed = _higher_is_better(rows[0], metric) is not None
    for value in values:
        ranked = sort_rows([r for r in rows if r.keys.get(pivot) == value and r.stats[metric].n], metric)
        best[value] = ranked[0].config_id if ranked and directed else None
    body = []
    for label, by_value in sorted(cells.values(), key=lambda item: [str(x) for x in item[0]]):
        line: List[Any] = list(label)
        for value in values:
            row = by_value.get(value)
            text = row.stats[metric].text() if row else ""
            if row and row.diverged:
                text += f" [{row.diverged} div.]"
            line.append(_bold(text, fmt) if row and row.config_id == best[value] else text)
        body.append(line)
    def heading(value: Any) -> str:
        first = next(r for r in rows if r.keys.get(pivot) == value)
        return " · ".join([f"{_column_name(pivot)}={value}"] + [f"{_column_name(k)}={first.keys.get(k)}" for k in with_pivot])
    header = [_column_name(k) for k in keys] + [heading(v) for v in values]
    return _tabulate(body, header, fmt)


def _bold(text: str, fmt: str) -> str:
    return f"**{text}**" if fmt == "github" else f"BOLDSTART{text}BOLDEND"


def _rows(records: List[Dict[str, Any]], metrics: Sequence[str], over: Sequence[str],
          select: Sequence[str]) -> List[Row]:
    if not select:
        return aggregate(records, metrics, over)
    return select_by_validation(aggregate(records, list(dict.fromkeys([*metrics, "val"])), over), select)


def csv_rows(records: List[Dict[str, Any]], metrics: Sequence[str], over: Sequence[str] = (),
             select: Sequence[str] = ()) -> List[Dict[str, Any]]:
    """The CSV lines of a suite's leaderboard (see :func:`csv_lines`)."""
    return csv_lines(_rows(records, metrics, over, select), metrics)


def render(records: List[Dict[str, Any]], metrics: Sequence[str], fmt: str = "github",
           pivot: Optional[str] = None, over: Sequence[str] = (), select: Sequence[str] = ()) -> str:
    """All tables of a suite's records, one per dataset, with the footer. With ``pivot`` (a
    config key such as ``model.layers``) the first metric is shown with that key's values as
    columns. With ``select`` (config keys) only the configuration chosen by validation over
    those keys is shown for each configuration of the others (:func:`select_by_validation`)."""
    check_format(fmt)
    if pivot and select:
        raise ConfigError("pivot= and select= cannot be combined; use one of them.")
    if fmt == "csv":
        if pivot:
            raise ConfigError("pivot= works with format=github, latex or html; CSV already has one line per configuration.")
        return to_csv(csv_rows(records, metrics, over, select))
    rows = _rows(records, metrics, over, select)
    by_dataset: Dict[str, List[Row]] = {}
    for row in rows:
        by_dataset.setdefault(row.dataset, []).append(row)
    parts = []
    for dataset in sorted(by_dataset):
        group = by_dataset[dataset]
        name = group[0].metric.get("name", "?")
        direction = _direction(group[0], metrics[0])
        if METRIC_COLUMNS[metrics[0]][1] == "metric":
            heading = f"{dataset} — {name}, {direction}"
        else:
            heading = f"{dataset} — {name}; sorted by {metrics[0]}, {direction}"
        body = pivot_table(group, metrics[0], pivot, fmt) if pivot else table(group, metrics, fmt)
        if pivot:
            heading += f", {metrics[0]} by {pivot}"
        if select:
            heading += (f"; {', '.join(select)} chosen by the best mean val {name} of each configuration, "
                        f"reported at that choice")
        parts.append(_heading(heading, fmt) + body)
    return "\n\n".join(parts + [_footer(fmt)])


def _heading(text: str, fmt: str) -> str:
    return {"github": f"### {text}\n\n", "latex": f"% {text}\n", "html": f"<h3>{html.escape(text)}</h3>\n"}[fmt]


def _footer(fmt: str) -> str:
    return {"github": FOOTER, "latex": "% " + FOOTER, "html": f'<p class="footnote">{html.escape(FOOTER)}</p>'}[fmt]
