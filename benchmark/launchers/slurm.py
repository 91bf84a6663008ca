"""``launcher=slurm``: the runs as one Slurm job array through submitit, ``slurm.runs_per_job``
runs per array task, at most ``workers`` tasks at once (``--array=...%workers``). submitit keeps
its files (scripts, logs, pickles) in ``<output dir>/.submitit``.

By default the command waits and shows the sweep's progress bar; ``--detach`` submits and
returns. The job ids go to ``.submitit/submitted.json``, so a later ``run`` with the same
arguments counts the runs of queued or running jobs as running elsewhere (no second submission)
and, without ``--detach``, waits for them and collects the results.

Time limits and preemption: submitit asks Slurm for a signal 90 s before the limit
(``--signal=USR2@90``); the task then releases its claims and requeues itself, and the requeued
task resumes every unfinished run from its checkpoint. Requires a results folder that every node
sees (the claims need ``link``/``rename``/``mkdir`` to be atomic there: NFS, Lustre, GPFS do).
"""
import json
import shutil
import time
from pathlib import Path
from typing import Dict, List, Optional

import submitit

from benchmark import claims
from benchmark.launchers import Launcher
from benchmark.progress import SweepProgress
from benchmark.worker import JobResult, RunJob, run_job
from dgl_ma.errors import ConfigError

ACTIVE_STATES = {"PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED", "RESIZING", "UNKNOWN"}


class SlurmTask(submitit.helpers.Checkpointable):
    """The callable of one array task: its runs, one after the other. On the time-limit or
    preemption signal submitit calls :meth:`checkpoint` and requeues the task."""

    def __call__(self, jobs: List[RunJob]) -> List[JobResult]:
        return [run_job(job) for job in jobs]

    def checkpoint(self, jobs: List[RunJob]):
        claims.release_all()   # the requeued task (maybe on another node) claims them again
        return submitit.helpers.DelayedSubmission(self, jobs)


class SlurmLauncher(Launcher):
    name = "slurm"

    def check(self) -> None:
        if shutil.which("sbatch") is None:
            raise ConfigError("launcher=slurm but there is no `sbatch` on PATH: run on a Slurm login node, "
                              "or use launcher=local (workers=N) or launcher=ray.")

    def default_threads(self) -> int:
        return self.cfg.slurm.cpus_per_task

    def _folder(self, output_dir: Path) -> Path:
        return Path(output_dir) / ".submitit"

    def _submitted(self, output_dir: Path) -> Dict[str, str]:
        path = self._folder(output_dir) / "submitted.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def _jobs(self, output_dir: Path, run_ids: List[str]):
        """submitit handles on the earlier submissions of ``run_ids`` whose jobs are still active."""
        submitted = self._submitted(output_dir)
        jobs = {}
        for run_id in run_ids:
            job_id = submitted.get(run_id)
            if job_id and job_id not in jobs:
                jobs[job_id] = submitit.SlurmJob(folder=self._folder(output_dir), job_id=job_id)
        return {jid: job for jid, job in jobs.items() if job.state.split()[0] in ACTIVE_STATES}

    def active(self, run_ids: List[str], output_dir: Path) -> List[str]:
        live = self._jobs(output_dir, run_ids)
        submitted = self._submitted(output_dir)
        return [r for r in run_ids if submitted.get(r) in live]

    def launch(self, jobs: List[RunJob], progress: SweepProgress, detach: bool = False,
               attach: Optional[List[str]] = None) -> List[JobResult]:
        output_dir = Path(progress.folder)
        folder = self._folder(output_dir)
        handles = list(self._jobs(output_dir, attach or []).values())
        if jobs:
            s = self.cfg.slurm
            executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
            params = dict(name=f"dgl-ma-{jobs[0].suite}", timeout_min=s.time_min, cpus_per_task=s.cpus_per_task,
                          mem_gb=s.mem_gb, slurm_array_parallelism=self.cfg.workers)
            params.update({f"slurm_{k}": v for k, v in (("partition", s.partition), ("account", s.account),
                                                        ("qos", s.qos), ("constraint", s.constraint)) if v})
            if s.gpus_per_task:
                params["slurm_gpus_per_task"] = s.gpus_per_task
            executor.update_parameters(**params)
            chunks = [jobs[i:i + s.runs_per_job] for i in range(0, len(jobs), s.runs_per_job)]
            try:
                new = executor.map_array(SlurmTask(), chunks)
            except Exception as err:   # sbatch refused: a bad partition, account or resource request
                raise ConfigError(f"Slurm refused the job array: {err}") from None
            submitted = self._submitted(output_dir)
            submitted.update({job.run.run_id: handle.job_id for chunk, handle in zip(chunks, new) for job in chunk})
            tmp = folder / "submitted.json.tmp"
            tmp.write_text(json.dumps(submitted, indent=1))
            tmp.replace(folder / "submitted.json")
            handles += new
        if detach:
            return []
        results: List[JobResult] = []
        try:
            while not all(h.done() for h in handles):
                progress.poll()
                time.sleep(1.0)
        except KeyboardInterrupt:
            for handle in handles:
                handle.cancel(check=False)
            raise
        for handle in handles:
            try:
                results += handle.result()
            except Exception as err:   # cancelled, timed out, node failure: the runs keep their checkpoints
                progress.bar.write(f"Slurm job {handle.job_id} ended without a result ({type(err).__name__}: "
                                   f"{str(err).splitlines()[0] if str(err) else ''}); its unfinished runs keep "
                                   f"their checkpoints, rerun the same command to resume them.")
        return results
