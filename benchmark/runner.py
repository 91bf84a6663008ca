"""Execute a plan: skip finished runs, train the rest, write one record per run.

Datasets are loaded (and their availability checked) before the first run starts, so a
missing dataset stops the sweep before any work. Each finished run is written at once; an
interrupted sweep loses only the run in flight. A run that raises is recorded as ``failed``
(and retried by the next invocation); the sweep goes on.
"""
import copy
import datetime as dt
import platform
import resource
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import dgl
import numpy
import torch
from tqdm.auto import tqdm

from benchmark.config import flatten
from benchmark.results import ResultStore
from benchmark.sweep import Plan, Run, stable_hash
from dgl_ma.analysis.pipeline import analyse
from dgl_ma.data import depends_on_seed, load_task
from dgl_ma.errors import UserError
from dgl_ma.metrics import METRICS
from dgl_ma.models import build_model, count_parameters
from dgl_ma.train import fit, seed_everything
from dgl_ma.train.engine import resolve_device

SCHEMA_VERSION = 1


@dataclass
class Summary:
    total: int
    skipped: int
    executed: List[Dict[str, Any]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.executed if r["status"] == status)


def versions() -> Dict[str, str]:
    import ogb
    import scipy
    import sklearn

    return {"python": platform.python_version(), "torch": torch.__version__, "dgl": dgl.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
            "ogb": ogb.__version__}


def git_commit() -> Optional[str]:
    """HEAD of the repository holding this package, with ``+dirty`` for uncommitted changes."""
    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return f"{device}: {torch.cuda.get_device_name(torch.device(device))}"
    return f"cpu: {platform.machine()}, {torch.get_num_threads()} threads, {platform.system()}"


def peak_memory_mb(device: str) -> Tuple[float, str]:
    """CUDA: the allocator's peak for this run. CPU: the process's resident-set high-water mark,
    which covers every run so far in this process (an upper bound for this run)."""
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated(torch.device(device)) / 2**20, "cuda_max_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process_max_rss"


class TaskCache:
    """Loads each dataset once per sweep (once per seed for generated datasets)."""

    def __init__(self):
        self._tasks: Dict[str, Any] = {}

    def get(self, run: Run):
        data = asdict(run.config.data)
        key = stable_hash({"data": data, "seed": run.seed if depends_on_seed(run.config.data) else None})
        if key not in self._tasks:
            self._tasks[key] = load_task(run.config.data, run.seed)
        return self._tasks[key]


def execute_run(run: Run, tasks: TaskCache, suite: str, provenance: Dict[str, Any], on_epoch=None,
                artifacts: Optional[Path] = None) -> Dict[str, Any]:
    """Train one run and return its record (never raises for a failing run, only for user errors).
    With ``analysis`` switched on, its files are written next to ``artifacts`` (a path prefix)."""
    started = dt.datetime.now(dt.timezone.utc)
    tick = time.perf_counter()
    record: Dict[str, Any] = {
        "schema": SCHEMA_VERSION, "run_id": run.run_id, "config_id": run.config_id, "suite": suite,
        "seed": run.seed, "point": run.point, "config": run.resolved, **provenance,
        "device": device_name(run.config.train.device), "started_at": started.isoformat(),
    }
    try:
        task = tasks.get(run)
        seed_everything(run.seed)
        model = build_model(run.config.model, task.info)
        metric = METRICS.get(task.info.metric)
        record.update(dataset=run.config.data.name, model=run.config.model.name,
                      metric={"name": metric.name, "higher_is_better": metric.higher_is_better},
                      params=count_parameters(model))
        if run.config.train.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats(torch.device(run.config.train.device))
        analysis = run.config.analysis
        base_state = copy.deepcopy(model.state_dict()) if analysis.enabled else None
        result = fit(model, task, run.config.train, run.seed, on_epoch=on_epoch, keep_best_state=analysis.enabled)
        peak, kind = peak_memory_mb(run.config.train.device)
        record.update(status=result.status, message=None, diverged_epoch=result.diverged_epoch,
                      best_epoch=result.best_epoch, val=result.val, test=result.test, final=result.final,
                      epochs_run=result.epochs_run, stop_reason=result.stop_reason,
                      seconds_per_epoch=result.seconds_per_epoch, history=result.history,
                      diagnostics=result.diagnostics,
                      peak_memory_mb=peak, peak_memory_kind=kind)
        if result.status == "diverged":
            record["message"] = f"training loss or predictions became NaN/Inf at epoch {result.diverged_epoch}"
        elif analysis.enabled:
            record.update(analyse(model, task, analysis, run.config.train, run.seed, base_state,
                                  result.best_state, artifacts or Path(run.run_id)))
    except UserError:
        raise
    except Exception as err:  # a crashing run is recorded and the sweep goes on
        record.update(status="failed", message=f"{type(err).__name__}: {err}",
                      traceback=traceback.format_exc(limit=8))
    record["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
    record["wall_seconds"] = time.perf_counter() - tick
    return record


def preflight(plan: Plan, runs: List[Run], tasks: TaskCache) -> None:
    """Check devices and load every dataset the pending runs need, so that missing data or an
    absent GPU stops the sweep before any work."""
    seen = set()
    for run in runs:
        resolve_device(run.config.train.device)
        key = (run.config.data.name, stable_hash(asdict(run.config.data)))
        if key not in seen:
            seen.add(key)
            tasks.get(run)


def execute(plan: Plan, force: bool = False, progress: bool = True) -> Summary:
    store = ResultStore(plan.output_dir)
    pending = [r for r in plan.runs if force or not store.is_finished(r.run_id)]
    summary = Summary(total=len(plan.runs), skipped=len(plan.runs) - len(pending))
    if not pending:
        return summary
    tasks = TaskCache()
    preflight(plan, pending, tasks)
    provenance = {"versions": versions(), "git_commit": git_commit(), "argv": sys.argv}
    bar = tqdm(total=len(pending), desc=plan.suite.name, unit="run", disable=not progress, dynamic_ncols=True)
    try:
        for run in pending:
            label = " ".join(f"{k.split('.')[-1]}={v}" for k, v in flatten(run.point).items())
            bar.set_postfix_str(f"{label} seed={run.seed}".strip())

            def on_epoch(entry, label=label, seed=run.seed):
                bar.set_postfix_str(f"{label} seed={seed} epoch={entry['epoch']}".strip(), refresh=False)

            plan.output_dir.mkdir(parents=True, exist_ok=True)
            record = execute_run(run, tasks, plan.suite.name, provenance, on_epoch, plan.output_dir / run.run_id)
            store.write(record)
            summary.executed.append(record)
            bar.update(1)
    finally:
        bar.close()
    return summary
