"""The GPU path by construction, checked on the CPU (no GPU with DGL here): no tensor on the
default device, no host sync per training batch.

On a GPU, a tensor that a model or the engine creates without ``device=`` lands on the default
device (the CPU) next to CUDA data, and the run fails or copies every step. While a model's
``prepare_graph``, forward and backward, the training engine (``fit``) and the analyses (capture,
attack) run, a :class:`~torch.overrides.TorchFunctionMode` records every tensor factory call
(``torch.zeros``, ``arange``, ``tensor``, ...) made directly by dgl-ma code without a device.
Parameters created in ``__init__`` are not watched: a model is built, then moved with ``.to``.
Likewise every read of a tensor's value on the host (``.item()``, ``float()``, ``bool()``, a
boolean mask index, ...) by dgl-ma code outside the host-side data pipeline (``dgl_ma/data``)
is counted: a mini-batch epoch reads once per epoch.
"""
import inspect
from pathlib import Path

import dgl
import pytest
import torch
from torch.overrides import TorchFunctionMode

import dgl_ma
from dgl_ma.analysis.attack import attack
from dgl_ma.analysis.capture import collect
from dgl_ma.data import DataConfig, load_task
from dgl_ma.data.task import GraphTask, TaskInfo
from dgl_ma.models import ModelConfig, build_model
from dgl_ma.train import TrainConfig, fit
from dgl_ma.train.engine import _runner, split_batches, task_loss

PACKAGE = str(Path(dgl_ma.__file__).resolve().parent)
DATA_PIPELINE = str(Path(PACKAGE) / "data")   # host-side by design (e.g. neighbour sampling on the CPU graph)
FACTORIES = {torch.zeros, torch.ones, torch.full, torch.empty, torch.arange, torch.eye, torch.rand,
             torch.randn, torch.randint, torch.linspace, torch.tensor, torch.as_tensor, torch.scalar_tensor}


HOST_READS = {torch.Tensor.item, torch.Tensor.__bool__, torch.Tensor.__float__, torch.Tensor.__int__,
              torch.Tensor.tolist, torch.Tensor.numpy, torch.Tensor.nonzero, torch.nonzero}


def _dgl_ma_caller():
    caller = inspect.currentframe().f_back.f_back
    return caller if str(Path(caller.f_code.co_filename).resolve()).startswith(PACKAGE) else None


class DefaultDeviceFactories(TorchFunctionMode):
    """Records ``file:line`` of dgl-ma code that creates a tensor on the default device
    (``sites``) and every host read of a tensor's value by dgl-ma code (``reads``)."""

    def __init__(self):
        super().__init__()
        self.sites, self.reads = set(), []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES and kwargs.get("device") is None:
            from_tensor = func is torch.as_tensor and args and isinstance(args[0], torch.Tensor)  # keeps its device
            caller = _dgl_ma_caller()
            if caller is not None and not from_tensor:
                self.sites.add(f"{Path(caller.f_code.co_filename).name}:{caller.f_lineno} {func.__name__}")
        bool_index = func is torch.Tensor.__getitem__ and isinstance(args[1], torch.Tensor) and args[1].dtype == torch.bool
        if func in HOST_READS or bool_index:
            caller = _dgl_ma_caller()
            if caller is not None and not str(Path(caller.f_code.co_filename).resolve()).startswith(DATA_PIPELINE):
                self.reads.append(f"{Path(caller.f_code.co_filename).name}:{caller.f_lineno} {func.__name__}")
        return func(*args, **kwargs)


