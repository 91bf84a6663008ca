"""What each page shows: the template contexts of the index, a suite's runs table and a run page,
built from records (no aggregation here: the leaderboards come from :mod:`benchmark.leaderboard`)."""
import datetime as dt
import math
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmark.config import flatten
from benchmark.report.collect import STATUSES, SuiteResults

MASSIVE_COLUMNS = ("layer", "max_ratio", "massive", "massive_fraction", "edges_with_massive", "graphs_above",
                   "elements", "nonfinite", "delta_ks")
ATTACK_COLUMNS = ("sigma", "clean_loss", "random_loss", "optimised_loss", "gain")
DIAGNOSTICS = (("weight_grad", "weight-gradient norm"), ("attention_grad", "attention-gradient norm"),
               ("max_score", "max |pre-softmax score|"))
FACTS = ("status", "seed", "dataset", "model", "params", "best_epoch", "epochs_run", "stop_reason", "diverged_epoch",
         "seconds_per_epoch", "wall_seconds", "peak_memory_mb", "peak_memory_kind", "device", "git_commit",
         "started_at", "finished_at", "config_id")


def num(value: Any, digits: int = 4) -> str:
    """A cell: floats with ``digits`` decimals (scientific outside 1e-3..1e4), '—' for missing."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
        return f"{value:.{min(digits, 3)}e}"
    return f"{value:.{digits}f}"


def when(value: Any) -> str:
    """An ISO timestamp or datetime as ``2026-11-30 21:55 UTC``; '—' when absent or unreadable."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, dt.datetime):
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _timestamp(value: Optional[str]) -> str:
    """Seconds since the epoch of an ISO timestamp, for sorting; '' when absent or unreadable."""
    try:
        return f"{dt.datetime.fromisoformat(value).timestamp():.0f}"
    except (TypeError, ValueError):
        return ""


def metric_name(records: List[Dict[str, Any]]) -> str:
    """The metric of the records ('metric' when they use several, e.g. mae and accuracy)."""
    names = {r["metric"]["name"] for r in records if isinstance(r.get("metric"), dict) and "name" in r["metric"]}
    return names.pop() if len(names) == 1 else "metric"


def score(record: Dict[str, Any], split: str) -> Optional[float]:
    """The record's ``split`` score in its own metric, None when absent (failed runs)."""
    metric = (record.get("metric") or {}).get("name")
    value = (record.get(split) or {}).get(metric)
    return value if isinstance(value, (int, float)) else None


def index_context(suites: List[SuiteResults], out_dir: Path, asv: bool, generated: dt.datetime) -> Dict[str, Any]:
    rows = []
    for suite in suites:
        counts = Counter(r["status"] for r in suite.records)
        finished = [r["finished_at"] for r in suite.records if isinstance(r.get("finished_at"), str)]
        last = max(finished) if finished else None
        rows.append(dict(name=suite.name, description=suite.suite.description if suite.suite else "",
                         total=len(suite.records), counts=[counts.get(s, 0) for s in STATUSES],
                         malformed=len(suite.malformed), last=last, last_sort=_timestamp(last),
                         tables=[t.title for t in suite.tables]))
    malformed = [(str(m.path.relative_to(out_dir) if m.path.is_relative_to(out_dir) else m.path), m.reason)
                 for suite in suites for m in suite.malformed]
    return dict(suites=rows, statuses=STATUSES, malformed=malformed, out_dir=str(out_dir), asv=asv,
                generated=generated, total=sum(r["total"] for r in rows))


def run_row(record: Dict[str, Any], stem: str, columns: List[str]) -> Dict[str, Any]:
    """One line of a suite's runs table."""
    flat = flatten(record["config"])
    return dict(stem=stem, run_id=record["run_id"], status=record["status"], seed=record["seed"],
                values_=[flat.get(k) for k in columns], test=score(record, "test"), val=score(record, "val"),
                epochs=record.get("epochs_run"), s_per_epoch=record.get("seconds_per_epoch"),
                message=record.get("message"))


def _diagnostics(record: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Per quantity a matrix layer × diagnostics epoch, for the tables of the run page."""
    entries = [d for d in record.get("diagnostics") or [] if isinstance(d, dict) and d.get("layers")]
    if not entries:
        return []
    depth = max(len(d["layers"]) for d in entries)
    tables = []
    for key, title in DIAGNOSTICS:
        rows = [[i + 1] + [d["layers"][i].get(key) if i < len(d["layers"]) else None for d in entries]
                for i in range(depth)]
        if any(v is not None for row in rows for v in row[1:]):
            tables.append(dict(title=title, epochs=[d.get("epoch") for d in entries], rows=rows))
    return tables


def _massive(record: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Per state (base, best, final) the per-layer rows of the MA report, with the gamma fit."""
    states = []
    for state, layers in (record.get("massive") or {}).items():
        if not isinstance(layers, list) or not layers:
            continue
        columns = [c for c in MASSIVE_COLUMNS if any(c in row for row in layers)]
        rows = [[row.get(c) for c in columns] + [(row.get("gamma") or {}).get(k) for k in ("shape", "ks")]
                for row in layers]
        states.append(dict(state=state, columns=columns + ["gamma shape", "gamma KS"], rows=rows))
    return states


def run_context(record: Dict[str, Any], stem: str, suite: str, curves: bool, ma_figures: List[str],
                generated: dt.datetime) -> Dict[str, Any]:
    scores = []
    for split in ("val", "test"):
        for key, value in sorted((record.get(split) or {}).items()):
            scores.append((f"{split} {key}", value))
    attack = [[a.get(c) for c in ATTACK_COLUMNS] for a in record.get("attack") or [] if isinstance(a, dict)]
    return dict(
        record=record, stem=stem, suite=suite, run_id=record["run_id"], status=record["status"],
        message=record.get("message"), traceback=record.get("traceback"),
        facts=[(k, record.get(k)) for k in FACTS if record.get(k) is not None],
        point=sorted(flatten(record.get("point") or {}).items()), scores=scores,
        config=sorted(flatten(record["config"]).items()), curves=curves, ma_figures=ma_figures,
        diagnostics=_diagnostics(record), massive=_massive(record), attack_columns=ATTACK_COLUMNS, attack=attack,
        versions=sorted((record.get("versions") or {}).items()), argv=" ".join(map(str, record.get("argv") or [])),
        generated=generated,
    )
