"""Run claims on real files and real processes: one winner among racing processes, live claims
respected, stale ones (dead pid on this host, old heartbeat anywhere, unreadable file) taken over."""
import json
import multiprocessing
import socket
import subprocess
import sys
import time
from dataclasses import asdict

from benchmark import claims
from benchmark.claims import ClaimInfo, claim_path, read_claim, try_claim


def write_claim(folder, run_id, **fields):
    now = time.time()
    info = ClaimInfo(run_id=run_id, host=socket.gethostname(), pid=1, process_start=None, token="t-old",
                     claimed_at=now, heartbeat=now)
    for key, value in fields.items():
        setattr(info, key, value)
    claim_path(folder, run_id).write_text(json.dumps(asdict(info)))


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claim_is_exclusive_and_released(tmp_path):
    first = try_claim(tmp_path, "r1")
    assert first.claim is not None and first.took_over is None
    second = try_claim(tmp_path, "r1")                       # this process is alive: a live claim
    assert second.claim is None and second.holder.token == first.claim.info.token
    held = read_claim(claim_path(tmp_path, "r1"))
    assert (held.host, held.pid) == (socket.gethostname(), first.claim.info.pid)
    first.claim.release()
    assert not claim_path(tmp_path, "r1").exists()
    assert try_claim(tmp_path, "r1").claim is not None


def test_release_leaves_a_claim_that_is_no_longer_ours(tmp_path):
    mine = try_claim(tmp_path, "r1").claim
    write_claim(tmp_path, "r1", pid=mine.info.pid, process_start=mine.info.process_start, token="someone-else")
    assert not mine.refresh()          # the heartbeat refuses to overwrite another claim
    mine.release()
    assert read_claim(claim_path(tmp_path, "r1")).token == "someone-else"


def test_dead_process_on_this_host_is_stale(tmp_path):
    write_claim(tmp_path, "r1", pid=dead_pid())
    taken = try_claim(tmp_path, "r1")
    assert taken.claim is not None and "is gone" in taken.took_over
    assert read_claim(claim_path(tmp_path, "r1")).token == taken.claim.info.token
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no lock or stale file left
    taken.claim.release()


def test_reused_pid_is_stale(tmp_path):
    import os

    write_claim(tmp_path, "r1", pid=os.getpid(), process_start=12345.0)   # our pid, but another start time
    assert "another process" in try_claim(tmp_path, "r1").took_over


def test_heartbeat_age_decides_for_other_hosts(tmp_path):
    now = time.time()
    write_claim(tmp_path, "fresh", host="node-17", pid=4242, heartbeat=now - 5)
    write_claim(tmp_path, "old", host="node-17", pid=4242, heartbeat=now - claims.STALE_AFTER - 1)
    assert try_claim(tmp_path, "fresh").claim is None
    taken = try_claim(tmp_path, "old")
    assert taken.claim is not None and "heartbeat" in taken.took_over
    assert claims.live_holder(tmp_path, "fresh").host == "node-17"


def test_unreadable_claim_is_stale(tmp_path):
    claim_path(tmp_path, "r1").write_text("{not json")
    assert try_claim(tmp_path, "r1").claim is not None


def _race(folder, run_ids, queue):
    won = []
    for run_id in run_ids:
        taken = try_claim(folder, run_id)
        if taken.claim is not None:
            won.append(run_id)
            taken.claim._stop.set()   # keep the file: the others must see it as live
    queue.put(won)
    time.sleep(1.0)                   # stay alive while the others check


def test_racing_processes_claim_each_run_once(tmp_path):
    run_ids = [f"run{i}" for i in range(30)]
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(tmp_path), run_ids, queue)) for _ in range(4)]
    for proc in procs:
        proc.start()
    won = [run_id for _ in procs for run_id in queue.get(timeout=120)]
    for proc in procs:
        proc.join(timeout=60)
    assert sorted(won) == sorted(run_ids)     # every run won by exactly one process


def test_an_interrupted_claim_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    """SIGTERM raises Terminated in whatever the main thread is doing, a claim write included:
    while the temporary file is written, and between the heartbeat's write and its rename."""
    from benchmark.interrupt import Terminated

    def interrupted(*args, **kwargs):
        raise Terminated(143)

    with monkeypatch.context() as patch:
        patch.setattr(claims.json, "dump", interrupted)
        try:
            try_claim(tmp_path, "r1")
        except Terminated:
            pass
        else:
            raise AssertionError("the interruption was swallowed")
    assert list(tmp_path.iterdir()) == []

    held = try_claim(tmp_path, "r2").claim
    with monkeypatch.context() as patch:
        patch.setattr(claims.os, "replace", interrupted)
        try:
            held.refresh()
        except Terminated:
            pass
        else:
            raise AssertionError("the interruption was swallowed")
    assert [p.name for p in tmp_path.iterdir()] == ["r2.claim"]
    held.release()
    assert list(tmp_path.iterdir()) == []
