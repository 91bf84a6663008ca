"""End-to-end CLI runs in a temporary folder, in a subprocess like a user's shell."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def cli(*args, cwd, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_run_rerun_and_leaderboard(tiny_suite, tmp_path):
    first = cli("run", f"suite={tiny_suite}", "--no-progress", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "### csbm" in first.stdout and "### minigc" in first.stdout
    records = list((tmp_path / "results" / "tiny").glob("*.json"))
    assert len(records) == 8
    again = cli("run", f"suite={tiny_suite}", "--no-progress", cwd=tmp_path)
    assert again.returncode == 0
    assert "all 8 runs already finished" in again.stderr
    assert again.stdout == first.stdout
    board = cli("leaderboard", f"output.dir={tmp_path / 'results'}", "format=csv", cwd=tmp_path)
    assert board.returncode == 0 and len(board.stdout.strip().splitlines()) == 5  # header + 4 configurations
    show = cli("show", f"suite={tiny_suite}", cwd=tmp_path)
    assert show.returncode == 0 and show.stdout.count("finished") == 8


@pytest.mark.slow
def test_interrupted_sweep_resumes_without_duplicates(tiny_suite, tmp_path):
    args = [f"suite={tiny_suite}", "train.epochs=300", "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "benchmark", "run", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    folder = tmp_path / "results" / "tiny"
    deadline = time.time() + 240
    while time.time() < deadline and len(list(folder.glob("[!.]*.json"))) < 2:   # not .tmp-* being written
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    done = {p.name for p in folder.glob("[!.]*.json")}
    assert proc.returncode == 130, err
    assert "Re-run the same command" in err
    assert 2 <= len(done) < 8
    assert not list(folder.glob(".tmp-*"))
    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}
    rest = cli("run", *args, cwd=tmp_path)
    assert rest.returncode == 0, rest.stderr
    after = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}
    assert len(after) == 8
    assert all(after[name] == mtimes[name] for name in done)  # finished runs were not redone


@pytest.mark.parametrize("args, message", [
    (["run", "suite=nope"], "Unknown suite 'nope'"),
    (["run", "suite=quickstart", "model.layerz=3"], "Did you mean 'model.layers'"),
    (["run", "suite=quickstart", "model.layers=abc"], "expects int"),
    (["run", "suite=quickstart", "data.name=pubmed", "data.download=false", "data.mirror=null"], "ind.pubmed.allx"),
    (["run", "suite=quickstart", "train.device=cuda:0"] if not __import__("torch").cuda.is_available()
     else ["run", "suite=quickstart", "train.device=gpu"], "train.device"),
    (["leaderboard", "suite=quickstart", "format=xml"], "Unknown leaderboard format"),
    (["run", "suite=deep_gat_quick", "model.norm=maxnorm"], "not available for model 'gat'"),
    (["run", "suite=deep_gat_quick", "data.missing_rate=150"], "missing_rate"),
    (["run", "suite=deep_gat_quick", "model.layers=0"], "at least 1"),
])
def test_user_errors_exit_2_without_traceback(args, message, tmp_path, monkeypatch):
    result = cli(*args, f"data.root={tmp_path / 'data'}" if args[0] == "run" else "output.dir=.", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "results").exists()  # nothing ran, nothing written


def test_help_and_list(tmp_path):
    for args in (["--help"], ["run", "--help"], ["show", "--help"], ["leaderboard", "--help"]):
        result = cli(*args, cwd=tmp_path)
        assert result.returncode == 0 and "usage" in result.stdout
    listing = cli("list", cwd=tmp_path)
    assert listing.returncode == 0
    for word in ("quickstart", "gat", "csbm", "minigc", "cora", "model.layers"):
        assert word in listing.stdout
