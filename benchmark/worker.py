"""What every launcher runs for one run, in whichever process executes it (the invoking process,
a local pool worker, a Slurm task or a Ray task): set the thread count, claim the run, train it
(resuming from its checkpoint), write its record, keep its weights if asked, release the claim.

A :class:`RunJob` is everything that needs, and is pickled to the worker; a :class:`JobResult`
is what comes back. Nothing here knows which launcher called it.
"""
import contextlib
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from benchmark import claims
from benchmark.results import ResultStore
from benchmark.sweep import Run
from benchmark.thread_share import ThreadShare, configure_threads


@dataclass
class RunJob:
    run: Run
    suite: str
    output_dir: Path
    provenance: Dict[str, Any]
    threads: int
    force: bool = False      # rerun even when a finished record exists
    label: str = ""          # what the progress bar shows for it
    share_cores: int = 0     # > 0: threads follow this host's cores ÷ its live runs (thread_share)


@dataclass
class JobResult:
    run_id: str
    outcome: str                       # "executed", "finished" (by someone else) or "elsewhere" (claimed)
    status: Optional[str] = None       # the record's status when executed here
    message: Optional[str] = None
    notes: list = field(default_factory=list)   # takeovers, resumes, write failures: shown to the user


_TASKS = None   # this process's dataset cache (a worker keeps its datasets across runs)


def _tasks():
    global _TASKS
    if _TASKS is None:
        from benchmark.runner import TaskCache

        _TASKS = TaskCache()
    return _TASKS


def run_job(job: RunJob, on_epoch=None) -> JobResult:
    """Claim, train and record one run. Never raises for a failing run (it is recorded as
    ``failed``); a record that cannot be written leaves the claim released and the checkpoint in
    place, so that the next invocation retries the run without training it again."""
    from benchmark.runner import execute_run

    configure_threads(job.threads)
    run_id = job.run.run_id
    store = ResultStore(job.output_dir)
    if not job.force and store.is_finished(run_id):
        return JobResult(run_id, "finished")
    taken = claims.try_claim(job.output_dir, run_id)
    if taken.claim is None:
        return JobResult(run_id, "elsewhere", message=taken.holder.describe() if taken.holder else None)
    claim = taken.claim
    result = JobResult(run_id, "executed")
    if taken.took_over:
        result.notes.append(f"run {run_id}: took over a stale claim ({taken.took_over})")
    try:
        if not job.force and store.is_finished(run_id):   # finished between our check and our claim
            result.outcome = "finished"
            return result

        def progress(entry):
            claim.update(epoch=entry["epoch"])
            if share is not None:
                share.rebalance()
            if on_epoch is not None:
                on_epoch(entry)

        with contextlib.ExitStack() as stack:
            share = stack.enter_context(ThreadShare(job.share_cores)) if job.share_cores else None
            record = execute_run(job.run, _tasks(), job.suite, job.provenance, progress, job.output_dir)
        if share is not None:
            record["device"] += share.describe()
        record.update(host=socket.gethostname(), pid=os.getpid())
        if record.get("resumed_from_epoch"):
            result.notes.append(f"run {run_id}: resumed from its checkpoint at epoch {record['resumed_from_epoch']}")
        try:
            store.write(record)
        except OSError as err:
            result.status, result.message = "unwritten", f"its record could not be written to {store.folder}: {err}"
            result.notes.append(f"run {run_id}: {result.message}; its checkpoint is kept, rerun to write it")
            return result
        checkpoint_path(job.output_dir, run_id).unlink(missing_ok=True)
        result.status, result.message = record["status"], record.get("message")
        return result
    finally:
        claim.release()


def checkpoint_path(output_dir: Path, run_id: str) -> Path:
    return Path(output_dir) / f"{run_id}.ckpt.pt"


def weights_path(output_dir: Path, run_id: str, which: str) -> Path:
    """Where ``output.save_model`` keeps a run's ``best`` or ``final`` weights."""
    return Path(output_dir) / f"{run_id}.{which}.pt"
