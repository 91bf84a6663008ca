"""Automatic threads shared among the runs of one host (benchmark.thread_share), with real
processes standing for the other runs."""
import subprocess
import sys

import psutil
import pytest
import torch

from benchmark.thread_share import ThreadShare


def entry_for(folder, pid):
    path = folder / f"{pid}-{psutil.Process(pid).create_time():.3f}"
    path.touch()
    return path


@pytest.fixture
def other_run():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def threads_restored():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_the_cores_are_divided_among_the_live_runs_and_given_back(tmp_path, other_run, threads_restored):
    torch.set_num_threads(4)
    with ThreadShare(4, tmp_path) as share:
        assert share.live_runs() == 1 and torch.get_num_threads() == 4
        entry_for(tmp_path, other_run.pid)
        assert share.rebalance(force=True) == 2 and torch.get_num_threads() == 2
        other_run.kill()
        other_run.wait()
        assert share.rebalance(force=True) == 4                     # the other run ended: all cores back
        assert not (tmp_path / f"{other_run.pid}").exists() and len(list(tmp_path.iterdir())) == 1
        assert "threads=2-4" in share.describe()
    assert list(tmp_path.iterdir()) == []                           # unregistered on exit


def test_a_run_starts_with_no_more_than_its_share_nor_its_launchers_count(tmp_path, other_run, threads_restored):
    entry_for(tmp_path, other_run.pid)
    torch.set_num_threads(2)
    with ThreadShare(2, tmp_path) as share:
        assert torch.get_num_threads() == 1 and share.describe() == ""
    torch.set_num_threads(1)                                        # launcher: 2 cores / 2 workers
    with ThreadShare(2, tmp_path / "alone"):
        assert torch.get_num_threads() == 1


def test_dead_and_reused_pids_do_not_count(tmp_path, other_run, threads_restored):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / f"{gone.pid}-12345.000").touch()                      # a pid that ended
    (tmp_path / f"{other_run.pid}-1.000").touch()                     # a live pid, other start time
    (tmp_path / "not-a-registration").touch()
    torch.set_num_threads(2)
    with ThreadShare(2, tmp_path) as share:
        assert share.live_runs() == 1 and torch.get_num_threads() == 2
    assert list(tmp_path.iterdir()) == []
