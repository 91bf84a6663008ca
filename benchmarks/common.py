"""What every benchmark shares: the device, the seeded synthetic inputs and the timing attributes.

Device: ``DGL_MA_BENCH_DEVICE=cpu|cuda|cuda:N`` (default ``cpu``) is read in ``setup``, never at
import time, and CUDA is touched only there: asv's forkserver imports this package once and forks
one process per benchmark, and a process that initialised CUDA cannot be forked. On CUDA every
timed function ends with :func:`sync`, so a sample covers the kernels it launched.

Inputs (no download; the same numbers on every run and machine):

* **molecules** — a ``dgl.batch`` of 128 ZINC-sized molecules: random connected graphs of
  ``round(N(23.2, 4.5))`` atoms (clipped to 9–37, as ZINC), a random tree with at most 4 bonds
  per atom plus 1–4 ring-closing bonds; about 23 nodes and 50 directed edges per graph
  (≈ 2.95k nodes and 6.3k edges per batch). Features as ZINC's: an atom type (28) per node in
  ``ndata['feat']``, a bond type (1–3 of a vocabulary of 4) per edge in ``edata['feat']``,
  one regression target per molecule (:data:`MOLECULE_TASK`).
* **cora** — one Cora-sized graph: 2708 nodes and exactly 10556 directed edges (5278 undirected
  pairs; preferential attachment, so the degrees are skewed like Cora's and no node is isolated),
  1433 binary bag-of-words-like features (1.27 % ones, as Cora), 7 classes, the public split's
  140/500/1000 train/val/test sizes.

Everything is built once per asv run in one ``setup_cache`` (:class:`Inputs`; CPU only, asv
pickles it to the benchmark processes). Layer benchmarks feed both graphs random
``LAYER_WIDTH``-dimensional node (and edge) states, as a hidden layer of a model sees; model
benchmarks feed the raw features.
"""
import functools
import os
from dataclasses import dataclass
from typing import Tuple

import dgl_ma  # noqa: F401  (selects DGL's PyTorch backend before dgl is imported)

import dgl
import networkx as nx
import numpy as np
import torch

from dgl_ma.data.task import TaskInfo

DEVICE_ENV = "DGL_MA_BENCH_DEVICE"
SEED = 0

GRAPHS = ("molecules", "cora")
MOLECULES = 128
ATOM_TYPES, BOND_TYPES = 28, 4
CORA_NODES, CORA_PAIRS, CORA_FEATURES, CORA_CLASSES = 2708, 5278, 1433, 7
LAYER_WIDTH, LAYER_HEADS = 64, 8          # layers: 64 features -> 8 heads x 8 channels

MOLECULE_TASK = TaskInfo("graph", 1, 1, "l1", "mae", node_vocab=ATOM_TYPES, edge_vocab=BOND_TYPES)  # as ZINC
CORA_TASK = TaskInfo("node", CORA_FEATURES, CORA_CLASSES, "cross_entropy", "accuracy")


class Timing:
    """asv attributes of the timings: two rounds (each a fresh process with its own setup), per
    round 0.3 s of warm-up, then 3 to 10 samples of at least 20 ms each, at most 3 s of sampling.
    asv's timer is the wall clock; on CUDA each timed call ends with :func:`sync`."""

    rounds = 2
    repeat = (3, 10, 3.0)
    sample_time = 0.02
    warmup_time = 0.3
    timeout = 180


def device() -> torch.device:
    """The run's device from ``DGL_MA_BENCH_DEVICE``; initialises CUDA when it names CUDA."""
    name = os.environ.get(DEVICE_ENV, "cpu").strip().lower() or "cpu"
    if name != "cpu" and name != "cuda" and not name.startswith("cuda:"):
        raise ValueError(f"{DEVICE_ENV}={name!r}: use cpu, cuda or cuda:N")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{DEVICE_ENV}={name} but PyTorch sees no CUDA device here")
    return dev


def sync(dev: torch.device) -> None:
    """Wait for the device's queued kernels (no-op on CPU)."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def seed_all(seed: int = SEED) -> None:
    """Seed torch (parameter initialisation, dropout), numpy and DGL."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    dgl.seed(seed)


def _molecule(rng: np.random.Generator) -> dgl.DGLGraph:
    """A random connected molecule-like graph: tree with max degree 4 plus ring closures."""
    n = int(np.clip(round(rng.normal(23.2, 4.5)), 9, 37))
    degree = np.zeros(n, dtype=int)
    bonds = set()
    for i in range(1, n):
        free = np.flatnonzero(degree[:i] < 4)
        j = int(rng.choice(free))
        bonds.add((j, i))
        degree[i] += 1
        degree[j] += 1
    rings, tries = int(rng.integers(1, 5)), 0
    while rings and tries < 100:
        tries += 1
        u, v = (int(x) for x in rng.choice(n, size=2, replace=False))
        if degree[u] < 4 and degree[v] < 4 and (u, v) not in bonds and (v, u) not in bonds:
            bonds.add((u, v))
            degree[u] += 1
            degree[v] += 1
            rings -= 1
    src, dst = (torch.tensor(x) for x in zip(*sorted(bonds)))
    graph = dgl.graph((torch.cat([src, dst]), torch.cat([dst, src])), num_nodes=n)
    graph.ndata["feat"] = torch.as_tensor(rng.integers(0, ATOM_TYPES, n))
    bond = torch.as_tensor(rng.integers(1, BOND_TYPES, len(bonds)))
    graph.edata["feat"] = torch.cat([bond, bond])
    return graph


