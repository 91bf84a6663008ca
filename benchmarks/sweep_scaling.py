"""Sweep throughput and checkpoint cost, measured as a user runs them (a script, not a timed
test; the numbers go to the README's "Running at scale" section).

    python -m benchmarks.sweep_scaling throughput      # workers=1 vs workers=2, same 12-run sweep
    python -m benchmarks.sweep_scaling side_by_side    # two sweeps at once vs one alone
    python -m benchmarks.sweep_scaling engines         # the sweep through launcher=ray and launcher=slurm
    python -m benchmarks.sweep_scaling checkpoint      # one checkpoint vs one epoch (deep GAT 32, ZINC GT)

Each command prints one line per measurement. ``engines`` needs a Slurm cluster (export what
../shared/slurm/start-local-slurm prints) and Ray installed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parent.parent
# CPU-bound, 12 runs of about 20 s each: a 3-layer GAT on a 3000-node CSBM graph (long enough that
# the seconds of start-up, imports in each worker, weigh as little as in a real sweep).
SWEEP = """
description: sweep-throughput measurement (12 CPU-bound runs)
config:
  model: {name: gat, hidden: 16, heads: 4, layers: 3}
  data: {name: csbm, num_nodes: 3000}
  train: {epochs: 300, patience: 0, lr_patience: 0}
  seeds: [0, 1, 2, 3, 4, 5]
grid:
  model.norm: [none, lipschitz]
"""


def _suite(folder: Path) -> Path:
    path = folder / "scaling.yaml"
    path.write_text(textwrap.dedent(SWEEP))
    return path


def _run(args, cwd, wait=True):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "benchmark", "run", *args, "--no-progress"], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if not wait:
        return proc
    _, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(err)
    return proc


def _sweep(folder: Path, out: str, *extra) -> dict:
    """Wall seconds of one sweep and the median training s/epoch of its runs."""
    tick = time.perf_counter()
    _run([f"suite={_suite(folder)}", f"output.dir={out}", *extra], cwd=folder)
    wall = time.perf_counter() - tick
    records = [json.loads(p.read_text()) for p in (folder / out / "scaling").glob("[!.]*.json")]
    return {"wall": wall, "runs": len(records), "s_per_epoch": median(r["seconds_per_epoch"] for r in records)}


def throughput(folder: Path) -> None:
    one = _sweep(folder, "w1", "workers=1")
    single = _sweep(folder, "w1t1", "workers=1", "threads=1")
    two = _sweep(folder, "w2", "workers=2")
    print(f"workers=1 (threads=auto: {os.cpu_count()}): {one['wall']:.1f} s for {one['runs']} runs, "
          f"{one['s_per_epoch']:.4f} s/epoch")
    print(f"workers=1 threads=1: {single['wall']:.1f} s for {single['runs']} runs, {single['s_per_epoch']:.4f} s/epoch")
    print(f"workers=2 (threads=auto: 1 each): {two['wall']:.1f} s for {two['runs']} runs, {two['s_per_epoch']:.4f} s/epoch")
    print(f"throughput workers=2 / workers=1: {one['wall'] / two['wall']:.2f}x "
          f"(/ workers=1 threads=1: {single['wall'] / two['wall']:.2f}x)")


def side_by_side(folder: Path) -> None:
    solo = _sweep(folder, "solo")
    tick = time.perf_counter()
    procs = [_run([f"suite={_suite(folder)}", f"output.dir=pair{i}"], cwd=folder, wait=False) for i in (0, 1)]
    for proc in procs:
        proc.communicate()
    wall = time.perf_counter() - tick
    pair = [median(json.loads(p.read_text())["seconds_per_epoch"]
                   for p in (folder / f"pair{i}" / "scaling").glob("[!.]*.json")) for i in (0, 1)]
    print(f"solo: {solo['s_per_epoch']:.4f} s/epoch ({solo['wall']:.1f} s); side by side: "
          f"{pair[0]:.4f} and {pair[1]:.4f} s/epoch ({wall:.1f} s for both)")
    print(f"each keeps {solo['s_per_epoch'] / pair[0]:.2f}x and {solo['s_per_epoch'] / pair[1]:.2f}x of its solo speed")


def engines(folder: Path) -> None:
    local = _sweep(folder, "local", "workers=2")
    ray = _sweep(folder, "ray", "launcher=ray", "workers=2", "ray.num_cpus=1")
    slurm = _sweep(folder, "slurm", "launcher=slurm", "workers=2", "slurm.mem_gb=1", "slurm.time_min=30")
    batched = _sweep(folder, "slurm6", "launcher=slurm", "workers=2", "slurm.mem_gb=1", "slurm.time_min=30",
                     "slurm.runs_per_job=6")
    for name, m in (("local", local), ("ray", ray), ("slurm", slurm), ("slurm runs_per_job=6", batched)):
        extra = (m["wall"] - local["wall"]) / m["runs"] * 2   # two runs at a time
        print(f"{name}: {m['wall']:.1f} s for {m['runs']} runs ({m['wall'] / local['wall']:.2f}x local), "
              f"overhead per run {extra:+.2f} s")


def checkpoint(folder: Path) -> None:
    """Seconds of one checkpoint vs one training epoch, one thread; cost at the default interval
    (every 5 epochs) = checkpoint / (5 x epoch)."""
    import torch

    from benchmark.config import defaults, merge, to_run_config
    from dgl_ma.data import load_task
    from dgl_ma.models import build_model
    from dgl_ma.train.checkpoint import Checkpointer, rng_state
    from dgl_ma.train.engine import _runner

    torch.set_num_threads(1)
    cases = {
        "deep_gat cora 32 layers (64 x 4, reference width)": {
            "model.name": "gat", "model.layers": 32, "model.hidden": 64, "model.heads": 4, "data.name": "cora",
            "data.missing_rate": 100},
        "zinc gt (10 layers, 64 wide, batch 128)": {
            "model.name": "gt", "model.layers": 10, "model.heads": 8, "model.hidden": 8, "model.norm": "batchnorm",
            "data.name": "zinc", "train.batch_size": 128},
    }
    for name, keys in cases.items():
        cfg = to_run_config(merge(defaults(), keys, "the measurement"))
        task = load_task(cfg.data, 0)
        model = build_model(cfg.model, task.info)
        runner = _runner(model, task, cfg.train, 0)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
        epochs = []
        for _ in range(2 if cfg.data.name == "zinc" else 5):
            tick = time.perf_counter()
            runner.train_epoch(model, optimizer)
            runner.evaluate(model)
            epochs.append(time.perf_counter() - tick)
        ckpt = Checkpointer(folder / "c.pt", every=5)
        saves = []
        for _ in range(5):
            tick = time.perf_counter()
            ckpt.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                       "scheduler": scheduler.state_dict(), "loop": {"history": [{}] * 1000}, "rng": rng_state()})
            saves.append(time.perf_counter() - tick)
        epoch, save = median(epochs), median(saves)
        print(f"{name}: epoch {epoch:.2f} s, checkpoint {save * 1000:.0f} ms ({ckpt.path.stat().st_size / 2**20:.1f} MiB), "
              f"cost every 5 epochs {100 * save / (5 * epoch):.2f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["throughput", "side_by_side", "engines", "checkpoint"])
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        globals()[ns.what](Path(tmp))


if __name__ == "__main__":
    main()
