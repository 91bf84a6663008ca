"""Pieces every model shares: input encoders, graph readout and the MLP head."""
from typing import Optional

import dgl
import torch
from dgl.nn import AvgPooling, MaxPooling, SumPooling
from torch import nn

from dgl_ma.data.task import TaskInfo


class CategoryEmbedding(nn.Embedding):
    """``nn.Embedding`` for one integer category per node or edge, stored as ``(N,)`` or ``(N, 1)``."""

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return super().forward(ids.reshape(-1).long())


def node_encoder(task: TaskInfo, dim: int) -> nn.Module:
    """``(N, ·)`` input node features → ``(N, dim)``: OGB's ``AtomEncoder`` for OGB molecules,
    an embedding for categorical features, a linear map for continuous ones."""
    if task.ogb_mol:
        from ogb.graphproppred.mol_encoder import AtomEncoder  # imports torch_geometric: only for OGB molecules

        return AtomEncoder(dim)
    if task.node_vocab:
        return CategoryEmbedding(task.node_vocab, dim)
    return nn.Linear(task.in_dim, dim)


def edge_encoder(task: TaskInfo, dim: int) -> Optional[nn.Module]:
    """``(E, ·)`` input edge features → ``(E, dim)``, or ``None`` when the task has none."""
    if task.ogb_mol:
        from ogb.graphproppred.mol_encoder import BondEncoder

        return BondEncoder(dim)
    if task.edge_vocab:
        return CategoryEmbedding(task.edge_vocab, dim)
    if task.edge_dim:
        return nn.Linear(task.edge_dim, dim)
    return None

READOUTS = {"mean": AvgPooling, "sum": SumPooling, "max": MaxPooling}


class MLPHead(nn.Module):
    """The readout MLP of the benchmarking-gnns models: D → D/2 → D/4 → out, ReLU between.

    Shapes: ``(B, D)`` → ``(B, out)``.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden_layers: int = 2):
        super().__init__()
        dims = [in_dim // 2**k for k in range(hidden_layers + 1)]
        layers = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(dims[-1], out_dim))
        self.mlp = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.mlp(h)


class GraphReadout(nn.Module):
    """Pools node states per graph of a batch (DGL's readout modules) and applies the MLP head.

    Shapes: graph batch of ``B`` graphs, ``h`` ``(N, D)`` → ``(B, out)``.
    """

    def __init__(self, pooling: str, in_dim: int, out_dim: int):
        super().__init__()
        self.pool = READOUTS[pooling]()
        self.head = MLPHead(in_dim, out_dim)

    def forward(self, graph: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(graph, h))


class TaskHead(nn.Module):
    """The output of every model: for graph tasks a pooling readout with the MLP head, for node
    tasks a linear map. Shapes: ``h`` ``(N, D)`` → ``(B, out)`` or ``(N, out)``."""

    def __init__(self, task: TaskInfo, dim: int, readout: str):
        super().__init__()
        self.graph_level = task.level == "graph"
        self.out = GraphReadout(readout, dim, task.out_dim) if self.graph_level else nn.Linear(dim, task.out_dim)

    def forward(self, graph: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
        return self.out(graph, h) if self.graph_level else self.out(h)
