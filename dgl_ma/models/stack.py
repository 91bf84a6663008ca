"""Deep node/graph models as a stack of one layer type, with one norm mechanism for all.

``StackNet`` is the skeleton of the reference deep experiments (Dasoulas et al. 2021):
``Linear(in → hidden)``, input dropout (``model.input_dropout``; 0 in the reference, whose
dropout is the one before every layer), then ``layers`` × [dropout → layer (+ input when ``model.residual``
and the widths match) → feature norm → ELU (not after the last)], then a linear classifier (node tasks) or a pooled readout with the MLP head (graph
tasks). Subclasses only say how to build one layer and which attention norms it supports.

``model.norm`` selects the normalisation: an attention-score norm (``lipschitz``,
``lipschitz_per_head``, handed to the layer), a feature norm applied after each layer
(``pairnorm``, ``layernorm``), or one of each joined by ``+`` (``lipschitz+layernorm``).
"""
from typing import Tuple

import dgl
import torch
import torch.nn.functional as F
from dgl.nn import GraphConv
from torch import nn

from dgl_ma.data.task import TaskInfo
from dgl_ma.layers import GATLayer, GraphTransformerLayer
from dgl_ma.layers.norms import FEATURE_NORMS
from dgl_ma.models.base import GraphModel, ModelConfig
from dgl_ma.models.options import GAT_ATTENTION_NORMS, OPTIONS, UNIMP_ATTENTION_NORMS, split_norm
from dgl_ma.models.heads import TaskHead, node_encoder


class StackNet(GraphModel):
    """Skeleton; subclasses set ``attention_norms`` and implement :meth:`make_layer`.

    Shapes: ``feat`` ``(N, in_dim)`` → ``(N, out_dim)`` (node tasks) or ``(B, out_dim)``.
    """

    attention_norms: Tuple[str, ...] = ()
    self_loops = True
    config_keys = OPTIONS["gcn"].reads

    def __init__(self, cfg: ModelConfig, task: TaskInfo):
        super().__init__()
        attention_norm, feature_norm = split_norm(cfg.norm, cfg.name, self.attention_norms)
        width = cfg.heads * cfg.hidden
        self.node_encoder = node_encoder(task, cfg.hidden)
        self.input_dropout = nn.Dropout(cfg.input_dropout)
        self.dropout = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(
            self.make_layer(cfg.hidden if i == 0 else width, cfg, attention_norm) for i in range(cfg.layers)
        )
        self.feature_norms = None
        if feature_norm is not None:
            self.feature_norms = nn.ModuleList(FEATURE_NORMS[feature_norm](width) for _ in range(cfg.layers))
        self.residual = cfg.residual
        self.head = TaskHead(task, width, cfg.readout)

    def make_layer(self, in_dim: int, cfg: ModelConfig, attention_norm: str) -> nn.Module:
        raise NotImplementedError

    def prepare_graph(self, graph: dgl.DGLGraph) -> dgl.DGLGraph:
        """Exactly one self-loop per node when the layer type needs them. A batched graph is
        handled graph by graph, since ``dgl.add_self_loop`` drops the batch information."""
        if not self.self_loops:
            return graph
        if graph.batch_size > 1:
            return dgl.batch([self.prepare_graph(g) for g in dgl.unbatch(graph)])
        return dgl.add_self_loop(dgl.remove_self_loop(graph))

    def forward(self, graph: dgl.DGLGraph, feat: torch.Tensor) -> torch.Tensor:
        h = self.input_dropout(self.node_encoder(feat))                    # (N, hidden)
        for i, layer in enumerate(self.layers):
            out = layer(graph, self.dropout(h)).flatten(1)                 # (N, H·C)
            h = out + h if self.residual and out.shape == h.shape else out
            if self.feature_norms is not None:
                h = self.feature_norms[i](graph, h)
            if i < len(self.layers) - 1:
                h = F.elu(h)
        return self.head(graph, h)                                         # (B or N, out)


class GATNet(StackNet):
    """:class:`StackNet` of :class:`dgl_ma.layers.GATLayer` (heads concatenated)."""

    attention_norms = GAT_ATTENTION_NORMS
    config_keys = OPTIONS["gat"].reads

    def make_layer(self, in_dim, cfg, attention_norm):
        return GATLayer(in_dim, cfg.hidden, cfg.heads, attn_drop=cfg.attn_dropout, attention_norm=attention_norm)


class UniMPNet(StackNet):
    """:class:`StackNet` of :class:`dgl_ma.layers.GraphTransformerLayer`; attention over the
    graph's edges only (the root weight carries the node itself, no self-loops added)."""

    attention_norms = UNIMP_ATTENTION_NORMS
    self_loops = False
    config_keys = OPTIONS["unimp"].reads

    def make_layer(self, in_dim, cfg, attention_norm):
        return GraphTransformerLayer(in_dim, cfg.hidden, cfg.heads, attn_drop=cfg.attn_dropout,
                                     attention_norm=attention_norm)


class GCNNet(StackNet):
    """The uniform-attention baseline: LipschitzNorm attention is close to uniform, so deep
    GAT+LipschitzNorm must be read next to a mean-aggregation GCN of the same width."""

    def make_layer(self, in_dim, cfg, attention_norm):
        return GraphConv(in_dim, cfg.heads * cfg.hidden, norm="right", allow_zero_in_degree=True)
