"""The local launcher end to end, in subprocesses like a user's shell: a pool of workers, two
invocations on one folder, SIGKILL mid-run and resume to the identical record, Ctrl-C, folders
that cannot be written, saved weights."""
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from benchmark.suites import load_suite
from benchmark.sweep import expand

REPO = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(r"(\d+) runs — (\d+) executed here, (\d+) already finished, (\d+) running elsewhere")
# fields that say when, where and how fast, not what was computed
VOLATILE = {"started_at", "finished_at", "wall_seconds", "seconds_per_epoch", "peak_memory_mb", "argv", "pid",
            "resumed_from_epoch", "git_commit"}

ONE_RUN = """
description: one slow-enough run
config:
  model: {name: gat, hidden: 8, heads: 2, layers: 3, dropout: 0.3}
  data: {name: minigc, num_graphs: 80}
  train: {epochs: 400, patience: 0, lr_patience: 30, batch_size: 8, diagnostics_every: 40,
          checkpoint_every: 1, checkpoint_seconds: 0}
  seeds: [0]
"""


def start(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "benchmark", "run", *args, "--no-progress"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def cli(*args, cwd, timeout=600):
    proc = start(*args, cwd=cwd)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def summary(err):
    match = SUMMARY.search(err)
    assert match, err
    return tuple(int(x) for x in match.groups())


def records(folder):
    return {p.stem: json.loads(p.read_text()) for p in Path(folder).glob("*.json") if not p.name.startswith(".")}


def comparable(record):
    kept = {k: v for k, v in record.items() if k not in VOLATILE}
    kept["config"] = {**record["config"], "output": {**record["config"]["output"], "dir": None}}   # where, not what
    kept["history"] = [{k: v for k, v in e.items() if k != "seconds"} for e in record["history"]]
    return kept


@pytest.fixture
def one_run(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(textwrap.dedent(ONE_RUN))
    return path


@pytest.mark.slow
def test_two_workers_run_a_sweep_with_one_thread_each(tiny_suite, tmp_path):
    code, _, err = cli(f"suite={tiny_suite}", "workers=2", cwd=tmp_path)
    assert code == 0, err
    assert summary(err) == (8, 8, 0, 0)
    found = records(tmp_path / "results" / "tiny")
    assert len(found) == 8
    assert len({r["pid"] for r in found.values()}) == 2                  # two worker processes
    assert all("1 threads" in r["device"] for r in found.values())       # 2 cores / 2 workers
    assert not list((tmp_path / "results" / "tiny").glob("*.claim"))
    again = cli(f"suite={tiny_suite}", "workers=2", cwd=tmp_path)
    assert summary(again[2]) == (8, 0, 8, 0)


@pytest.mark.slow
def test_two_invocations_on_one_folder_execute_each_run_once(tiny_suite, tmp_path):
    args = [f"suite={tiny_suite}", "train.epochs=60", "threads=1"]
    first, second = start(*args, cwd=tmp_path), start(*args, cwd=tmp_path)
    (_, err1), (_, err2) = first.communicate(timeout=600), second.communicate(timeout=600)
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    a, b = summary(err1), summary(err2)
    assert a[1] + b[1] == 8                       # each run executed by exactly one of them
    found = records(tmp_path / "results" / "tiny")
    assert len(found) == 8 and {r["pid"] for r in found.values()} <= {first.pid, second.pid}


@pytest.mark.slow
def test_sigkill_mid_run_resumes_to_the_identical_record(one_run, tmp_path):
    code, _, err = cli(f"suite={one_run}", "output.dir=uninterrupted", "threads=1", cwd=tmp_path)
    assert code == 0, err
    (reference,) = records(tmp_path / "uninterrupted" / "one").values()

    proc = start(f"suite={one_run}", "output.dir=killed", "threads=1", cwd=tmp_path)
    ckpt = tmp_path / "killed" / "one" / f"{reference['run_id']}.ckpt.pt"
    deadline = time.time() + 300
    epoch = 0
    while time.time() < deadline and epoch < 30:
        time.sleep(0.05)
        try:
            epoch = torch.load(ckpt, weights_only=False)["loop"]["epoch"]
        except (OSError, EOFError, RuntimeError, KeyError):
            pass
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert 30 <= epoch < 400 and not records(tmp_path / "killed" / "one")   # killed mid-training
    assert (tmp_path / "killed" / "one" / f"{reference['run_id']}.claim").exists()   # left behind by the kill

    code, _, err = cli(f"suite={one_run}", "output.dir=killed", "threads=1", cwd=tmp_path)
    assert code == 0, err
    assert "took over a stale claim" in err and "is gone" in err
    (resumed,) = records(tmp_path / "killed" / "one").values()
    assert resumed["resumed_from_epoch"] >= 30
    assert comparable(resumed) == comparable(reference)
    assert not ckpt.exists()                      # the checkpoint goes when the record is written


@pytest.mark.slow
def test_ctrl_c_stops_every_worker_and_keeps_what_finished(tiny_suite, tmp_path):
    args = [f"suite={tiny_suite}", "workers=2", "train.epochs=300"]
    proc = start(*args, cwd=tmp_path)
    folder = tmp_path / "results" / "tiny"
    deadline = time.time() + 300
    while time.time() < deadline and len(records(folder)) < 1:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Re-run the same command" in err
    assert not list(folder.glob("*.claim"))            # the workers released their claims
    assert not list(folder.glob(".tmp-*"))             # and left no half-written file
    done = set(records(folder))
    assert 1 <= len(done) < 8
    time.sleep(0.5)
    assert not subprocess.run(["pgrep", "-f", f"multiprocessing.spawn.*{os.getpid()}"],
                              capture_output=True).stdout   # no worker left behind (none is our child)


@pytest.mark.parametrize("key, target", [
    ("output.dir", "afile"),                      # a file, not a folder
    ("output.dir", "afile/below"),                # below a file: cannot be created
    ("output.dir", "/proc/dgl-ma-cannot-create"),  # a filesystem that takes no new folder (even for root)
    ("data.root", "afile"),
])
def test_unusable_folders_are_exit_2_before_any_run(key, target, tiny_suite, tmp_path):
    (tmp_path / "afile").write_text("x")
    target = tmp_path / target
    code, _, err = cli(f"suite={tiny_suite}", f"{key}={target}", cwd=tmp_path, timeout=300)
    assert code == 2, err
    assert key in err and "cannot be used" in err and "Traceback" not in err
    assert not list(tmp_path.rglob("*.json"))


def test_missing_engines_are_exit_2_naming_what_to_install(tiny_suite, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH=os.path.dirname(sys.executable))   # no sbatch here
    slurm = subprocess.run([sys.executable, "-m", "benchmark", "run", f"suite={tiny_suite}", "launcher=slurm"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert slurm.returncode == 2 and "sbatch" in slurm.stderr and "Traceback" not in slurm.stderr
    blocker = tmp_path / "noray"
    (blocker / "ray").mkdir(parents=True)
    (blocker / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    env = dict(os.environ, PYTHONPATH=f"{blocker}{os.pathsep}{REPO}")   # an import of ray that fails
    ray = subprocess.run([sys.executable, "-m", "benchmark", "run", f"suite={tiny_suite}", "launcher=ray"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert ray.returncode == 2 and "dgl-ma[ray]" in ray.stderr and "not installed" in ray.stderr and "Traceback" not in ray.stderr


def test_execution_keys_do_not_change_run_ids(tiny_suite):
    suite = load_suite(str(tiny_suite))
    plain = [r.run_id for r in expand(suite, {}).runs]
    varied = expand(suite, {"launcher": "ray", "workers": 4, "threads": 2, "slurm.partition": "gpu",
                            "slurm.runs_per_job": 3, "ray.num_cpus": 0.5, "train.checkpoint_every": 1,
                            "train.checkpoint_seconds": 0, "output.save_model": "both"})
    assert [r.run_id for r in varied.runs] == plain


def test_saved_weights_load_in_one_line(tiny_suite, tmp_path):
    from benchmark.runner import load_model
    from dgl_ma.metrics import METRICS

    code, _, err = cli(f"suite={tiny_suite}", "output.save_model=both", "data.name=csbm", "model.layers=2",
                       "seeds=[0]", cwd=tmp_path)
    assert code == 0, err
    (path,) = (tmp_path / "results" / "tiny").glob("*.json")
    record = json.loads(path.read_text())
    assert record["saved_models"] == ["best", "final"]
    model, task = load_model(path, "final")
    graph = model.prepare_graph(task.graph)
    with torch.no_grad():
        out = model(graph, graph.ndata["feat"])
    mask = graph.ndata["test_mask"]
    accuracy = METRICS.get("accuracy").compute(out[mask], graph.ndata["label"][mask])
    assert accuracy == pytest.approx(record["history"][-1]["test_accuracy"])


def test_a_record_that_cannot_be_written_is_not_a_lost_run(tiny_suite, tmp_path, monkeypatch):
    """A full disk at the moment of writing the record: the run stays checkpointed (its finished
    state) and unclaimed; the next invocation writes the record without training again."""
    from benchmark.results import ResultStore
    from benchmark.runner import execute

    plan = expand(load_suite(str(tiny_suite)), {"output.dir": str(tmp_path / "out"), "data.name": "csbm",
                                                "model.layers": 1, "seeds": [0], "train.checkpoint_seconds": 0})
    (run,) = plan.runs

    def disk_full(self, record):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ResultStore, "write", disk_full)
    first = execute(plan, progress=False)
    assert not first.executed and any("could not be written" in note for note in first.notes)
    assert (plan.output_dir / f"{run.run_id}.ckpt.pt").exists()
    assert not (plan.output_dir / f"{run.run_id}.claim").exists()
    monkeypatch.undo()
    second = execute(plan, progress=False)
    (record,) = second.executed
    assert record["status"] == "ok" and record["resumed_from_epoch"] == record["epochs_run"] == 3
    assert not (plan.output_dir / f"{run.run_id}.ckpt.pt").exists()
