"""Tiny deterministic graph cases shared by the layer and model tests (in the style of DGL's
``tests/utils/graph_cases.py``).

Every factory takes ``in_feats`` and returns ``(graph, feat)`` with ``feat`` of shape
``(graph.num_nodes(), in_feats)``. Randomness comes from a local ``torch.Generator`` with a
fixed seed (``dgl.rand_graph`` draws from DGL's own generator, which ``torch.manual_seed`` does
not seed), so every call returns the same graph and features.

Cases:
    homogeneous     random directed graph (may contain self-loops and parallel edges)
    self_loops      random directed graph plus exactly one self-loop on every node
    zero_in_degree  some nodes have no incoming edge (one has no edge at all)
    batched         ``dgl.batch`` of three small graphs of different sizes
    single_node     one node and no edge
"""
from typing import Callable, Dict, Tuple

import dgl
import torch

import dgl_ma  # noqa: F401  (selects DGL's PyTorch backend before DGL is used)

Case = Tuple[dgl.DGLGraph, torch.Tensor]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_graph(num_nodes: int, num_edges: int, seed: int) -> dgl.DGLGraph:
    """A random directed graph drawn from a seeded torch generator."""
    gen = _gen(seed)
    src = torch.randint(0, num_nodes, (num_edges,), generator=gen)
    dst = torch.randint(0, num_nodes, (num_edges,), generator=gen)
    return dgl.graph((src, dst), num_nodes=num_nodes)


def features(num_nodes: int, in_feats: int, seed: int) -> torch.Tensor:
    return torch.randn(num_nodes, in_feats, generator=_gen(seed))


def homogeneous(in_feats: int = 5) -> Case:
    g = random_graph(10, 30, seed=0)
    return g, features(g.num_nodes(), in_feats, seed=100)


def self_loops(in_feats: int = 5) -> Case:
    g = dgl.add_self_loop(dgl.remove_self_loop(random_graph(7, 14, seed=1)))
    return g, features(g.num_nodes(), in_feats, seed=101)


def zero_in_degree(in_feats: int = 5) -> Case:
    # Nodes 4, 5, 6 only send; node 7 is isolated; nodes 0-3 receive.
    src = torch.tensor([4, 5, 6, 0, 1, 2, 4, 3])
    dst = torch.tensor([0, 0, 1, 2, 3, 3, 1, 0])
    g = dgl.graph((src, dst), num_nodes=8)
    return g, features(g.num_nodes(), in_feats, seed=102)


def batched(in_feats: int = 5) -> Case:
    parts = [random_graph(3, 4, seed=2), random_graph(5, 9, seed=3), random_graph(4, 6, seed=4)]
    g = dgl.batch(parts)
    return g, features(g.num_nodes(), in_feats, seed=103)


def single_node(in_feats: int = 5) -> Case:
    g = dgl.graph((torch.tensor([], dtype=torch.int64), torch.tensor([], dtype=torch.int64)), num_nodes=1)
    return g, features(1, in_feats, seed=104)


CASES: Dict[str, Callable[..., Case]] = {
    "homogeneous": homogeneous,
    "self_loops": self_loops,
    "zero_in_degree": zero_in_degree,
    "batched": batched,
    "single_node": single_node,
}
CASE_NAMES = sorted(CASES)


def make(name: str, in_feats: int = 5) -> Case:
    """Build the case ``name``."""
    return CASES[name](in_feats)


def permute_nodes(graph: dgl.DGLGraph, perm: torch.Tensor) -> dgl.DGLGraph:
    """Relabel nodes so that new node ``k`` is old node ``perm[k]``; edge order is kept."""
    new_id = torch.empty_like(perm)
    new_id[perm] = torch.arange(len(perm))
    src, dst = graph.edges()
    return dgl.graph((new_id[src], new_id[dst]), num_nodes=graph.num_nodes())
