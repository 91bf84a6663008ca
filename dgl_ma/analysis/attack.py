"""Adversarial noise on the input embeddings (Bini et al. 2024, "adversarial framework").

The trained model is frozen (eval mode, no parameter gradients). Noise is added to the outputs
of its node and edge encoders, ``h ← h + σ·η_h/std(η_h)`` and ``e ← e + σ·η_e/std(η_e)``,
through forward hooks — one mechanism for every model with ``node_encoder``/``edge_encoder``
modules (a model without edge features gets node noise only). For each σ the attack measures
the task loss with random noise, ``L_random``, then optimises η with Adam to *maximise* the loss
for a budget of steps, ``L_opt``, and reports ``GAIN = L_opt / L_random − 1``. The noise is drawn
per graph batch, shaped like that batch's embeddings (or one vector shared by all nodes/edges
with ``shared=True``); it is never tied to one batch's shape across batches.
"""
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import dgl
import torch
from torch import nn

from dgl_ma.analysis.config import SIGMAS


@dataclass
class AttackResult:
    sigma: float
    clean_loss: float
    random_loss: float
    optimised_loss: float

    @property
    def gain(self) -> float:
        return self.optimised_loss / self.random_loss - 1.0


def _scaled(noise: torch.Tensor, sigma: float) -> torch.Tensor:
    return sigma * noise / noise.std().clamp_min(1e-12)


@contextmanager
def input_noise(model: nn.Module, noise: Dict[str, torch.Tensor], sigma: float) -> Iterator[None]:
    """Add ``σ·η/std(η)`` to the outputs of ``model.node_encoder`` (key ``"node"``) and
    ``model.edge_encoder`` (key ``"edge"``) while the context is open."""
    handles = []
    for key, attr in (("node", "node_encoder"), ("edge", "edge_encoder")):
        module = getattr(model, attr, None)
        if module is not None and key in noise:
            eta = noise[key]
            handles.append(module.register_forward_hook(lambda _m, _i, out, eta=eta: out + _scaled(eta, sigma)))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _noise_shapes(model: nn.Module, graph: dgl.DGLGraph, shared: bool) -> Dict[str, Tuple[int, ...]]:
    shapes = {}
    probe: Dict[str, torch.Tensor] = {}
    handles = [getattr(model, attr).register_forward_hook(lambda _m, _i, out, key=key: probe.__setitem__(key, out))
               for key, attr in (("node", "node_encoder"), ("edge", "edge_encoder"))
               if getattr(model, attr, None) is not None]
    try:
        with torch.no_grad():
            model(graph, graph.ndata["feat"])
    finally:
        for handle in handles:
            handle.remove()
    for key, out in probe.items():
        shapes[key] = (1, out.shape[-1]) if shared else tuple(out.shape)
    return shapes


def attack_batch(model: nn.Module, graph: dgl.DGLGraph, target: torch.Tensor,
                 loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], sigma: float, steps: int = 10,
                 lr: float = 0.1, generator: torch.Generator = None, shared: bool = False,
                 mask_key: Optional[str] = None) -> Tuple[float, float, float]:
    """``(L_clean, L_random, L_opt)`` on one batch for one σ; the model must be in eval mode.
    ``mask_key``: node tasks, the loss on the outputs of the nodes ``graph.ndata[mask_key]`` marks."""
    shapes = _noise_shapes(model, graph, shared)
    select = graph.ndata[mask_key] if mask_key is not None else slice(None)

    def predict() -> torch.Tensor:
        return model(graph, graph.ndata["feat"])[select]

    with torch.no_grad():
        clean = float(loss_fn(predict(), target))
        # drawn on the CPU generator (the same noise on every device), then moved to the graph's device
        noise = {k: torch.randn(s, generator=generator, device="cpu").to(graph.device) for k, s in shapes.items()}
        with input_noise(model, noise, sigma):
            random = float(loss_fn(predict(), target))
    params = {k: v.clone().requires_grad_(True) for k, v in noise.items()}
    optimiser = torch.optim.Adam(params.values(), lr=lr)
    for _ in range(steps):
        optimiser.zero_grad()
        with input_noise(model, params, sigma):
            loss = loss_fn(predict(), target)
        (-loss).backward()                                                # gradient ascent on the loss
        optimiser.step()
    with torch.no_grad(), input_noise(model, params, sigma):
        optimised = float(loss_fn(predict(), target))
    return clean, random, optimised


def attack(model: nn.Module, batches: Iterable[Tuple[dgl.DGLGraph, torch.Tensor]],
           loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], sigmas: Sequence[float] = SIGMAS,
           steps: int = 10, lr: float = 0.1, seed: int = 0, shared: bool = False,
           mask_key: Optional[str] = None) -> List[AttackResult]:
    """Run the attack over ``batches`` (e.g. the test loader), losses averaged over batches
    weighted by their number of targets. The model's parameters are frozen during the attack
    and restored afterwards. ``mask_key``: for node tasks, each batch graph's ``ndata`` key
    marking the nodes whose outputs the targets belong to."""
    batches = list(batches)
    was_training = model.training
    requires = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    generator = torch.Generator().manual_seed(seed)
    results = []
    try:
        for sigma in sigmas:
            sums, count = [0.0, 0.0, 0.0], 0
            for graph, target in batches:
                losses = attack_batch(model, graph, target, loss_fn, sigma, steps, lr, generator, shared, mask_key)
                weight = len(target)
                sums = [s + weight * value for s, value in zip(sums, losses)]
                count += weight
            results.append(AttackResult(sigma, *(s / count for s in sums)))
    finally:
        for p, flag in zip(model.parameters(), requires):
            p.requires_grad_(flag)
        model.train(was_training)
    return results
