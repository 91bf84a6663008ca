"""The transformer block around an attention core, shared by GraphiT and SAN (GT adds an edge
stream on top, see :class:`dgl_ma.layers.edge_attention.GTLayer`)."""
from typing import Optional

import dgl
import torch
from torch import nn

BLOCK_NORMS = {"batchnorm": nn.BatchNorm1d, "layernorm": nn.LayerNorm, "none": lambda dim: nn.Identity()}


class TransformerBlock(nn.Module):
    """``h ← Norm(h + s ⊙ O(dropout(attention(graph, h, ...)))); h ← Norm(h + FFN(h))``, FFN
    D → 2D → D with ReLU and dropout inside (Linear → ReLU → dropout → Linear), none on its
    output: the layer of the MA study's GraphiT and SAN (msorbi/gnn-ma ``graphit_gt_layer.py``,
    ``san_gt_layer.py``; DevinKreuzer/SAN ``graph_transformer_layer.py``). ``attention`` returns
    ``(out (N, H, d), S)``; extra forward arguments are handed to it. ``node_scale`` ``s``
    ``(N, 1)`` (default 1) rescales each node's attention output before the residual: full
    GraphiT's degree normalisation ``1/√(1 + deg_i)`` (inria-thoth/GraphiT
    ``DiffTransformerEncoderLayer``). ``out_bias``: a bias in ``O`` (GraphiT's has none).

    Shapes: ``h`` ``(N, D)`` → ``(N, D)``.
    """

    def __init__(self, attention: nn.Module, dim: int, dropout: float, norm: str, out_bias: bool = True):
        super().__init__()
        self.attention = attention
        self.out = nn.Linear(dim, dim, bias=out_bias)
        self.ffn = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim))
        self.norm1, self.norm2 = BLOCK_NORMS[norm](dim), BLOCK_NORMS[norm](dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, graph: dgl.DGLGraph, h: torch.Tensor, *attention_args,
                node_scale: Optional[torch.Tensor] = None) -> torch.Tensor:
        att, _ = self.attention(graph, h, *attention_args)
        update = self.out(self.dropout(att.flatten(1)))
        h = self.norm1(h + (update if node_scale is None else node_scale * update))
        return self.norm2(h + self.ffn(h))
