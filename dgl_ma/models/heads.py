"""Pieces every model shares: input encoder, graph readout and the MLP head."""
import dgl
import torch
from dgl.nn import AvgPooling, MaxPooling, SumPooling
from torch import nn

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
