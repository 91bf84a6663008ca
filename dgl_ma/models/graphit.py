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
from dgl_ma.errors import ConfigError
from dgl_ma.models.base import GraphModel, ModelConfig
from dgl_ma.models.full_graph import complete_graph, diffusion_kernel, random_walk_kernel
from dgl_ma.models.heads import TaskHead, edge_encoder, node_encoder
from dgl_ma.layers.bias import EBT_FORMS, ExplicitBias, aggregate, attention_weights
from dgl_ma.layers.block import BLOCK_NORMS, TransformerBlock
from dgl_ma.probes import Probed

KERNELS = {"diffusion": lambda g: diffusion_kernel(g, beta=1.0),                # reference defaults
           "random_walk": lambda g: random_walk_kernel(g, gamma=0.25, steps=16)}


def check_norm(cfg: ModelConfig) -> None:
    """Norm and EBT choices shared by the graph transformers of the MA study."""
    if cfg.norm not in BLOCK_NORMS:
        raise ConfigError(f"model.norm={cfg.norm!r} is not available for model {cfg.name!r}; choose one of {', '.join(BLOCK_NORMS)}.")
    if cfg.ebt not in EBT_FORMS:
        raise ConfigError(f"model.ebt={cfg.ebt!r} is not an Explicit Bias Term form; choose one of {', '.join(EBT_FORMS)}.")


class KernelAttention(Probed, nn.Module):
    r"""Kernel-reweighted softmax attention over the edges of the graph it is given:

    .. math::
        S_{ij} = \frac{K_j \odot Q_i}{\sqrt d} \odot P_{ij}, \qquad
        \alpha_{ij} = \frac{\exp(\sum_d S_{ij})\,\kappa_{ij}}{\sum_l \exp(\sum_d S_{il})\,\kappa_{il}}

    computed stably as ``exp(logit - max)`` normalised per node; ``P`` (edge-feature gate) is
    optional and ``κ = 1`` without kernel. ``shared_qk`` uses one projection for queries and keys
    (symmetric attention); ``ebt`` adds the Explicit Bias Term, whose sink slot (κ = 1) joins
    the softmax. Records ``S`` (``S'`` with ``gnn_ma``) as the ``"scores"`` probe, ``(E, H, d)``.

    Shapes: ``h`` ``(N, H d)``, ``e`` ``(E, H d)`` or None, ``log_kernel`` ``(E,)`` or None →
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

    def forward(self, graph, h, e=None, log_kernel=None, get_attention=False):
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
        if log_kernel is not None:
            logits = logits + log_kernel.view(-1, 1, 1)
        sink_logit = self.bias.sink_logit(q)                                           # (N, H, 1) or None
        with graph.local_scope():  # softmax over N(i) (and the sink slot), shifted by its maximum
            graph.edata["l"] = logits
            graph.update_all(fn.copy_e("l", "m"), fn.max("m", "c"))
            shift = graph.ndata["c"] if sink_logit is None else torch.maximum(graph.ndata["c"], sink_logit)
            shift = shift.detach()
        _, dst = graph.edges()
        weights = torch.exp(logits - shift[dst])
        sink = torch.exp(sink_logit - shift) if sink_logit is not None else None
        out = aggregate(graph, weights, v, self.bias, sink, eps=0.0)
        if get_attention:
            return (out, scores, *attention_weights(graph, weights, sink, eps=0.0))
        return out, scores


class GraphiTNet(GraphModel):
    """Encoders → ``layers`` × :class:`~dgl_ma.layers.block.TransformerBlock` of
    :class:`KernelAttention` → readout + MLP head. The edge embedding is
    the input one in every layer (no edge stream). Full variant: the complete graph of each
    graph with ``log κ`` per pair (``model.kernel``: diffusion ``exp(-L)`` or the 16-step
    random walk ``(I - L/4)^16``), built once in :meth:`prepare_graph`; pairs that are not edges
    share one learned edge embedding."""

    full = True

    def __init__(self, cfg: ModelConfig, task: TaskInfo):
        super().__init__()
        dim = cfg.heads * cfg.hidden
        self.kernel = cfg.kernel
        self.node_encoder = node_encoder(task, dim)
        self.edge_encoder = edge_encoder(task, dim)
        self.no_edge = nn.Parameter(torch.randn(dim)) if self.full else None   # pairs that are not edges
        self.dropout = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(
            TransformerBlock(KernelAttention(dim, cfg.heads, cfg.shared_qk, cfg.use_bias, cfg.ebt), dim, cfg.dropout, cfg.norm)
            for _ in range(cfg.layers))
        self.head = TaskHead(task, dim, cfg.readout)

    @classmethod
    def check_config(cls, cfg: ModelConfig) -> None:
        check_norm(cfg)
        if cls.full and cfg.kernel not in KERNELS:
            raise ConfigError(f"model.kernel={cfg.kernel!r} is not a GraphiT kernel; choose one of {', '.join(KERNELS)}.")

    def prepare_graph(self, graph: dgl.DGLGraph) -> dgl.DGLGraph:
        if not self.full:
            return graph
        if graph.batch_size > 1:
            return dgl.batch([self.prepare_graph(g) for g in dgl.unbatch(graph)])
        full = complete_graph(graph)
        kernel = torch.as_tensor(KERNELS[self.kernel](graph), dtype=torch.float32, device=graph.device).reshape(-1)  # (n·n,)
        full.edata["log_kernel"] = torch.log(kernel.clamp_min(1e-30))
        return full

    def forward(self, graph: dgl.DGLGraph, feat: torch.Tensor) -> torch.Tensor:
        h = self.dropout(self.node_encoder(feat))                                    # (N, D)
        e = self.edge_encoder(graph.edata["feat"]) if self.edge_encoder is not None else None
        if self.full:
            real = graph.edata["real"].unsqueeze(-1)                                 # (E, 1)
            e = torch.where(real, e, self.no_edge) if e is not None else self.no_edge.expand(graph.num_edges(), -1)
        log_kernel = graph.edata["log_kernel"] if self.full else None
        for layer in self.layers:
            h = layer(graph, h, e, log_kernel)
        return self.head(graph, h)                                               # (B or N, out)



class SparseGraphiTNet(GraphiTNet):
    full = False
