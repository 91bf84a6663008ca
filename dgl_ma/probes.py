"""Activation probes: one mechanism through which every attention layer exposes its tensors.

A layer that inherits :class:`Probed` calls ``self.record(name, tensor)`` at the points worth
inspecting (e.g. ``"scores"``, the pre-softmax edge scores, and ``"output"``, the node states).
``record`` does nothing — no copy, no detach, no allocation — unless a :func:`capture` context is
active on the model, so outputs with probes off are bit-identical to a model without them.

Example:
    >>> import dgl, torch
    >>> from dgl_ma.layers import GATLayer
    >>> layer = GATLayer(4, 2, num_heads=2)
    >>> g = dgl.add_self_loop(dgl.graph(([0, 1], [1, 2])))
    >>> with capture(layer, names=("scores",)) as probes:
    ...     _ = layer(g, torch.randn(3, 4))
    >>> [(key, tuple(t.shape)) for key, t in probes.items()]
    [(('', 'scores'), (5, 2, 1))]
"""
from contextlib import contextmanager
from typing import Dict, Iterable, Iterator, Optional, Tuple

import torch
from torch import nn

ProbeKey = Tuple[str, str]  # (module name within the model, tensor name)


class Probed:
    """Mixin for layers with probe points."""

    _probe_sink: Optional[Dict[ProbeKey, torch.Tensor]] = None
    _probe_name: str = ""
    _probe_filter: Optional[Tuple[str, ...]] = None

    def record(self, name: str, tensor: torch.Tensor) -> None:
        sink = self._probe_sink
        if sink is not None and (self._probe_filter is None or name in self._probe_filter):
            sink[(self._probe_name, name)] = tensor.detach()


def probed_modules(model: nn.Module) -> Iterator[Tuple[str, Probed]]:
    for name, module in model.named_modules():
        if isinstance(module, Probed):
            yield name, module


@contextmanager
def capture(model: nn.Module, names: Optional[Iterable[str]] = None) -> Iterator[Dict[ProbeKey, torch.Tensor]]:
    """Collect the recorded tensors of every probed layer of ``model`` while the context is open.

    The dict maps ``(module name, tensor name)`` to the detached tensor of the latest forward.
    ``names`` restricts which tensors are kept (default: all).
    """
    sink: Dict[ProbeKey, torch.Tensor] = {}
    keep = tuple(names) if names is not None else None
    modules = list(probed_modules(model))
    for name, module in modules:
        module._probe_sink, module._probe_name, module._probe_filter = sink, name, keep
    try:
        yield sink
    finally:
        for _, module in modules:
            module._probe_sink, module._probe_name, module._probe_filter = None, "", None
