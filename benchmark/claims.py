"""Run claims: before a run starts, its executor claims it with a file next to its record, so
that any other invocation, worker or cluster task sharing the results folder skips it.

``<run id>.claim`` is a small JSON file: host, pid, the process's start time, the Slurm job (if
any), when the claim was taken, a heartbeat refreshed while the run trains, and what the run is
on (its epoch), which the progress bar of any invocation shows.

Filesystem semantics (a local disk, or NFS v3/v4, Lustre, GPFS, BeeGFS shared by every node):

* **Taking a claim** writes the JSON to a unique temporary file and ``link(2)``s it to the claim
  name. ``link`` is atomic and fails when the name exists, also on NFS (it is the lock primitive
  that ``open(2)`` recommends there instead of ``O_EXCL``), so exactly one contender wins and a
  claim file is never seen half-written.
* **Heartbeats** rewrite the file through a temporary file and ``rename(2)`` (atomic), and only
  while its token is still this claim's.
* **Stale claims** are taken over: a claim is stale when it was taken on this host by a process
  that no longer exists (pid gone, or reused by a process that started later), or when its
  heartbeat is older than :data:`STALE_AFTER` seconds (any host: a dead node, a killed job).
  Hosts must agree on the time to within a small fraction of that limit (NTP). A takeover renames
  the stale file away under a per-run ``mkdir`` lock (atomic everywhere), re-reading it first, so
  two contenders never both take it.
"""
import json
import os
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

import psutil

HEARTBEAT_SECONDS = 30.0   # a running claim refreshes its heartbeat at least this often
STALE_AFTER = 600.0        # a heartbeat older than this marks the claim stale, whatever the host
SUFFIX = ".claim"


def _process_start(pid: int) -> Optional[float]:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


@dataclass
class ClaimInfo:
    run_id: str
    host: str
    pid: int
    process_start: Optional[float]
    token: str
    claimed_at: float
    heartbeat: float
    slurm_job: Optional[str] = None
    status: Dict[str, Any] = field(default_factory=dict)   # what the run is on (label, epoch)

    def is_stale(self, now: Optional[float] = None) -> Optional[str]:
        """Why this claim is stale, or None when its process may still be running."""
        now = time.time() if now is None else now
        if self.host == socket.gethostname():
            started = _process_start(self.pid)
            if started is None:
                return f"its process {self.pid} on {self.host} is gone"
            if self.process_start is not None and abs(started - self.process_start) > 1.0:
                return f"its process {self.pid} on {self.host} is gone (the pid now belongs to another process)"
        if now - self.heartbeat > STALE_AFTER:
            return f"its heartbeat is {now - self.heartbeat:.0f} s old (limit {STALE_AFTER:.0f} s)"
        return None

    def describe(self) -> str:
        job = f", Slurm job {self.slurm_job}" if self.slurm_job else ""
        return f"host {self.host}, pid {self.pid}{job}"


def claim_path(folder: Path, run_id: str) -> Path:
    return Path(folder) / f"{run_id}{SUFFIX}"


