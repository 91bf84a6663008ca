"""Graph transformer layer for node tasks (Shi et al. 2021, "UniMP" ``TransformerConv``)."""
import math
from typing import Tuple, Union

import dgl
import dgl.function as fn
import torch
from dgl.nn.functional import edge_softmax
from torch import nn

from dgl_ma.layers.lipschitz import transformer_denominator
from dgl_ma.probes import Probed

ATTENTION_NORMS = ("none", "lipschitz")


class GraphTransformerLayer(Probed, nn.Module):
    r"""Dot-product attention over the graph's edges with a root (skip) projection.

    For an edge :math:`j \to i` and head :math:`h` (:math:`C` channels per head):

    .. math::
        q_i = W_q x_i, \quad k_j = W_k x_j, \quad v_j = W_v x_j, \quad
        s_{ij} = \frac{\langle q_i, k_j \rangle}{\sqrt{C}}

        x_i' = W_{skip} x_i + \Big\Vert_{h} \sum_{j \in \mathcal{N}(i)}
               \mathrm{softmax}_j(s_{ij}) \, v_j

    With ``attention_norm="lipschitz"`` the scores are divided by
    :math:`\max\{u v_i, u w_i, v_i w_i\}` (LipschitzNorm for dot-product attention,
    :func:`dgl_ma.layers.lipschitz.transformer_denominator`). The parameter layout
    (``lin_query``, ``lin_key``, ``lin_value``, ``lin_skip``, all with bias) is that of PyG's
    ``TransformerConv(concat=True, beta=False, root_weight=True)``, so the same weights give the
    same outputs.

    Args:
        in_feats: input size :math:`F_{in}`.
        out_feats: channels per head :math:`C`.
        num_heads: heads :math:`H` (concatenated).
        attn_drop: dropout on the attention weights.
        attention_norm: ``"none"`` or ``"lipschitz"``.

    Probe points (:mod:`dgl_ma.probes`): ``"scores"`` (pre-softmax, after the norm) and ``"output"``.

    Shapes:
        - input: ``feat`` :math:`(N, F_{in})`
        - output: :math:`(N, H \cdot C)`; with ``get_attention=True`` also :math:`(E, H, 1)`

    Example:
        >>> import dgl, torch
        >>> g = dgl.graph(([0, 1, 2, 2], [1, 2, 0, 1]))
        >>> layer = GraphTransformerLayer(5, 4, num_heads=2, attention_norm="lipschitz")
        >>> tuple(layer(g, torch.randn(3, 5)).shape)
        (3, 8)
    """

    def __init__(self, in_feats: int, out_feats: int, num_heads: int = 1, attn_drop: float = 0.0,
                 attention_norm: str = "none"):
        super().__init__()
        if attention_norm not in ATTENTION_NORMS:
            raise ValueError(f"attention_norm must be one of {ATTENTION_NORMS}, got {attention_norm!r}")
        self.num_heads, self.out_feats, self.attention_norm = num_heads, out_feats, attention_norm
        width = num_heads * out_feats
        self.lin_query = nn.Linear(in_feats, width)
        self.lin_key = nn.Linear(in_feats, width)
        self.lin_value = nn.Linear(in_feats, width)
        self.lin_skip = nn.Linear(in_feats, width)
        self.attn_drop = nn.Dropout(attn_drop)

    def forward(self, graph: dgl.DGLGraph, feat: torch.Tensor,
                get_attention: bool = False) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        shape = (-1, self.num_heads, self.out_feats)
        with graph.local_scope():
            q = self.lin_query(feat).view(shape)                                  # (N, H, C)
            k = self.lin_key(feat).view(shape)                                    # (N, H, C)
            v = self.lin_value(feat).view(shape)                                  # (N, H, C)
            graph.ndata.update({"q": q, "k": k, "v": v})
            graph.apply_edges(fn.v_dot_u("q", "k", "s"))                          # (E, H, 1)
            graph.edata["s"] = graph.edata["s"] / math.sqrt(self.out_feats)
            if self.attention_norm == "lipschitz":
                graph.ndata["den"] = transformer_denominator(graph, q, k, v)      # (N, H, 1)
                graph.apply_edges(fn.e_div_v("s", "den", "s"))
            self.record("scores", graph.edata["s"])                               # (E, H, 1)
            graph.edata["a"] = self.attn_drop(edge_softmax(graph, graph.edata["s"]))
            graph.update_all(fn.u_mul_e("v", "a", "m"), fn.sum("m", "out"))
            out = graph.ndata["out"].flatten(1) + self.lin_skip(feat)             # (N, H·C)
            self.record("output", out)
            if get_attention:
                return out, graph.edata["a"]
            return out
