"""One progress bar for a whole sweep, whichever launcher executes it: runs done / total with
ETA, and what each worker is on. It reads the results folder (records that appear, and the
status the run claims carry), so it works the same for the invoking process, a local pool, Slurm
jobs on other nodes and Ray tasks, and for a later invocation that only watches."""
import time
from pathlib import Path
from typing import Dict, Iterable, Optional

from tqdm.auto import tqdm

from benchmark import claims
from benchmark.results import ResultStore


class SweepProgress:
    """``poll()`` as often as convenient; it reads the folder at most every ``interval`` seconds.
    ``labels`` maps run ids to a short description of the run (its grid values and seed)."""

    def __init__(self, folder: Path, labels: Dict[str, str], desc: str, enabled: bool = True,
                 interval: float = 1.0):
        self.store = ResultStore(folder)
        self.folder = Path(folder)
        self.labels = labels
        self.interval = interval
        self._last = 0.0
        self._done: set = set()
        self.bar = tqdm(total=len(labels), desc=desc, unit="run", disable=not enabled, dynamic_ncols=True)

    def poll(self, current: Optional[str] = None, force: bool = False) -> int:
        """Refresh the bar; ``current`` describes an in-process run directly. Returns runs done."""
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            if current is not None:
                self.bar.set_postfix_str(current, refresh=False)
            return len(self._done)
        self._last = now
        for run_id in self.labels.keys() - self._done:
            if self.store.is_finished(run_id):
                self._done.add(run_id)
        self.bar.update(len(self._done) - self.bar.n)
        self.bar.set_postfix_str(current or self._workers(self.labels.keys() - self._done), refresh=True)
        return len(self._done)

    def _workers(self, open_runs: Iterable[str]) -> str:
        on = []
        for run_id in sorted(open_runs):
            held = claims.read_claim(claims.claim_path(self.folder, run_id))
            if held is not None and held.is_stale() is None:
                epoch = held.status.get("epoch")
                on.append(f"[{held.host}:{held.pid}] {self.labels[run_id]}" + (f" epoch={epoch}" if epoch is not None else ""))
        return " | ".join(on)

    def close(self) -> None:
        self.poll(force=True)
        self.bar.close()
