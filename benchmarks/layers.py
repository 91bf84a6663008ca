"""Forward+backward of one attention layer: ours next to ``dgl.nn.GATConv`` and PyG's
``GATConv``/``TransformerConv`` with the same shapes (64 features → 8 heads × 8 channels) on
the same edges (``benchmarks.cases.LAYERS``). The inputs require a gradient, as a hidden
layer's do, so the backward pass computes the input gradients too; the loss is the sum of
``out.square().mean()`` over the layer's outputs."""
from typing import Callable

import torch

from benchmarks.cases import LAYERS
from benchmarks.common import GRAPHS, LAYER_HEADS, LAYER_WIDTH, Inputs, Timing, device, layer_inputs, seed_all, sync


def forward_backward_step(inputs, layer: str, graph: str, dev: torch.device) -> Callable[[], None]:
    """A closure running one forward+backward of the seeded layer ``layer`` on ``graph``."""
    case = LAYERS[layer]
    seed_all()
    module = case.build(LAYER_WIDTH, LAYER_HEADS).to(dev).train()
    x = layer_inputs(inputs["graphs"][graph], case.self_loops, dev)

    def step():
        module.zero_grad(set_to_none=True)
        x.feat.grad = x.efeat.grad = None
        sum(out.square().mean() for out in case.call(module, x)).backward()
        sync(dev)

    return step


class LayerForwardBackward(Inputs, Timing):
    params = (list(LAYERS), list(GRAPHS))
    param_names = ["layer", "graph"]

    def setup(self, inputs, layer, graph):
        self.step = forward_backward_step(inputs, layer, graph, device())
        self.step()                                     # first call: lazy init, allocator warm-up

    def time_forward_backward(self, inputs, layer, graph):
        self.step()