def read_claim(path: Path) -> Optional[ClaimInfo]:
    """The claim at ``path``, or None when there is none. A file that is not a claim (hand-edited,
    another program's) counts as stale, so that it cannot block a run forever."""
    try:
        data = json.loads(path.read_text())
        return ClaimInfo(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        return ClaimInfo(run_id=path.stem, host="?", pid=-1, process_start=None, token="unreadable",
                         claimed_at=0.0, heartbeat=0.0)


def _write_temp(folder: Path, info: ClaimInfo) -> str:
    """The claim written to a new temporary file in ``folder``; removed again when the writing is
    interrupted (an error, or SIGTERM's :class:`benchmark.interrupt.Terminated` in this thread)."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-claim-", dir=folder)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(info), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
    except BaseException:
        _remove(tmp)
        raise
    return tmp


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class Claim:
    """A claim held by this process. Use :func:`try_claim` to take one; ``release()`` removes it
    (only if it is still ours); ``update(**status)`` records what the run is on and refreshes the
    heartbeat when it is due. A background thread keeps the heartbeat fresh during long epochs."""

    def __init__(self, folder: Path, info: ClaimInfo):
        self.folder, self.info = Path(folder), info
        self.path = claim_path(folder, info.run_id)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-{info.run_id}")
        self._thread.start()
        HELD[info.run_id] = self

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self.refresh()

    def owned(self) -> bool:
        current = read_claim(self.path)
        return current is not None and current.token == self.info.token

    def refresh(self) -> bool:
        """Rewrite the heartbeat; False (and nothing written) when the claim is no longer ours."""
        with self._lock:
            if self._stop.is_set() or not self.owned():
                return False
            self.info.heartbeat = time.time()
            tmp = None
            try:
                tmp = _write_temp(self.folder, self.info)
                os.replace(tmp, self.path)
            except OSError:
                return False   # a full or read-only disk: the heartbeat ages; the run goes on
            finally:
                if tmp is not None and os.path.exists(tmp):
                    _remove(tmp)   # not renamed: an error, or interrupted between write and rename
            return True

    def update(self, **status: Any) -> None:
        self.info.status.update(status)
        if time.time() - self.info.heartbeat >= 2.0:   # what the run is on, at most every 2 s
            self.refresh()

    def release(self) -> None:
        """Remove the claim if it is still ours. Safe in a signal handler: it waits at most a
        second for a heartbeat write the signal interrupted (three when the heartbeat thread is
        the one writing, so that no temporary file outlives the process)."""
        self._stop.set()
        HELD.pop(self.info.run_id, None)
        locked = self._lock.acquire(timeout=1.0)
        if not locked and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)   # a heartbeat write slowed by load: let it finish, so that
            #                                  the process does not exit with its temporary file left behind
        try:
            if self.owned():
                self.path.unlink(missing_ok=True)
        finally:
            if locked:
                self._lock.release()


HELD: Dict[str, Claim] = {}   # the claims this process holds (released on a preemption signal)


def release_all() -> None:
    for claim in list(HELD.values()):
        claim.release()


def _new_info(run_id: str) -> ClaimInfo:
    now = time.time()
    return ClaimInfo(run_id=run_id, host=socket.gethostname(), pid=os.getpid(),
                     process_start=_process_start(os.getpid()), token=uuid.uuid4().hex, claimed_at=now,
                     heartbeat=now, slurm_job=os.environ.get("SLURM_JOB_ID"))


def _link_new(folder: Path, info: ClaimInfo) -> bool:
    tmp = _write_temp(folder, info)
    try:
        os.link(tmp, claim_path(folder, info.run_id))
        return True
    except FileExistsError:
        return False
    finally:
        _remove(tmp)


@dataclass
class Outcome:
    """What :func:`try_claim` found: ``claim`` when this process now holds the run, else the
    live claim of another process; ``took_over`` names the stale claim that was replaced."""

    claim: Optional[Claim] = None
    holder: Optional[ClaimInfo] = None
    took_over: Optional[str] = None


def try_claim(folder: Path, run_id: str) -> Outcome:
    """Claim ``run_id`` in ``folder`` atomically, taking over a stale claim."""
    folder = Path(folder)
    info = _new_info(run_id)
    if _link_new(folder, info):
        return Outcome(Claim(folder, info))
    path = claim_path(folder, run_id)
    held = read_claim(path)
    if held is None:                      # released between our link and our read: try once more
        return Outcome(Claim(folder, info)) if _link_new(folder, info) else Outcome(holder=read_claim(path))
    reason = held.is_stale()
    if reason is None:
        return Outcome(holder=held)
    lock = folder / f".{run_id}.takeover"
    try:
        lock.mkdir()
    except FileExistsError:               # someone is taking it over right now (or died doing so)
        if time.time() - lock.stat().st_mtime > STALE_AFTER:
            lock.rmdir()
        return Outcome(holder=held)
    try:
        again = read_claim(path)
        if again is not None and again.token != held.token:
            return Outcome(holder=again)   # a fresh claim replaced the stale one meanwhile
        if again is not None:
            os.replace(path, folder / f".{run_id}.stale-{held.token}")
            (folder / f".{run_id}.stale-{held.token}").unlink(missing_ok=True)
        if not _link_new(folder, info):
            return Outcome(holder=read_claim(path))
        return Outcome(Claim(folder, info), took_over=f"{held.describe()}: {reason}")
    finally:
        lock.rmdir()


def live_holder(folder: Path, run_id: str) -> Optional[ClaimInfo]:
    """The live claim on ``run_id``, or None when it is unclaimed or its claim is stale."""
    held = read_claim(claim_path(folder, run_id))
    return held if held is not None and held.is_stale() is None else None
