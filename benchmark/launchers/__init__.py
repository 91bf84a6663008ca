"""Launchers: where the runs of a sweep execute. One small interface, one module per engine.

Everything else (claims, records, checkpoints, thread counts, the progress bar) is shared and
lives in :mod:`benchmark.worker` and :mod:`benchmark.progress`; a launcher only decides which
process calls :func:`benchmark.worker.run_job` for each job, and waits for them.

* ``local`` (:mod:`.local`): the invoking process (``workers=1``) or a pool of spawned processes.
* ``slurm`` (:mod:`.slurm`): job arrays through submitit.
* ``ray`` (:mod:`.ray_cluster`): Ray core tasks on an existing or a new local cluster.
"""
import os
from pathlib import Path
from typing import List, Optional

from benchmark.progress import SweepProgress
from benchmark.worker import JobResult, RunJob
from dgl_ma.errors import ConfigError


class Launcher:
    """Subclasses set ``name`` and implement :meth:`launch`; :meth:`check` runs before any work
    and raises a :class:`ConfigError` when the engine cannot be used here."""

    name = ""

    def __init__(self, cfg):
        self.cfg = cfg   # the plan's RunConfig: workers, threads and the engine's own group

    def check(self) -> None:
        """Fail early (exit 2) when the engine is not installed or not reachable."""

    def default_threads(self) -> int:
        """Threads per run when ``threads=0``."""
        return 1

    def shared_cores(self) -> int:
        """With ``threads=0``: the cores that runs of this host share out among themselves as they
        start and end (:mod:`benchmark.thread_share`), or 0 when the engine allots them."""
        return 0

    def active(self, run_ids: List[str], output_dir: Path) -> List[str]:
        """Runs this engine already has queued or running (submitted by an earlier invocation)."""
        return []

    def launch(self, jobs: List[RunJob], progress: SweepProgress, detach: bool = False,
               attach: Optional[List[str]] = None) -> List[JobResult]:
        """Execute ``jobs`` (wait for them unless ``detach``) and return their results; also wait
        for the earlier submissions of the runs in ``attach`` (see :meth:`active`). On
        KeyboardInterrupt: stop the workers, release their claims where possible, re-raise."""
        raise NotImplementedError


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def env_threads() -> int:
    """``OMP_NUM_THREADS`` as a positive integer, or 0 when it is unset or not one."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 0


# name -> (module, class, how to install the engine's package)
ENGINES = {
    "local": ("benchmark.launchers.local", "LocalLauncher", None),
    "slurm": ("benchmark.launchers.slurm", "SlurmLauncher",
              "pip install 'dgl-ma[slurm]' (or pip install -c constraints.txt submitit)"),
    "ray": ("benchmark.launchers.ray_cluster", "RayLauncher",
            "pip install 'dgl-ma[ray]' (or pip install -c constraints.txt ray)"),
}


def get_launcher(cfg) -> Launcher:
    """The launcher ``cfg.launcher`` names, checked (its package importable, its engine usable)."""
    import importlib

    if cfg.launcher not in ENGINES:
        raise ConfigError(f"Unknown launcher={cfg.launcher!r}; choose one of {', '.join(ENGINES)}.")
    module, cls, install = ENGINES[cfg.launcher]
    try:
        engine = getattr(importlib.import_module(module), cls)
    except ImportError as err:
        raise ConfigError(f"launcher={cfg.launcher} needs a package that is not installed ({err}): {install}.") from None
    launcher = engine(cfg)
    launcher.check()
    return launcher