@functools.lru_cache(maxsize=None)
def molecule_list(count: int = MOLECULES, seed: int = SEED) -> Tuple[Tuple[dgl.DGLGraph, torch.Tensor], ...]:
    """``count`` (molecule, regression target) pairs on the CPU."""
    rng = np.random.default_rng(seed)
    return tuple((_molecule(rng), torch.tensor(float(rng.normal()))) for _ in range(count))


@functools.lru_cache(maxsize=None)
def cora_graph(seed: int = SEED) -> dgl.DGLGraph:
    """The Cora-sized graph on the CPU with ``feat``, ``label`` and the three split masks."""
    rng = np.random.default_rng(seed)
    pairs = list(nx.barabasi_albert_graph(CORA_NODES, 2, seed=seed).edges())   # 5412 pairs
    degree = np.bincount(np.array(pairs).ravel(), minlength=CORA_NODES)
    drop = set()
    for k in rng.permutation(len(pairs)):       # drop random pairs down to Cora's 5278,
        if len(drop) == len(pairs) - CORA_PAIRS:  # never a node's last one
            break
        u, v = pairs[k]
        if degree[u] > 1 and degree[v] > 1:
            degree[u] -= 1
            degree[v] -= 1
            drop.add(int(k))
    pairs = [p for k, p in enumerate(pairs) if k not in drop]
    src, dst = (torch.tensor(x) for x in zip(*pairs))
    graph = dgl.graph((torch.cat([src, dst]), torch.cat([dst, src])), num_nodes=CORA_NODES)
    graph.ndata["feat"] = torch.as_tensor(rng.random((CORA_NODES, CORA_FEATURES)) < 0.0127).float()
    graph.ndata["label"] = torch.as_tensor(rng.integers(0, CORA_CLASSES, CORA_NODES))
    order = torch.as_tensor(rng.permutation(CORA_NODES))
    for name, (lo, hi) in {"train": (0, 140), "val": (140, 640), "test": (640, 1640)}.items():
        mask = torch.zeros(CORA_NODES, dtype=torch.bool)
        mask[order[lo:hi]] = True
        graph.ndata[f"{name}_mask"] = mask
    return graph


def raw_graph(name: str) -> dgl.DGLGraph:
    """``"molecules"`` (one batched graph of 128) or ``"cora"``, on the CPU, with ``feat``."""
    if name == "molecules":
        return dgl.batch([g for g, _ in molecule_list()])
    if name == "cora":
        return cora_graph()
    raise ValueError(f"unknown benchmark graph {name!r}; choose one of {GRAPHS}")


LOADER_MOLECULES = 1024       # the GraphDataLoader benchmark: 8 batches of 128


class Inputs:
    """Mixin of every benchmark class: one ``setup_cache`` (asv runs it once per run, in its own
    process, on the CPU, and pickles the result to each benchmark process) builds all inputs,
    handed to ``setup`` and to the benchmark as the first argument ``inputs``:

    * ``"graphs"``: ``{"molecules": batch of the 128 molecules, "cora": Cora-sized graph}``, raw;
    * ``"targets"``: the 128 molecules' regression targets;
    * ``"loader"``: a batch of 1024 molecules and their targets (``dgl.unbatch`` it);
    * ``"prepared"``: ``{(model, graph): graph after that model's prepare_graph}``
      (see ``benchmarks.models``).

    Only batched graphs go through the pickle: unpickling every tensor of 1000 small graphs
    would cost each benchmark process seconds.
    """

    def setup_cache(self):
        from benchmarks.models import prepared_graphs

        loader = molecule_list(LOADER_MOLECULES)
        return {"graphs": {name: raw_graph(name) for name in GRAPHS},
                "targets": torch.stack([y for _, y in molecule_list()]),
                "loader": (dgl.batch([g for g, _ in loader]), torch.stack([y for _, y in loader])),
                "prepared": prepared_graphs()}


@dataclass
class LayerInputs:
    """One graph prepared for a layer: the DGL graph, the same edges as a PyG ``edge_index``,
    ``LAYER_WIDTH``-dimensional node and edge states that require a gradient (a hidden layer's
    inputs)."""

    graph: dgl.DGLGraph
    edge_index: torch.Tensor
    feat: torch.Tensor
    efeat: torch.Tensor


def layer_inputs(graph: dgl.DGLGraph, self_loops: bool, dev: torch.device) -> LayerInputs:
    if self_loops:   # exactly one self-loop per node (a layer needs no batch information)
        graph = dgl.add_self_loop(dgl.remove_self_loop(graph))
    graph = graph.to(dev)
    src, dst = graph.edges()
    gen = torch.Generator().manual_seed(SEED)
    feat = torch.randn(graph.num_nodes(), LAYER_WIDTH, generator=gen).to(dev).requires_grad_(True)
    efeat = torch.randn(graph.num_edges(), LAYER_WIDTH, generator=gen).to(dev).requires_grad_(True)
    return LayerInputs(graph, torch.stack([src, dst]).long(), feat, efeat)
