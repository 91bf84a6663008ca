"""The attention weights of the GT, GraphiT and SAN cores and the Explicit Bias Term (EBT), the
countermeasure to massive activations: one mechanism for all three.

Each core computes per-edge unnormalised weights ``w_ij`` from its logits ``Σ_d S_ij`` and
aggregates ``h_i = Σ_j w_ij v_j / (Σ_j w_ij + ε)``. Two weightings exist in the reference code:

* :func:`clamped_exp`, ``w = exp(clamp(logit, −5, 5))`` with ``ε = 1e-6``: the MA study's
  attention (msorbi/gnn-ma ``graph_transformer_edge_layer.py``, ``graphit_gt_layer.py``,
  ``san_gt_layer.py``; graphdeeplearning/graphtransformer; DevinKreuzer/SAN). Used by GT, SAN
  (both variants) and ``graphit_sparse``. The clamp is where massive activations show: a logit
  beyond ±5 saturates, and the EBT shift does not cancel (it would in a shifted softmax).
* :func:`max_shifted_exp`, ``w = exp(logit − max_j logit) κ_ij`` normalised by
  ``max(Σ_j w_ij, 1e-6)``: full GraphiT (inria-thoth/GraphiT ``transformer/layers.py``).

:class:`ExplicitBias` hooks in at two points:

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
from typing import Callable, Optional, Tuple

import dgl
import torch
from torch import nn

from dgl_ma.models.options import EBT_FORMS  # noqa: E402  (the names are declared torch-free)


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
               eps: float, floor: Optional[float] = None) -> torch.Tensor:
        """Normalise ``Σ w v`` (``weighted`` ``(N, H, d)``) by ``Σ w`` (``total`` ``(N, H, 1)``),
        including the bias slot or the per-message value bias."""
        if self.form == "sink":
            return (weighted + sink_weight * self.v_sink) / _denominator(total + sink_weight, eps, floor)
        denominator = _denominator(total, eps, floor)
        out = weighted / denominator
        if self.form == "gnn_ma":  # Σ_j w_ij (v_j + v_b) / (Σ_j w_ij + ε)
            out = out + (total / denominator) * self.v_bias.transpose(0, 1)
        return out


CLAMP = 5.0          # |logit| bound of the MA study's attention
EPS = 1e-6           # added to its denominator
FLOOR = 1e-6         # GraphiT's lower bound of the denominator (``sum.clamp(min=1e-6)``)


def clamped_exp(bias: "ExplicitBias", q: torch.Tensor, logits: torch.Tensor
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``w = exp(clamp(logit, −5, 5))`` per edge ``(E, H, 1)`` and, with the ``sink`` form, the
    slot's weight from its logit the same way ``(N, H, 1)`` (else None). Aggregate with
    ``eps=EPS``. ``q`` ``(N, H, d)`` are the queries the slot's logit is computed from."""
    sink_logit = bias.sink_logit(q)
    weights = torch.exp(logits.clamp(-CLAMP, CLAMP))
    sink = torch.exp(sink_logit.clamp(-CLAMP, CLAMP)) if sink_logit is not None else None
    return weights, sink


def max_shifted_exp(graph: dgl.DGLGraph, bias: "ExplicitBias", q: torch.Tensor, logits: torch.Tensor,
                    kernel: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """GraphiT's ``w_ij = exp(logit_ij − c_i) κ_ij`` with ``c_i`` the largest logit into ``i``
    (the sink slot's included; detached, it cancels in the normalisation); ``κ = 1`` without
    ``kernel`` ``(E,)``; the slot has ``κ = 1``. Aggregate with ``eps=0, floor=FLOOR``.

    Shapes: ``logits`` ``(E, H, 1)`` → ``(E, H, 1)`` and ``(N, H, 1)`` or None."""
    import dgl.function as fn

    sink_logit = bias.sink_logit(q)
    with graph.local_scope():
        graph.edata["l"] = logits
        graph.update_all(fn.copy_e("l", "m"), fn.max("m", "c"))
        shift = graph.ndata["c"] if sink_logit is None else torch.maximum(graph.ndata["c"], sink_logit)
        shift = shift.detach()
    _, dst = graph.edges()
    weights = torch.exp(logits - shift[dst])
    if kernel is not None:
        weights = weights * kernel.view(-1, 1, 1)
    sink = torch.exp(sink_logit - shift) if sink_logit is not None else None
    return weights, sink


def _denominator(total: torch.Tensor, eps: float, floor: Optional[float] = None) -> torch.Tensor:
    """``max(total + eps, floor)``; without ``floor``, the smallest positive float, so a node
    without incoming edges (an isolated atom, e.g. a counter-ion) gets a zero output rather
    than 0/0 = NaN."""
    return (total + eps).clamp_min(torch.finfo(total.dtype).tiny if floor is None else floor)


def aggregate(graph: dgl.DGLGraph, weights: torch.Tensor, values, bias: ExplicitBias,
              sink_weight: Optional[torch.Tensor], eps: float = EPS, floor: Optional[float] = None,
              message: Optional[Callable] = None) -> torch.Tensor:
    """``(Σ_j w_ij v_j [+ slot]) / max(Σ_j w_ij [+ slot] + ε, floor)`` with DGL message passing.
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
        return bias.finish(graph.ndata["wv"], graph.ndata["z"], sink_weight, eps, floor)


def attention_weights(graph: dgl.DGLGraph, weights: torch.Tensor, sink_weight: Optional[torch.Tensor],
                      eps: float = EPS, floor: Optional[float] = None):
    """Normalised weights: per edge ``(E, H, 1)`` and of the bias slot per node ``(N, H, 1)``
    (zeros without a slot); for each node they sum to ``Σw / max(Σw + ε, floor)`` ≈ 1."""
    import dgl.function as fn

    with graph.local_scope():
        graph.edata["w"] = weights
        graph.update_all(fn.copy_e("w", "m"), fn.sum("m", "z"))
        total = _denominator(graph.ndata["z"] + (sink_weight if sink_weight is not None else 0.0), eps, floor)
        _, dst = graph.edges()
        slot = sink_weight / total if sink_weight is not None else torch.zeros_like(total)
        return weights / total[dst], slot
