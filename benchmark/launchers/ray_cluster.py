"""``launcher=ray``: one Ray core task per run, with ``ray.num_cpus`` / ``ray.num_gpus`` per task
(fractions allowed), at most ``workers`` in flight. ``ray.address`` names a running cluster
(``auto``, ``ray://head:10001``, ...); without one Ray's own rules apply (``RAY_ADDRESS``, else a
new local cluster with this machine's cores). Ctrl-C cancels the tasks (each releases its claim).
The results folder must be visible to every node of the cluster (see :mod:`benchmark.claims`)."""
import os
from typing import List, Optional

import ray

from benchmark.launchers import Launcher, cores
from benchmark.progress import SweepProgress
from benchmark.worker import JobResult, RunJob, run_job
from dgl_ma.errors import ConfigError


class RayLauncher(Launcher):
    name = "ray"

    def default_threads(self) -> int:
        return max(1, int(self.cfg.ray.num_cpus))

    def _connect(self):
        if not ray.is_initialized():
            options = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
            try:
                if self.cfg.ray.address:
                    ray.init(address=self.cfg.ray.address, **options)
                else:
                    ray.init(**options) if _env_address() else ray.init(num_cpus=cores(), **options)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise ConfigError(f"Cannot connect to the Ray cluster at {self.cfg.ray.address or _env_address()}: "
                                  f"{err}") from None

    def launch(self, jobs: List[RunJob], progress: SweepProgress, detach: bool = False,
               attach: Optional[List[str]] = None) -> List[JobResult]:
        self._connect()
        task = ray.remote(run_job).options(num_cpus=self.cfg.ray.num_cpus, num_gpus=self.cfg.ray.num_gpus,
                                           max_retries=0)
        queue, running, results = list(jobs), [], []
        try:
            while queue or running:
                while queue and len(running) < self.cfg.workers:
                    running.append(task.remote(queue.pop(0)))
                done, running = ray.wait(running, num_returns=1, timeout=0.5)
                results += ray.get(done)
                progress.poll()
        except KeyboardInterrupt:
            for ref in running:
                ray.cancel(ref)   # raises KeyboardInterrupt inside the task: its claim is released
            raise
        return results


def _env_address() -> Optional[str]:
    return os.environ.get("RAY_ADDRESS")
