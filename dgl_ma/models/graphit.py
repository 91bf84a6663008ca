"""GraphiT (Mialon et al. 2021, "GraphiT: Encoding Graph Structure in Transformers"): transformer
attention over all node pairs of each graph, re-weighted by a positive-definite graph kernel.
``graphit`` is the full model; ``graphit_sparse`` (the variant the MA paper ran) attends over
real edges only, without kernel."""
import math

import dgl
import dgl.function as fn
import torch
from torch import nn

from dgl_ma.data.task import TaskInfo
from dgl_ma.models.base import GraphModel, ModelConfig
from dgl_ma.models.options import OPTIONS
from dgl_ma.models.full_graph import complete_graph, diffusion_kernel, random_walk_kernel
from dgl_ma.models.heads import TaskHead, edge_encoder, node_encoder
from dgl_ma.layers.bias import (FLOOR, ExplicitBias, aggregate, attention_weights, clamped_exp,
                               max_shifted_exp)
from dgl_ma.layers.block import TransformerBlock
from dgl_ma.probes import Probed

KERNELS = {"diffusion": lambda g: diffusion_kernel(g, beta=1.0),                # reference defaults
           "random_walk": lambda g: random_walk_kernel(g, gamma=0.25, steps=16)}


class KernelAttention(Probed, nn.Module):
    r"""GraphiT's kernel-reweighted attention over the edges of the graph it is given:

    .. math::
        S_{ij} = \frac{K_j \odot Q_i}{\sqrt d} \odot P_{ij}, \qquad
        \alpha_{ij} = \frac{\exp(\sum_d S_{ij} - c_i)\,\kappa_{ij}}{\max(\sum_l \exp(\sum_d S_{il} - c_i)\,\kappa_{il}, 10^{-6})}

    with :math:`c_i` the largest logit into :math:`i` (inria-thoth/GraphiT
    ``transformer/layers.py``, :func:`dgl_ma.layers.bias.max_shifted_exp`). ``P`` (edge-feature
    gate) is optional (GraphiT has none; ``e=None``). Without kernel (``graphit_sparse``, the
    MA paper's variant, msorbi/gnn-ma ``graphit_gt_layer.py``) the weights are its clamped
    exponential instead, ``w = exp(clamp(Σ_d S, −5, 5))``, ``h_i = Σ_j w V_j / (Σ_j w + 10^{-6})``
    (:func:`dgl_ma.layers.bias.clamped_exp`), the same as GT's core. ``shared_qk`` uses one
    projection for queries and keys (GraphiT's ``k = q``); ``ebt`` adds the Explicit Bias Term,
    whose sink slot (κ = 1) joins the normalisation. Records ``S`` (``S'`` with ``gnn_ma``) as
    the ``"scores"`` probe, ``(E, H, d)``.

    Shapes: ``h`` ``(N, H d)``, ``e`` ``(E, H d)`` or None, ``kernel`` ``(E,)`` or None →
    ``(N, H, d)`` and ``S``.
    """

    def __init__(self, dim: int, num_heads: int, shared_qk: bool = False, use_bias: bool = False,
                 ebt: str = "none"):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.query = nn.Linear(dim, dim, bias=use_bias)
        self.key = self.query if shared_qk else nn.Linear(dim, dim, bias=use_bias)
        self.value = nn.Linear(dim, dim, bias=use_bias)
        self.edge = nn.Linear(dim, dim, bias=use_bias)
        self.bias = ExplicitBias(ebt, num_heads, self.head_dim)

    def forward(self, graph, h, e=None, kernel=None, get_attention=False):
        shape = (-1, self.num_heads, self.head_dim)
        q, v = self.query(h).view(shape), self.value(h).view(shape)                    # (N, H, d)
        with graph.local_scope():
            graph.ndata.update({"q": q, "k": self.key(h).view(shape)})
            graph.apply_edges(fn.u_mul_v("k", "q", "kq"))                              # (E, H, d)
            scores = graph.edata["kq"] / math.sqrt(self.head_dim)
        if e is not None:
            scores = scores * self.edge(e).view(shape)
        scores = self.bias.adjust_scores(graph, q, scores)
        self.record("scores", scores)
        logits = scores.sum(-1, keepdim=True)                                          # (E, H, 1)
        if kernel is None:  # the MA paper's sparse GraphiT: its clamped exponential
            weights, sink = clamped_exp(self.bias, q, logits)
            norm = {}
        else:
            weights, sink = max_shifted_exp(graph, self.bias, q, logits, kernel)
            norm = {"eps": 0.0, "floor": FLOOR}
        out = aggregate(graph, weights, v, self.bias, sink, **norm)
        if get_attention:
            return (out, scores, *attention_weights(graph, weights, sink, **norm))
        return out, scores


