"""The Slurm and Ray launchers against real engines: a local single-node Slurm
(../shared/slurm/start-local-slurm; skipped with its ERROR line when it cannot start) and a local
Ray cluster. A quick suite end to end on each; a Slurm job cancelled with scancel mid-training is
resumed from its checkpoint by the next run."""
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "slurm"
SLURM_DIR = "/tmp/dgl-ma-test-slurm"
SUMMARY = re.compile(r"(\d+) runs — (\d+) executed here, (\d+) already finished, (\d+) running elsewhere")

QUICK = """
description: quick suite for the cluster launchers
config:
  model: {name: gat, hidden: 4, heads: 2, layers: 1}
  data: {name: csbm, num_nodes: 60}
  train: {epochs: 5, patience: 0}
  seeds: [0, 1]
grid:
  model.layers: [1, 2]
"""
SLOW = """
description: one run long enough to cancel
config:
  model: {name: gat, hidden: 8, heads: 2, layers: 3}
  data: {name: minigc, num_graphs: 80}
  train: {epochs: 300, patience: 0, batch_size: 8, checkpoint_every: 1, checkpoint_seconds: 0}
  seeds: [0]
"""


def suite(tmp_path, name, text):
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def cli(*args, cwd, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "benchmark", "run", *args, "--no-progress"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def records(folder):
    return [json.loads(p.read_text()) for p in Path(folder).glob("*.json") if not p.name.startswith(".")]


def _cannot_start(reason: str) -> None:
    """Skip with start-local-slurm's ERROR line; in CI (DGL_MA_REQUIRE_SLURM=1) fail instead."""
    if os.environ.get("DGL_MA_REQUIRE_SLURM") == "1":
        pytest.fail(f"local Slurm could not start: {reason}")
    pytest.skip(f"local Slurm could not start: {reason}")


@pytest.fixture(scope="session")
def slurm_cluster():
    try:
        proc = subprocess.run(["bash", str(SHARED / "start-local-slurm"), SLURM_DIR], capture_output=True,
                              text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as err:
        _cannot_start(str(err))
    if proc.returncode != 0:
        _cannot_start(next((line for line in proc.stderr.splitlines() if "ERROR:" in line), proc.stderr[-300:]))
    env = dict(line[len("export "):].split("=", 1) for line in proc.stdout.splitlines() if line.startswith("export "))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    subprocess.run(["bash", str(SHARED / "stop-local-slurm"), SLURM_DIR], timeout=120)
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


@pytest.mark.slow
def test_slurm_runs_a_quick_suite_as_a_job_array(slurm_cluster, tmp_path):
    quick = suite(tmp_path, "quick", QUICK)
    result = cli(f"suite={quick}", "launcher=slurm", "workers=2", "slurm.runs_per_job=2", "slurm.time_min=10",
                 "slurm.mem_gb=1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert SUMMARY.search(result.stderr).groups() == ("4", "4", "0", "0")
    found = records(tmp_path / "results" / "quick")
    assert len(found) == 4 and all(r["status"] == "ok" for r in found)
    assert all("1 threads" in r["device"] for r in found)                 # slurm.cpus_per_task
    assert len(list((tmp_path / "results" / "quick" / ".submitit").glob("*_log.out"))) == 2   # 2 array tasks


@pytest.mark.slow
def test_slurm_job_cancelled_mid_run_resumes_from_its_checkpoint(slurm_cluster, tmp_path):
    slow = suite(tmp_path, "slow", SLOW)
    folder = tmp_path / "results" / "slow"
    first = subprocess.run([sys.executable, "-m", "benchmark", "run", f"suite={slow}", "launcher=slurm",
                            "slurm.time_min=10", "slurm.mem_gb=1", "--detach"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert first.returncode == 0, first.stderr
    job_id = next(iter(json.loads((folder / ".submitit" / "submitted.json").read_text()).values()))
    epoch, deadline = 0, time.time() + 300
    while time.time() < deadline and epoch < 20:
        time.sleep(0.2)
        for ckpt in folder.glob("*.ckpt.pt"):
            try:
                epoch = torch.load(ckpt, weights_only=False)["loop"]["epoch"]
            except (OSError, EOFError, RuntimeError, KeyError):
                pass
    subprocess.run(["scancel", job_id], check=True, timeout=60)
    assert 20 <= epoch and not records(folder)
    # wait until Slurm has ended the job (COMPLETING can last seconds): while its process lives, its claim
    # is a live one and a rerun rightly leaves the run alone
    deadline = time.time() + 120
    while time.time() < deadline and subprocess.run(["squeue", "-h", "-j", job_id], capture_output=True,
                                                    text=True, timeout=60).stdout.strip():
        time.sleep(0.5)
    # the cancelled job left its claim; on this (single) host its process is gone: the rerun takes it over
    again = cli(f"suite={slow}", "launcher=slurm", "slurm.time_min=10", "slurm.mem_gb=1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(records(folder)) == 1, again.stdout + again.stderr
    (record,) = records(folder)
    assert record["status"] == "ok" and record["resumed_from_epoch"] >= 20
    assert record["epochs_run"] == 300


@pytest.mark.slow
def test_ray_runs_a_quick_suite_on_a_local_cluster(tmp_path):
    quick = suite(tmp_path, "quick", QUICK)
    result = cli(f"suite={quick}", "launcher=ray", "workers=2", "ray.num_cpus=1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert SUMMARY.search(result.stderr).groups() == ("4", "4", "0", "0")
    found = records(tmp_path / "results" / "quick")
    assert len(found) == 4 and all(r["status"] == "ok" for r in found)
    assert all("1 threads" in r["device"] for r in found)                 # ray.num_cpus
    assert len({r["pid"] for r in found}) >= 1 and all(r["pid"] != os.getpid() for r in found)
