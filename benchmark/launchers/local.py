"""``launcher=local``: ``workers=1`` runs every job in the invoking process (today's behaviour);
``workers=N`` runs them in a pool of N spawned processes (``multiprocessing.Pool``), each with
``threads`` torch threads. Ctrl-C terminates the workers (each releases its claims on SIGTERM and exits);
finished records and checkpoints stay."""
import multiprocessing
import os
import signal
import threading
import time
from typing import List, Optional

from benchmark.interrupt import held
from benchmark.launchers import Launcher, cores, env_threads
from benchmark.progress import SweepProgress
from benchmark.thread_share import configure_threads
from benchmark.worker import JobResult, RunJob, run_job


def _stop_worker(signum, frame):
    """SIGTERM from the parent (Ctrl-C there): unwind (the run's ``finally`` releases its claim and
    removes temporary files; checkpoints stay) and exit quietly."""
    raise SystemExit(128 + signum)


def _init_worker(threads: int, ready) -> None:
    """Set up a pool process, then wait (at most a minute) until every worker has: a worker that
    imported faster would otherwise take every short run before the others are up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # the parent decides; it terminates us
    signal.signal(signal.SIGTERM, _stop_worker)
    with held():                                      # a SIGTERM during torch's import is delivered after it
        configure_threads(threads)                    # imports torch
        import benchmark.runner  # noqa: F401  (the heavy imports: torch, DGL, the models)

    try:
        ready.wait(timeout=60)
    except threading.BrokenBarrierError:
        pass      # a slow or replaced worker: start anyway


class LocalLauncher(Launcher):
    name = "local"

    def default_threads(self) -> int:
        """``OMP_NUM_THREADS`` when the environment sets it (a scheduler or the user chose),
        otherwise the cores shared evenly among the workers."""
        return env_threads() or max(1, cores() // self.cfg.workers)

    def shared_cores(self) -> int:
        """Automatic threads follow the runs of this host (not when OMP_NUM_THREADS says)."""
        return 0 if env_threads() else cores()

    def launch(self, jobs: List[RunJob], progress: SweepProgress, detach: bool = False,
               attach: Optional[List[str]] = None) -> List[JobResult]:
        if self.cfg.workers == 1 or len(jobs) == 1:
            return [self._in_process(job, progress) for job in jobs]
        threads = jobs[0].threads
        saved = {var: os.environ.get(var) for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        os.environ.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))  # inherited at spawn
        context = multiprocessing.get_context("spawn")
        size = min(self.cfg.workers, len(jobs))
        pool = context.Pool(size, _init_worker, (threads, context.Barrier(size)))
        try:
            pending = [pool.apply_async(run_job, (job,)) for job in jobs]
            while not all(p.ready() for p in pending):
                progress.poll()
                time.sleep(0.2)
            results = [p.get() for p in pending]   # re-raises a UserError from a worker
            pool.close()
            return results
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
            for var, value in saved.items():
                os.environ.pop(var, None) if value is None else os.environ.__setitem__(var, value)

    @staticmethod
    def _in_process(job: RunJob, progress: SweepProgress) -> JobResult:
        progress.poll(current=job.label)
        result = run_job(job, on_epoch=lambda entry: progress.poll(current=f"{job.label} epoch={entry['epoch']}"))
        progress.poll(force=True)
        return result
