"""Edge-featured sparse attention of the graph transformers studied for massive activations
(GraphTransformer of Dwivedi & Bresson 2021; the sparse GraphiT and SAN variants share it)."""
import math
from typing import Tuple

import dgl
import dgl.function as fn
import torch
from torch import nn

from dgl_ma.layers.bias import ExplicitBias, aggregate, attention_weights, clamped_exp
from dgl_ma.layers.block import BLOCK_NORMS
from dgl_ma.probes import Probed


class EdgeAttention(Probed, nn.Module):
    r"""Multi-head attention over the real edges, gated by projected edge features.

    For an edge :math:`j \to i`, head :math:`h`, :math:`d` channels per head:

    .. math::
        S_{ij} = \frac{K_j \odot Q_i}{\sqrt d} \odot P_{ij} \in \mathbb{R}^d, \qquad
        w_{ij} = \exp\big(\mathrm{clamp}(\textstyle\sum_d S_{ij}, -5, 5)\big)

        h_i' = \frac{\sum_j w_{ij} V_j}{\sum_j w_{ij} + 10^{-6}}

    with :math:`Q, K, V` linear maps of the node states and :math:`P` of the edge states
    (``use_bias`` switches their biases on; the reference code had none). ``ebt`` adds the
    Explicit Bias Term (:mod:`dgl_ma.layers.bias`). ``S`` (``S'`` with ``ebt="gnn_ma"``) is
    what the massive-activation analysis inspects: recorded as the ``"scores"`` probe,
    ``(E, H, d)``, before any dropout, projection, residual or norm.

    Shapes:
        - input: ``h`` :math:`(N, H d)`, ``e`` :math:`(E, H d)`
        - output: ``h'`` :math:`(N, H, d)` and ``S`` :math:`(E, H, d)`; with
          ``get_attention=True`` also the normalised weights :math:`(E, H, 1)` and those of the
          bias slot :math:`(N, H, 1)` (zeros unless ``ebt="sink"``)

    Example:
        >>> import dgl, torch
        >>> g = dgl.graph(([0, 1, 2], [1, 2, 0]))
        >>> att = EdgeAttention(dim=8, num_heads=2)
        >>> h, s = att(g, torch.randn(3, 8), torch.randn(3, 8))
        >>> tuple(h.shape), tuple(s.shape)
        ((3, 2, 4), (3, 2, 4))
    """

    def __init__(self, dim: int, num_heads: int, use_bias: bool = False, ebt: str = "none"):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} must be divisible by num_heads {num_heads}")
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.query = nn.Linear(dim, dim, bias=use_bias)
        self.key = nn.Linear(dim, dim, bias=use_bias)
        self.value = nn.Linear(dim, dim, bias=use_bias)
        self.edge = nn.Linear(dim, dim, bias=use_bias)
        self.bias = ExplicitBias(ebt, num_heads, self.head_dim)

    def forward(self, graph: dgl.DGLGraph, h: torch.Tensor, e: torch.Tensor, get_attention: bool = False):
        shape = (-1, self.num_heads, self.head_dim)
        q, v = self.query(h).view(shape), self.value(h).view(shape)                  # (N, H, d)
        with graph.local_scope():
            graph.ndata.update({"q": q, "k": self.key(h).view(shape)})
            graph.apply_edges(fn.u_mul_v("k", "q", "kq"))                            # (E, H, d)
            scores = graph.edata["kq"] / math.sqrt(self.head_dim) * self.edge(e).view(shape)
        scores = self.bias.adjust_scores(graph, q, scores)
        self.record("scores", scores)
        weights, sink = clamped_exp(self.bias, q, scores.sum(-1, keepdim=True))      # (E, H, 1), (N, H, 1)
        out = aggregate(graph, weights, v, self.bias, sink)                          # (N, H, d)
        if get_attention:
            return (out, scores, *attention_weights(graph, weights, sink))
        return out, scores


class GTLayer(Probed, nn.Module):
    r"""GraphTransformer layer with edge stream (Dwivedi & Bresson 2021):

    .. math::
        h \leftarrow \mathrm{Norm}(h + O_h(h')), \quad e \leftarrow \mathrm{Norm}(e + O_e(S)), \quad
        x \leftarrow \mathrm{Norm}(x + \mathrm{FFN}(x)) \text{ for } x \in \{h, e\}

    with :class:`EdgeAttention`, FFN :math:`D \to 2D \to D` (Linear → ReLU → dropout → Linear),
    Norm = BatchNorm or LayerNorm (or none), dropout after the attention and inside the FFN,
    none on the FFN output (graphdeeplearning/graphtransformer
    ``layers/graph_transformer_edge_layer.py``). Records the ``"output"`` probe (node states
    after the layer).

    Shapes: ``h`` :math:`(N, D)`, ``e`` :math:`(E, D)` → the same.
    """

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0, norm: str = "batchnorm",
                 use_bias: bool = False, ebt: str = "none"):
        super().__init__()
        self.attention = EdgeAttention(dim, num_heads, use_bias, ebt)
        self.out_h, self.out_e = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.ffn_h, self.ffn_e = (nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Dropout(dropout),
                                                nn.Linear(2 * dim, dim)) for _ in range(2))
        make = BLOCK_NORMS[norm]
        self.norm1_h, self.norm1_e, self.norm2_h, self.norm2_e = (make(dim) for _ in range(4))
        self.dropout = nn.Dropout(dropout)

    def forward(self, graph: dgl.DGLGraph, h: torch.Tensor, e: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        h_att, scores = self.attention(graph, h, e)                              # (N,H,d), (E,H,d)
        h = self.norm1_h(h + self.out_h(self.dropout(h_att.flatten(1))))        # (N, D)
        e = self.norm1_e(e + self.out_e(self.dropout(scores.flatten(1))))       # (E, D)
        h = self.norm2_h(h + self.ffn_h(h))
        e = self.norm2_e(e + self.ffn_e(e))
        self.record("output", h)
        return h, e
