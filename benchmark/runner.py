"""Execute a plan: skip finished and claimed runs, hand the rest to the launcher, collect.

Folders, devices and datasets are checked before the first run starts, so a mistake stops the
sweep before any work. Each finished run is written at once; a run in flight resumes from its
last checkpoint after an interruption. A run that raises is recorded as ``failed`` (and retried
by the next invocation); the sweep goes on. :func:`execute_run` is one run's training and
analysis; :mod:`benchmark.worker` wraps it with claims and records for every launcher.
"""
import copy
import datetime as dt
import os
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

from benchmark import claims
from benchmark.config import flatten
from benchmark.progress import SweepProgress
from benchmark.results import ResultStore
from benchmark.sweep import Plan, Run, stable_hash
from dgl_ma.analysis.pipeline import analyse
from dgl_ma.data import depends_on_seed, load_task
from dgl_ma.data.store import data_root
from dgl_ma.errors import UserError
from dgl_ma.metrics import METRICS
from dgl_ma.models import build_model, count_parameters
from dgl_ma.train import fit, seed_everything
from dgl_ma.train.checkpoint import Checkpointer
from dgl_ma.train.engine import resolve_device

SCHEMA_VERSION = 1


@dataclass
class Summary:
    total: int
    skipped: int                                   # already finished before this invocation
    executed: List[Dict[str, Any]] = field(default_factory=list)   # records of the runs executed here
    elsewhere: int = 0                             # claimed by another process, or queued on the cluster
    submitted: int = 0                             # handed to the cluster and not waited for (--detach)
    notes: List[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.executed if r["status"] == status)

    def line(self, suite: str) -> str:
        """``quickstart: 12 runs — 5 executed here, 4 already finished, 3 running elsewhere``."""
        parts = [f"{len(self.executed)} executed here", f"{self.skipped} already finished",
                 f"{self.elsewhere} running elsewhere"]
        if self.submitted:
            parts.append(f"{self.submitted} submitted")
        return f"{suite}: {self.total} runs — " + ", ".join(parts)


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
                output_dir: Optional[Path] = None) -> Dict[str, Any]:
    """Train one run and return its record (never raises for a failing run, only for user errors).
    With ``output_dir``, the run checkpoints to ``<run id>.ckpt.pt`` there (and resumes from it),
    keeps its weights as ``output.save_model`` says, and writes its analysis files there."""
    from benchmark.worker import checkpoint_path, weights_path

    started = dt.datetime.now(dt.timezone.utc)
    tick = time.perf_counter()
    record: Dict[str, Any] = {
        "schema": SCHEMA_VERSION, "run_id": run.run_id, "config_id": run.config_id, "suite": suite,
        "seed": run.seed, "point": run.point, "config": run.resolved, **provenance,
        "device": device_name(run.config.train.device), "started_at": started.isoformat(),
    }
    save_model = run.config.output.save_model
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
        train = run.config.train
        checkpoint = None
        if output_dir is not None:
            checkpoint = Checkpointer(checkpoint_path(output_dir, run.run_id), train.checkpoint_every,
                                      train.checkpoint_seconds)
        result = fit(model, task, train, run.seed, on_epoch=on_epoch,
                     keep_best_state=analysis.enabled or save_model in ("best", "both"), checkpoint=checkpoint)
        peak, kind = peak_memory_mb(run.config.train.device)
        record.update(status=result.status, message=None, diverged_epoch=result.diverged_epoch,
                      best_epoch=result.best_epoch, val=result.val, test=result.test, final=result.final,
                      epochs_run=result.epochs_run, stop_reason=result.stop_reason,
                      seconds_per_epoch=result.seconds_per_epoch, history=result.history,
                      diagnostics=result.diagnostics,
                      peak_memory_mb=peak, peak_memory_kind=kind,
                      resumed_from_epoch=checkpoint.resumed_from if checkpoint is not None else None)
        if output_dir is not None and save_model != "none":
            states = {"best": result.best_state, "final": model.state_dict()}
            for which in (("best", "final") if save_model == "both" else (save_model,)):
                torch.save(states[which], weights_path(output_dir, run.run_id, which))
            record["saved_models"] = [which for which in ("best", "final") if save_model in (which, "both")]
        if result.status == "diverged":
            record["message"] = f"training loss or predictions became NaN/Inf at epoch {result.diverged_epoch}"
        elif analysis.enabled:
            record.update(analyse(model, task, analysis, run.config.train, run.seed, base_state,
                                  result.best_state, (output_dir or Path(".")) / run.run_id))
    except UserError:
        raise
    except Exception as err:  # a crashing run is recorded and the sweep goes on
        record.update(status="failed", message=f"{type(err).__name__}: {err}",
                      traceback=traceback.format_exc(limit=8))
    record["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
    record["wall_seconds"] = time.perf_counter() - tick
    return record


def preflight(plan: Plan, runs: List[Run], tasks: TaskCache) -> None:
    """Check devices, load every dataset the pending runs need, then check (and create) the
    output folder, so that an absent GPU, missing data or an unusable folder stops the sweep
    before any work, and a mistake leaves no empty results folder behind."""
    for run in runs:
        resolve_device(run.config.train.device)
    seen = set()
    for run in runs:
        key = (run.config.data.name, stable_hash(asdict(run.config.data)))
        if key not in seen:
            seen.add(key)
            check_writable(data_root(run.config.data.root), "data.root")
            tasks.get(run)
    check_writable(plan.output_dir, "output.dir")


def check_writable(folder: Path, key: str) -> None:
    """``folder`` exists or can be created, is a folder, and accepts a new file; else a
    :class:`UserError` naming ``key``."""
    folder = Path(folder)
    problem = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError:
        problem = "it exists and is not a folder"
    except NotADirectoryError:
        problem = "a part of its path is a file, not a folder"
    except PermissionError:
        problem = "permission denied (it, or the folder above it, is not writable by you)"
    except OSError as err:
        problem = err.strerror or str(err)
    if problem:
        raise UserError(f"{key} points at {folder}, which cannot be used: {problem}. Choose a writable folder, "
                        f"e.g. {key}=$HOME/dgl-ma-{key.split('.')[0]}; nothing was run.")


def _execution(plan: Plan):
    """The plan's execution settings (launcher, workers, threads and the engines' groups): those
    of its first run (they are the same for every run; the suite's base config alone may not
    be a valid run, e.g. a norm its grid's models have and the default model has not)."""
    from benchmark.config import to_run_config

    return plan.runs[0].config if plan.runs else to_run_config(plan.base)


def execute(plan: Plan, force: bool = False, progress: bool = True, detach: bool = False) -> Summary:
    """Run every run of ``plan`` that is neither finished nor claimed elsewhere, with the
    launcher the plan names; return what happened (see :meth:`Summary.line`)."""
    from benchmark.launchers import get_launcher
    from benchmark.worker import RunJob

    settings = _execution(plan)
    launcher = get_launcher(settings)
    store = ResultStore(plan.output_dir)
    open_runs = [r for r in plan.runs if force or not store.is_finished(r.run_id)]
    summary = Summary(total=len(plan.runs), skipped=len(plan.runs) - len(open_runs))
    queued = set(launcher.active([r.run_id for r in open_runs], plan.output_dir))
    held = {r.run_id for r in open_runs if claims.live_holder(plan.output_dir, r.run_id) is not None}
    pending = [r for r in open_runs if r.run_id not in queued | held]
    summary.elsewhere = len(queued | held)
    if not pending and not (queued and not detach):
        return summary
    tasks = TaskCache()
    preflight(plan, pending, tasks)
    provenance = {"versions": versions(), "git_commit": git_commit(), "argv": sys.argv}
    threads = settings.threads or launcher.default_threads()
    share = 0 if settings.threads else launcher.shared_cores()
    labels = {r.run_id: _label(r) for r in open_runs}
    jobs = [RunJob(r, plan.suite.name, plan.output_dir, provenance, threads, force, labels[r.run_id], share)
            for r in pending]
    watched = {run_id: labels[run_id] for run_id in [j.run.run_id for j in jobs] + sorted(queued)}
    bar = SweepProgress(plan.output_dir, watched, plan.suite.name, enabled=progress and not detach)
    try:
        results = launcher.launch(jobs, bar, detach=detach, attach=sorted(queued))
    finally:
        bar.close()
    if detach:
        summary.submitted = len(jobs)
        return summary
    for result in results:
        summary.notes += result.notes
        if result.outcome == "executed" and result.status != "unwritten":
            summary.executed.append(store.load(result.run_id))
        elif result.outcome == "finished":
            summary.skipped += 1
        elif result.outcome == "elsewhere":
            summary.elsewhere += 1
    summary.elsewhere -= sum(1 for r in results if r.run_id in queued)   # the queued ones we waited for
    return summary


def _label(run: Run) -> str:
    values = " ".join(f"{k.split('.')[-1]}={v}" for k, v in flatten(run.point).items())
    return f"{values} seed={run.seed}".strip()


def load_model(record_path, which: str = "best"):
    """``(model, task)`` of a finished run, with the weights ``output.save_model`` kept next to its
    record (``which`` = ``best`` or ``final``), in eval mode on the CPU::

        model, task = load_model("results/quickstart/0a1b2c3d4e5f.json", "best")
    """
    from benchmark.config import defaults, merge, to_run_config
    from benchmark.worker import weights_path

    path = Path(record_path)
    record = ResultStore(path.parent).read(path)
    weights = weights_path(path.parent, record["run_id"], which)
    if not weights.exists():
        raise UserError(f"{weights} does not exist: run {record['run_id']} kept {record.get('saved_models') or 'no'} "
                        f"weights. Rerun it with output.save_model={which} (or both) and --force.")
    cfg = to_run_config(merge(defaults(), flatten(record["config"]), f"the record {path}"))
    task = load_task(cfg.data, record["seed"])
    seed_everything(record["seed"])
    model = build_model(cfg.model, task.info)
    model.load_state_dict(torch.load(weights, map_location="cpu"))
    return model.eval(), task
