"""Per-layer gradient-explosion diagnostics (Dasoulas et al. 2021, "Gradient explosion analysis").

For each layer of ``model.layers``: the gradient norm of its weight matrices, of its attention
parameters (GAT's ``attn_l``/``attn_r``; the transformer's query/key projections), and the
largest absolute pre-softmax score, recorded through the layer's ``"scores"`` probe.

The pass runs in eval mode (no dropout) on a fixed training batch and does not step the
optimiser, so it draws no random numbers and leaves training bit-identical to a run without it.
"""
from typing import Callable, Dict, List, Optional

import torch
from torch import nn

from dgl_ma.probes import capture

ATTENTION_PARAMETERS = ("attn_l", "attn_r", "lin_query", "lin_key")


def _norm(grads: List[torch.Tensor]) -> Optional[float]:
    return float(torch.sqrt(sum(g.pow(2).sum() for g in grads))) if grads else None


def layer_diagnostics(model: nn.Module, loss_fn: Callable[[nn.Module], torch.Tensor]) -> List[Dict[str, Optional[float]]]:
    """One dict per layer: ``weight_grad``, ``attention_grad`` (None without attention
    parameters) and ``max_score`` (None for layers without a ``"scores"`` probe)."""
    was_training = model.training
    model.eval()
    model.zero_grad(set_to_none=True)
    with capture(model, names=("scores",)) as probes:
        loss_fn(model).backward()
    rows = []
    for i, layer in enumerate(model.layers):
        weights, attention = [], []
        for name, param in layer.named_parameters():
            if param.grad is None or name.endswith("bias"):
                continue
            (attention if name.split(".")[0] in ATTENTION_PARAMETERS else weights).append(param.grad)
        scores = probes.get((f"layers.{i}", "scores"))
        rows.append({"weight_grad": _norm(weights), "attention_grad": _norm(attention),
                     "max_score": float(scores.abs().max()) if scores is not None else None})
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return rows