class GraphiTNet(GraphModel):
    """Encoders → ``layers`` × :class:`~dgl_ma.layers.block.TransformerBlock` of
    :class:`KernelAttention` → readout + MLP head. The edge embedding is the input one in every
    layer (no edge stream).

    Full variant (GraphiT, inria-thoth/GraphiT): the complete graph of each graph, self-pairs
    included, with κ per pair (``model.kernel``: diffusion ``exp(-L)`` or the 16-step random
    walk ``(I - L/4)^16``) and the degree normalisation ``1/√(1 + deg_i)`` of each node's
    attention output, built once in :meth:`prepare_graph`; keys tied to queries
    (``model.shared_qk``, default), no bias in the output projection. Edge features, when the
    task has them, gate the scores as in GT (an extension: GraphiT uses none); pairs that are
    not edges then share one learned edge embedding.

    Sparse variant (``graphit_sparse``, the MA paper's GraphiT, msorbi/gnn-ma): the real edges,
    no kernel, no degree normalisation, separate keys and queries, the clamped exponential."""

    full = True
    config_keys = OPTIONS["graphit"].reads

    def __init__(self, cfg: ModelConfig, task: TaskInfo):
        super().__init__()
        dim = cfg.heads * cfg.hidden
        self.kernel = cfg.kernel
        self.node_encoder = node_encoder(task, dim)
        self.edge_encoder = edge_encoder(task, dim)
        self.no_edge = nn.Parameter(torch.randn(dim)) if self.full and self.edge_encoder is not None else None
        self.input_dropout = nn.Dropout(cfg.input_dropout)
        shared_qk = self.full if cfg.shared_qk is None else cfg.shared_qk
        self.layers = nn.ModuleList(
            TransformerBlock(KernelAttention(dim, cfg.heads, shared_qk, cfg.use_bias, cfg.ebt), dim, cfg.dropout,
                             cfg.norm, out_bias=not self.full)
            for _ in range(cfg.layers))
        self.head = TaskHead(task, dim, cfg.readout)

    def prepare_graph(self, graph: dgl.DGLGraph) -> dgl.DGLGraph:
        if not self.full:
            return graph
        if graph.batch_size > 1:
            return dgl.batch([self.prepare_graph(g) for g in dgl.unbatch(graph)])
        full = complete_graph(graph)
        # edge i -> j of the complete graph carries κ[j, i] (GraphiT: row = query j, column = key i)
        full.edata["kernel"] = torch.as_tensor(KERNELS[self.kernel](graph).T, dtype=torch.float32,
                                               device=graph.device).reshape(-1)
        full.ndata["degree_scale"] = (1.0 + graph.out_degrees().float()).rsqrt().unsqueeze(-1)       # (n, 1)
        return full

    def forward(self, graph: dgl.DGLGraph, feat: torch.Tensor) -> torch.Tensor:
        h = self.input_dropout(self.node_encoder(feat))                                    # (N, D)
        e = self.edge_encoder(graph.edata["feat"]) if self.edge_encoder is not None else None
        kernel = scale = None
        if self.full:
            if e is not None:
                e = torch.where(graph.edata["real"].unsqueeze(-1), e, self.no_edge)       # (E, D)
            kernel, scale = graph.edata["kernel"], graph.ndata["degree_scale"]
        for layer in self.layers:
            h = layer(graph, h, e, kernel, node_scale=scale)
        return self.head(graph, h)                                               # (B or N, out)



class SparseGraphiTNet(GraphiTNet):
    full = False
    config_keys = OPTIONS["graphit_sparse"].reads
