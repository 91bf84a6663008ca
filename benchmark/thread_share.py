"""Threads of a run's process (:func:`configure_threads`) and automatic threads on a shared
workstation: the cores divided among the runs of this host.

With ``threads=0`` (the default) and ``launcher=local``, every run process registers itself in a
per-user folder of this host's temporary directory (``$TMPDIR/dgl-ma-<uid>/running``) while it trains, and before each epoch (at
most every :data:`CHECK_SECONDS`) sets its torch/OpenMP threads to ``cores ÷ live runs`` (at
least 1). A second sweep started beside a first one therefore makes both drop to one thread each
on a 2-core machine instead of running four busy-waiting threads on two cores (5× slower per
epoch, measured), and the last run of a sweep gets every core back when the others finish.

A registration is a file named ``<pid>-<process start time>``; an entry whose process is gone
(or whose pid was reused) is ignored and removed. Explicit ``threads=N``, ``OMP_NUM_THREADS``
in the environment, Slurm and Ray (whose allocations say the cores) do not use this.
"""
import os
import tempfile
import time
from pathlib import Path
from typing import Optional, Set

import psutil

CHECK_SECONDS = 2.0


def configure_threads(threads: int) -> None:
    """torch/OpenMP threads of this process (``threads`` >= 1). The environment variables reach
    libraries that read them at import (set before torch is imported in a spawned worker)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def registry() -> Path:
    return Path(tempfile.gettempdir()) / f"dgl-ma-{os.getuid()}" / "running"   # uid: no passwd entry needed


def _alive(entry: Path) -> bool:
    try:
        pid, started = entry.name.split("-", 1)
        return abs(psutil.Process(int(pid)).create_time() - float(started)) < 1.0
    except (ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        return False


class ThreadShare:
    """One run's share of this host's cores; ``with ThreadShare(cores) as share:`` registers the
    process, :meth:`rebalance` (called between epochs) applies the current share."""

    def __init__(self, cores: int, folder: Optional[Path] = None):
        self.cores = cores
        self.folder = folder or registry()
        me = psutil.Process()
        self.entry = self.folder / f"{me.pid}-{me.create_time():.3f}"
        self.used: Set[int] = set()
        self._checked = 0.0

    def __enter__(self) -> "ThreadShare":
        """Register; start with at most the threads already set (the launcher's cores ÷ workers),
        fewer when other runs of this host already hold cores."""
        import torch

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.entry.touch()
        except OSError:
            pass        # an unwritable temporary folder: this run counts itself only
        start = min(torch.get_num_threads(), self.threads())
        self._set(start)
        self._checked = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.entry.unlink(missing_ok=True)
        except OSError:
            pass

    def live_runs(self) -> int:
        live = 0
        try:
            entries = list(self.folder.iterdir())
        except OSError:
            return 1
        for entry in entries:
            if entry == self.entry or _alive(entry):
                live += 1
            else:
                try:
                    entry.unlink(missing_ok=True)
                except OSError:
                    pass
        return max(1, live)

    def threads(self) -> int:
        return max(1, self.cores // self.live_runs())

    def rebalance(self, force: bool = False) -> int:
        """Set this process's threads to its share (at most every CHECK_SECONDS); return it."""
        import torch

        now = time.monotonic()
        if force or now - self._checked >= CHECK_SECONDS:
            self._checked = now
            self._set(self.threads())
        return torch.get_num_threads()

    def _set(self, threads: int) -> None:
        configure_threads(threads)
        self.used.add(threads)

    def describe(self) -> str:
        """What the record says when the share changed during the run, else ''."""
        if len(self.used) <= 1:
            return ""
        return (f" (threads={min(self.used)}-{max(self.used)}: the cores shared among the runs of this host "
                f"as they started and ended)")