def _mode_sees_a_boolean_mask_index() -> bool:
    """torch 2.13 routes ``x[mask]`` through a TorchFunctionMode; torch 2.2 (the Python 3.12 pin
    set) does not, so there boolean-mask reads cannot be observed (the 3.11 lane checks them)."""
    seen = []

    class Probe(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(func is torch.Tensor.__getitem__)
            return func(*args, **(kwargs or {}))

    x = torch.zeros(2)
    with Probe():
        x[x > 0]
    return any(seen)


SEES_BOOLEAN_INDEX = _mode_sees_a_boolean_mask_index()


def molecules(n_graphs: int = 24, labels: str = "regression") -> GraphTask:
    """Small molecule-like graphs with categorical atom and bond types (ZINC's input format);
    ``labels="multitask"``: three binary targets per graph with missing ones (TOX21's format)."""
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i in range(n_graphs):
        n = 4 + i % 5
        src = torch.arange(n)
        dst = (src + 1) % n
        g = dgl.graph((torch.cat([src, dst]), torch.cat([dst, src])), num_nodes=n)
        g.ndata["feat"] = torch.randint(0, 5, (n,), generator=gen)
        g.edata["feat"] = torch.randint(0, 3, (g.num_edges(),), generator=gen)
        if labels == "multitask":
            y = torch.tensor([1.0, 0.0, float("nan")]) if i % 2 else torch.tensor([float("nan"), 1.0, 0.0])
        else:
            y = torch.randn(1, generator=gen)
        samples.append((g, y))
    info = (TaskInfo("graph", 1, 3, "bce_masked", "rocauc", node_vocab=5, edge_vocab=3) if labels == "multitask"
            else TaskInfo("graph", 1, 1, "l1", "mae", node_vocab=5, edge_vocab=3))
    return GraphTask(info, samples[:16], samples[16:20], samples[20:])


@pytest.fixture(scope="module")
def tasks():
    return {"molecules": molecules(), "multitask": molecules(labels="multitask"), "csbm": load_task(DataConfig(name="csbm", num_nodes=60), 0),
            "minigc": load_task(DataConfig(name="minigc", num_graphs=40), 0)}


CASES = [("gat", "csbm", {}), ("unimp", "csbm", {}), ("gcn", "minigc", {}), ("gat", "csbm-sampled", {}),
         ("gt", "molecules", {"pos_enc": 3}), ("graphit", "molecules", {"kernel": "diffusion"}),
         ("graphit_sparse", "molecules", {}), ("san", "molecules", {"pos_enc": 3}), ("san_sparse", "molecules", {})]


@pytest.mark.parametrize("name,task_name,options", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_training_creates_no_tensor_on_the_default_device(tasks, name, task_name, options):
    sampled = task_name.endswith("-sampled")           # node task on sampled neighbourhoods (train.fanouts)
    task = tasks[task_name.replace("-sampled", "")]
    model = build_model(ModelConfig(name=name, layers=2, hidden=4, heads=2, **options), task.info)
    cfg = TrainConfig(epochs=2, batch_size=8, fanouts=[3, 3] if sampled else [])
    with DefaultDeviceFactories() as watch:
        result = fit(model, task, cfg, seed=0)
    assert result.status == "ok"
    assert not watch.sites, f"{name}: tensors created without device= at {sorted(watch.sites)}"


@pytest.mark.parametrize("task_name", ["molecules", "multitask", "minigc", "csbm-sampled"])
def test_a_mini_batch_epoch_reads_the_device_once(tasks, task_name):
    """``train_epoch`` keeps the loss sum on the device: one host read per epoch, whatever the
    number of batches (a per-batch ``loss.item()`` or ``if not torch.isfinite(loss)`` stalls a GPU
    every batch)."""
    sampled = task_name.endswith("-sampled")
    task = tasks[task_name.replace("-sampled", "")]
    model = build_model(ModelConfig(name="gt" if task_name in ("molecules", "multitask") else "gat", layers=2,
                                    hidden=4, heads=2), task.info)
    runner = _runner(model, task, TrainConfig(batch_size=4, fanouts=[3, 3] if sampled else []), seed=0)
    optimizer = torch.optim.Adam(model.parameters())
    batches = len(runner.loaders["train"]) if hasattr(runner, "loaders") else -(-len(runner.nodes["train"]) // 4)
    assert batches >= 3
    with DefaultDeviceFactories() as watch:
        loss = runner.train_epoch(model, optimizer)
    assert loss > 0
    assert len(watch.reads) == 1, f"host reads in one epoch: {watch.reads}"


def test_analyses_create_no_tensor_on_the_default_device(tasks):
    task = tasks["molecules"]
    model = build_model(ModelConfig(name="gt", layers=2, hidden=4, heads=2), task.info)
    cfg = TrainConfig(batch_size=8)
    with DefaultDeviceFactories() as watch:
        batches = split_batches(model, task, "test", cfg)
        acts = collect(model, batches)
        results = attack(model, batches, lambda out, y: task_loss(task.info, out, y), sigmas=[0.1], steps=1)
    assert acts and len(results) == 1
    assert not watch.sites, f"tensors created without device= at {sorted(watch.sites)}"


def test_the_watch_sees_a_default_device_tensor_and_a_host_read():
    """The checks are not blind: dgl-ma code that creates a tensor without a device, or reads a
    value on the host, is reported; the same calls from elsewhere (this file) are not."""
    from dgl_ma.models import full_graph

    g = dgl.graph(([0, 1], [1, 2]))
    with DefaultDeviceFactories() as watch:
        full_graph.normalized_laplacian(g)      # numpy only: nothing to report
        float(torch.zeros(1, device="cpu").sum())
        assert not watch.sites and not watch.reads
        code = "x = torch.zeros(3)\ny = float(x.sum())\nz = x[x > 0]"   # as if written in dgl-ma
        exec(compile(code, full_graph.__file__, "exec"), {"torch": torch})
    assert watch.sites == {"full_graph.py:1 zeros"}
    assert watch.reads == ["full_graph.py:2 __float__"] + (["full_graph.py:3 __getitem__"] if SEES_BOOLEAN_INDEX else [])
