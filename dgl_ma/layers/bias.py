"""Explicit Bias Term (EBT): the countermeasure to massive activations, one mechanism for the
GT, GraphiT and SAN attention cores.

Each core computes per-edge unnormalised weights ``w_ij`` and aggregates
``h_i = Σ_j w_ij v_j / (Σ_j w_ij + ε)``. :class:`ExplicitBias` hooks in at two points:

* ``"gnn_ma"`` (the MA paper's code): learnable ``k_b ∈ R^{H×d×1}``, ``e_b, v_b ∈ R^{H×1×d}``,
  N(0, 1) init. ``S'_ij = S_ij + (Q_i·k_b / √d) e_b`` (so the logit and the logged tensor use
  ``S'``) and every message gets ``+ w_ij v_b``.
* ``"sink"`` (Sun et al.'s explicit attention bias): learnable ``k', v' ∈ R^{H×d}`` form one extra
  key/value slot every node attends to: ``h_i = (Σ_j w_ij v_j + w_i' v') / (Σ_j w_ij + w_i' + ε)``
  with ``w_i'`` the slot's weight from ``Q_i·k'/√d``, computed the same way as the edges'.
* ``"none"``: no change (no parameters).

The linear biases of the Q/K/V/edge projections are a separate switch (``use_bias``): the
reference code always switched both on together, which confounds the comparison.
"""
import math
from typing import Callable, Optional

import dgl
import torch
from torch import nn

EBT_FORMS = ("none", "gnn_ma", "sink")


class ExplicitBias(nn.Module):
    def __init__(self, form: str, num_heads: int, head_dim: int):
        super().__init__()
        if form not in EBT_FORMS:
            raise ValueError(f"ebt must be one of {EBT_FORMS}, got {form!r}")
        self.form, self.head_dim = form, head_dim
        if form == "gnn_ma":
            self.k_bias = nn.Parameter(torch.randn(num_heads, head_dim, 1))
            self.e_bias = nn.Parameter(torch.randn(num_heads, 1, head_dim))
            self.v_bias = nn.Parameter(torch.randn(num_heads, 1, head_dim))
        elif form == "sink":
            self.k_sink = nn.Parameter(torch.randn(num_heads, head_dim))
            self.v_sink = nn.Parameter(torch.randn(num_heads, head_dim))

    def adjust_scores(self, graph: dgl.DGLGraph, q: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """``gnn_ma``: ``S' = S + (Q_i·k_b/√d) e_b`` for every edge into ``i``.
        Shapes: ``q`` ``(N, H, d)``, ``scores`` ``(E, H, d)`` → ``(E, H, d)``."""
        if self.form != "gnn_ma":
            return scores
        per_node = torch.einsum("nhd,hdo->nho", q, self.k_bias) / math.sqrt(self.head_dim)   # (N, H, 1)
        _, dst = graph.edges()
        return scores + per_node[dst] * self.e_bias.transpose(0, 1)                            # (E, H, d)

    def sink_logit(self, q: torch.Tensor) -> Optional[torch.Tensor]:
        """``sink``: the slot's logit ``Q_i·k'/√d`` per node and head, ``(N, H, 1)``; else None."""
        if self.form != "sink":
            return None
        return (q * self.k_sink).sum(-1, keepdim=True) / math.sqrt(self.head_dim)

    def finish(self, weighted: torch.Tensor, total: torch.Tensor, sink_weight: Optional[torch.Tensor],
               eps: float) -> torch.Tensor:
        """Normalise ``Σ w v`` (``weighted`` ``(N, H, d)``) by ``Σ w`` (``total`` ``(N, H, 1)``),
        including the bias slot or the per-message value bias."""
        if self.form == "sink":
            return (weighted + sink_weight * self.v_sink) / _denominator(total + sink_weight, eps)
        out = weighted / _denominator(total, eps)
        if self.form == "gnn_ma":  # Σ_j w_ij (v_j + v_b) / (Σ_j w_ij + ε)
            out = out + (total / _denominator(total, eps)) * self.v_bias.transpose(0, 1)
        return out


def _denominator(total: torch.Tensor, eps: float) -> torch.Tensor:
    """``total + eps``, kept above the smallest positive float: a node without incoming edges
    (an isolated atom, e.g. a counter-ion) has ``total = 0`` and gets a zero output rather than
    0/0 = NaN when ``eps = 0`` (GraphiT's max-shifted softmax)."""
    return (total + eps).clamp_min(torch.finfo(total.dtype).tiny)


def aggregate(graph: dgl.DGLGraph, weights: torch.Tensor, values, bias: ExplicitBias,
              sink_weight: Optional[torch.Tensor], eps: float = 1e-6,
              message: Optional[Callable] = None) -> torch.Tensor:
    """``(Σ_j w_ij v_j [+ slot]) / (Σ_j w_ij [+ slot] + ε)`` with DGL message passing.
    ``values`` ``(N, H, d)`` are the source values; with ``message``, ``values`` is a dict of
    node tensors and ``message(edges)`` picks each edge's value from ``edges.src``.

    Shapes: ``weights`` ``(E, H, 1)`` → ``(N, H, d)``."""
    import dgl.function as fn

    with graph.local_scope():
        graph.edata["w"] = weights
        if message is None:
            graph.ndata["v"] = values
            graph.update_all(fn.u_mul_e("v", "w", "m"), fn.sum("m", "wv"))
        else:
            graph.ndata.update(values)
            graph.apply_edges(lambda edges: {"m": edges.data["w"] * message(edges)})
            graph.update_all(fn.copy_e("m", "m"), fn.sum("m", "wv"))
        graph.update_all(fn.copy_e("w", "m"), fn.sum("m", "z"))
        return bias.finish(graph.ndata["wv"], graph.ndata["z"], sink_weight, eps)


def attention_weights(graph: dgl.DGLGraph, weights: torch.Tensor, sink_weight: Optional[torch.Tensor],
                      eps: float = 1e-6):
    """Normalised weights: per edge ``(E, H, 1)`` and of the bias slot per node ``(N, H, 1)``
    (zeros without a slot); for each node they sum to ``Σw / (Σw + ε)`` ≈ 1."""
    import dgl.function as fn

    with graph.local_scope():
        graph.edata["w"] = weights
        graph.update_all(fn.copy_e("w", "m"), fn.sum("m", "z"))
        total = _denominator(graph.ndata["z"] + (sink_weight if sink_weight is not None else 0.0), eps)
        _, dst = graph.edges()
        slot = sink_weight / total if sink_weight is not None else torch.zeros_like(total)
        return weights / total[dst], slot
