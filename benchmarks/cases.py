"""The layers and models the benchmarks cover. A new layer or model is one entry here.

``LAYERS``: every attention layer of dgl-ma (with each attention norm) and the reference
implementations with the same maths. ``family`` groups a layer with its references (the ratio
table compares within a family); ``self_loops`` says which graph the layer sees. ``build``
takes ``(width, heads)`` and returns a module mapping ``width`` features to ``heads`` heads of
``width // heads`` channels; ``call`` runs it on a :class:`benchmarks.common.LayerInputs` and
returns the outputs that the loss sums (what the next layer would consume).

``MODELS``: names registered in ``dgl_ma.models.MODELS`` with :class:`ModelCase` options.
Each is benchmarked forward+backward on both graphs (graph task with readout on the molecules,
node task on the Cora-sized graph), for peak memory, and, when its layers have probe points
(``probed``), forward with activation probes off and on. ``full_graph`` models attend over all
node pairs: they run on the molecules only (2708² pairs would not fit). ``config`` overrides
fields of ``ModelConfig`` (the shared shape is in ``benchmarks/models.py``).

Adding a model is one line in ``_MODELS``, e.g. ``ModelCase("exphormer")``; adding a layer is
one ``LayerCase`` in ``_LAYERS`` (with ``ours=False`` for a reference implementation and its
family's entry in ``REFERENCES``).
"""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Tuple

import dgl_ma  # noqa: F401  (selects DGL's PyTorch backend)

import torch
from dgl.nn import GATConv
from torch import nn

from dgl_ma.layers import GATLayer, GraphTransformerLayer
from dgl_ma.layers.edge_attention import GTLayer
from dgl_ma.models.graphit import KernelAttention
from dgl_ma.models.san import SANAttention

try:  # optional (extra 'bench'); imported here so that asv's forkserver imports it once
    import torch_geometric.nn as pyg_nn
except ImportError:
    pyg_nn = None


def _dgl_call(layer, x) -> Tuple[torch.Tensor, ...]:
    return (layer(x.graph, x.feat),)


def _pyg_call(layer, x) -> Tuple[torch.Tensor, ...]:
    return (layer(x.feat, x.edge_index),)


def _edge_stream_call(layer, x) -> Tuple[torch.Tensor, ...]:
    return tuple(layer(x.graph, x.feat, x.efeat))            # GTLayer: new node and edge states


def _attention_core_call(layer, x) -> Tuple[torch.Tensor, ...]:
    return (layer(x.graph, x.feat, x.efeat)[0],)              # (out, scores): out feeds the layer


def _san_call(layer, x) -> Tuple[torch.Tensor, ...]:
    real = torch.ones(x.graph.num_edges(), dtype=torch.bool, device=x.feat.device)
    return (layer(x.graph, x.feat, x.efeat, real)[0],)


@dataclass(frozen=True)
class LayerCase:
    name: str
    family: str
    build: Callable[[int, int], nn.Module]
    self_loops: bool
    call: Callable[[nn.Module, Any], Tuple[torch.Tensor, ...]] = _dgl_call
    ours: bool = True


@dataclass(frozen=True)
class ModelCase:
    name: str
    probed: bool = True
    full_graph: bool = False
    config: Dict[str, Any] = field(default_factory=dict)


def _gat(norm):
    def build(width, heads):
        return GATLayer(width, width // heads, heads, attention_norm=norm)
    return build


def _transformer(norm):
    def build(width, heads):
        return GraphTransformerLayer(width, width // heads, heads, attention_norm=norm)
    return build


def _dgl_gatconv(width, heads):
    return GATConv(width, width // heads, heads)


def _pyg(cls_name, **kwargs):
    def build(width, heads):
        if pyg_nn is None:  # asv records the benchmark as skipped
            raise NotImplementedError("torch-geometric is not installed (extra 'bench')")
        return getattr(pyg_nn, cls_name)(width, width // heads, heads=heads, **kwargs)
    return build


def _gt_layer(width, heads):
    return GTLayer(width, heads, dropout=0.0, norm="batchnorm")


def _graphit_attention(width, heads):
    return KernelAttention(width, heads)


def _san_attention(width, heads):
    return SANAttention(width, heads, gamma=0.0, fake_edges=False)


_LAYERS = [
    # GAT: ours (self-loops in the graph), dgl.nn.GATConv, PyG GATConv on the same edges.
    LayerCase("gat", "gat", _gat("none"), self_loops=True),
    LayerCase("gat_lipschitz", "gat", _gat("lipschitz"), self_loops=True),
    LayerCase("gat_lipschitz_per_head", "gat", _gat("lipschitz_per_head"), self_loops=True),
    LayerCase("dgl_gatconv", "gat", _dgl_gatconv, self_loops=True, ours=False),
    LayerCase("pyg_gatconv", "gat", _pyg("GATConv", add_self_loops=False), self_loops=True, call=_pyg_call,
              ours=False),
    # UniMP TransformerConv: ours and PyG's (same parameter layout and maths), no self-loops.
    LayerCase("transformer", "transformer", _transformer("none"), self_loops=False),
    LayerCase("transformer_lipschitz", "transformer", _transformer("lipschitz"), self_loops=False),
    LayerCase("pyg_transformerconv", "transformer", _pyg("TransformerConv"), self_loops=False, call=_pyg_call,
              ours=False),
    # Edge-featured attention of the graph transformers (no library implements the same maths).
    LayerCase("gt", "edge_attention", _gt_layer, self_loops=False, call=_edge_stream_call),
    LayerCase("graphit_sparse_attention", "edge_attention", _graphit_attention, self_loops=False,
              call=_attention_core_call),
    LayerCase("san_sparse_attention", "edge_attention", _san_attention, self_loops=False, call=_san_call),
]
LAYERS: Dict[str, LayerCase] = {case.name: case for case in _LAYERS}

# The references each of our layers is compared with in the ratio table (benchmarks/ratios.py).
REFERENCES = {"gat": ("dgl_gatconv", "pyg_gatconv"), "transformer": ("pyg_transformerconv",)}

_GT = {"norm": "batchnorm"}
_MODELS = [
    ModelCase("gat"),
    ModelCase("unimp"),
    ModelCase("gcn", probed=False),
    ModelCase("gt", config=_GT),        # no Laplacian PE: dgl.lap_pe takes ~30 s on 2708 nodes
    ModelCase("graphit", full_graph=True, config=_GT),
    ModelCase("graphit_sparse", config=_GT),
    ModelCase("san", full_graph=True, config={**_GT, "pos_enc": 8}),
    ModelCase("san_sparse", config=_GT),
]
MODELS: Dict[str, ModelCase] = {case.name: case for case in _MODELS}
