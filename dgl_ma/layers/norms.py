"""Feature normalisations applied between layers: PairNorm and LayerNorm."""
import dgl
import torch
from torch import nn


class PairNorm(nn.Module):
    r"""PairNorm (Zhao & Akoglu, ICLR 2020), "PN" mode, per graph of a batch:

    .. math::
        \tilde x_i = x_i - \frac{1}{n}\sum_j x_j, \qquad
        x_i' = s \cdot \frac{\tilde x_i}{\sqrt{\frac{1}{n}\sum_j \|\tilde x_j\|^2} + \epsilon}

    Keeps the total pairwise squared distance constant, which counters over-smoothing.

    Shapes: graph (batch) with :math:`N` nodes, ``h`` :math:`(N, D)` → :math:`(N, D)`.
    """

    def __init__(self, scale: float = 1.0, eps: float = 1e-5):
        super().__init__()
        self.scale, self.eps = scale, eps

    def forward(self, graph: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
        with graph.local_scope():
            graph.ndata["h"] = h
            centred = h - dgl.broadcast_nodes(graph, dgl.mean_nodes(graph, "h"))          # (N, D)
            graph.ndata["sq"] = centred.pow(2).sum(dim=-1, keepdim=True)                  # (N, 1)
            rms = dgl.broadcast_nodes(graph, dgl.mean_nodes(graph, "sq")).sqrt()          # (N, 1)
            return self.scale * centred / (rms + self.eps)


class GraphLayerNorm(nn.LayerNorm):
    """``torch.nn.LayerNorm`` over the feature dimension with the ``(graph, h)`` signature."""

    def forward(self, graph: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:  # noqa: D401
        return super().forward(h)


FEATURE_NORMS = {"pairnorm": lambda width: PairNorm(), "layernorm": lambda width: GraphLayerNorm(width)}
