"""SAN (Kreuzer et al. 2021, "Rethinking Graph Transformers with Spectral Attention"): full-graph
attention with separate parameters for real edges and for added "fake" edges, plus the Learned
Positional Encoding over Laplacian eigen-pairs. ``san_sparse`` (the variant of the MA paper) is
the same attention on real edges only (γ = 0), without LPE."""
import math

import dgl
import dgl.function as fn
import numpy as np
import torch
from torch import nn

from dgl_ma.data.task import TaskInfo
from dgl_ma.models.base import GraphModel, ModelConfig
from dgl_ma.models.options import OPTIONS
from dgl_ma.models.full_graph import complete_graph, normalized_laplacian
from dgl_ma.layers.block import TransformerBlock
from dgl_ma.models.heads import TaskHead, edge_encoder, node_encoder
from dgl_ma.layers.bias import ExplicitBias, aggregate, attention_weights, clamped_exp
from dgl_ma.probes import Probed


class SANAttention(Probed, nn.Module):
    r"""SAN's attention (DevinKreuzer/SAN ``layers/graph_transformer_layer.py``). For a real
    edge :math:`S_{ij} = K^1_j \odot Q^1_i / \sqrt d \odot E^1(e_{ij})`, for a fake one
    (a pair that is not an edge) :math:`S_{ij} = K^2_j \odot Q^2_i / \sqrt d \odot E^2(e_{ij})`,
    with :math:`e_{ij}` there the constant fake-edge embedding;
    :math:`w_{ij} = \exp(\mathrm{clamp}(\sum_d S_{ij}, -5, 5)) \cdot c_{ij}` with
    :math:`c = 1/(1+\gamma)` on real and :math:`\gamma/(1+\gamma)` on fake edges;
    :math:`h_i = \sum_j w_{ij} V_j / (\sum_j w_{ij} + 10^{-6})` with one value map :math:`V`
    for both kinds. Records ``S`` (all pairs) as the ``"scores"`` probe. ``ebt`` adds the
    Explicit Bias Term through the real-edge queries (the sink slot is weighted like a real
    edge; the reference's full-graph EBT path referred to parameters it never created).

    Shapes: ``h`` ``(N, H d)``, ``e`` ``(E, H d)`` (per pair), ``real`` ``(E,)`` → ``(N, H, d)``
    and ``S`` ``(E, H, d)``.
    """

    def __init__(self, dim: int, num_heads: int, gamma: float, use_bias: bool = False, fake_edges: bool = True,
                 ebt: str = "none"):
        super().__init__()
        self.num_heads, self.head_dim, self.gamma = num_heads, dim // num_heads, gamma
        self.real = nn.ModuleDict({k: nn.Linear(dim, dim, bias=use_bias) for k in ("query", "key", "edge")})
        # the sparse variant sees real edges only: no parameters for fake ones
        self.fake = nn.ModuleDict({k: nn.Linear(dim, dim, bias=use_bias) for k in ("query", "key", "edge")}) \
            if fake_edges else None
        self.value = nn.Linear(dim, dim, bias=use_bias)
        self.bias = ExplicitBias(ebt, num_heads, self.head_dim)

    def forward(self, graph, h, e, real, get_attention=False):
        shape = (-1, self.num_heads, self.head_dim)
        real = real.view(-1, 1, 1)                                                   # (E, 1, 1)
        kinds = (("1", self.real),) if self.fake is None else (("1", self.real), ("2", self.fake))
        scale = math.sqrt(self.head_dim)
        with graph.local_scope():
            for tag, proj in kinds:
                graph.ndata.update({f"q{tag}": proj["query"](h).view(shape), f"k{tag}": proj["key"](h).view(shape)})
                graph.apply_edges(fn.u_mul_v(f"k{tag}", f"q{tag}", f"kq{tag}"))
                graph.edata[f"s{tag}"] = graph.edata[f"kq{tag}"] / scale * proj["edge"](e).view(shape)
            q1 = graph.ndata["q1"]
            scores = graph.edata["s1"] if self.fake is None else torch.where(real, graph.edata["s1"], graph.edata["s2"])
        scores = self.bias.adjust_scores(graph, q1, scores)                          # (E, H, d)
        self.record("scores", scores)
        real_weight = 1.0 / (1.0 + self.gamma)
        weights, sink = clamped_exp(self.bias, q1, scores.sum(-1, keepdim=True))
        weights = weights * torch.where(real, weights.new_tensor(real_weight),
                                        weights.new_tensor(self.gamma / (1.0 + self.gamma)))   # (E, H, 1)
        sink = sink * real_weight if sink is not None else None
        out = aggregate(graph, weights, self.value(h).view(shape), self.bias, sink)  # (N, H, d)
        if get_attention:
            return (out, scores, *attention_weights(graph, weights, sink))
        return out, scores


class LearnedPositionalEncoding(nn.Module):
    """SAN's LPE: for each node a sequence of its ``m`` lowest eigen-pairs ``(λ_k, φ_k(i))`` goes
    through ``Linear(2 → d)`` and a one-layer transformer encoder, then a masked sum over k.

    Shapes: ``eigval``, ``eigvec`` ``(N, m)``, ``pad`` ``(N, m)`` bool → ``(N, d)``.
    """

    def __init__(self, dim: int, heads: int = 2):
        super().__init__()
        self.embed = nn.Linear(2, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)

    def forward(self, eigval, eigvec, pad):
        tokens = self.embed(torch.stack([eigval, eigvec], dim=-1))                   # (N, m, d)
        tokens = self.encoder(tokens, src_key_padding_mask=pad)
        return tokens.masked_fill(pad.unsqueeze(-1), 0.0).sum(dim=1)                 # (N, d)


class SANNet(GraphModel):
    """Encoders (+ LPE when ``model.pos_enc = m`` > 0, concatenated to the node embedding) →
    ``layers`` × :class:`~dgl_ma.layers.block.TransformerBlock` of :class:`SANAttention` on the
    complete graph without self-pairs (``n(n−1)`` pairs, as SAN's ``nx.complete_graph``) →
    readout + MLP head. Fake-edge weight ``model.fake_edge_gamma``; the edge embedding is the
    input one in every layer. Pairs that are not edges share one learned fake-edge embedding
    (SAN: the embedding of bond type 0, which no real edge of ZINC has), seen through their own
    projection :math:`E^2`; without edge features, real edges share another one."""

    full = True
    config_keys = OPTIONS["san"].reads

    def __init__(self, cfg: ModelConfig, task: TaskInfo):
        super().__init__()
        dim = cfg.heads * cfg.hidden
        self.eigenpairs = cfg.pos_enc if self.full else 0
        pe_dim = 2 * max(1, dim // 8) if self.eigenpairs else 0
        self.node_encoder = node_encoder(task, dim - pe_dim)
        self.lpe = LearnedPositionalEncoding(pe_dim) if self.eigenpairs else None
        self.edge_encoder = edge_encoder(task, dim)
        self.plain_edge = nn.Parameter(torch.randn(dim)) if self.edge_encoder is None else None
        self.no_edge = nn.Parameter(torch.randn(dim)) if self.full else None       # pairs that are not edges
        self.input_dropout = nn.Dropout(cfg.input_dropout)
        gamma = cfg.fake_edge_gamma if self.full else 0.0
        self.layers = nn.ModuleList(
            TransformerBlock(SANAttention(dim, cfg.heads, gamma, cfg.use_bias, self.full, cfg.ebt), dim, cfg.dropout, cfg.norm)
            for _ in range(cfg.layers))
        self.head = TaskHead(task, dim, cfg.readout)

    def prepare_graph(self, graph: dgl.DGLGraph) -> dgl.DGLGraph:
        if graph.batch_size > 1:
            return dgl.batch([self.prepare_graph(g) for g in dgl.unbatch(graph)])
        out = complete_graph(graph, self_pairs=False) if self.full else graph.clone()
        if not self.full:
            out.edata["real"] = torch.ones(graph.num_edges(), dtype=torch.bool, device=graph.device)
        if self.eigenpairs:
            n, m = graph.num_nodes(), self.eigenpairs
            values, vectors = np.linalg.eigh(normalized_laplacian(graph))            # ascending
            k = min(n, m)
            device = graph.device
            vec, val = torch.zeros(n, m, device=device), torch.zeros(n, m, device=device)
            vec[:, :k] = torch.as_tensor(vectors[:, :k], dtype=torch.float32, device=device)
            val[:, :k] = torch.as_tensor(values[:k], dtype=torch.float32, device=device)
            out.ndata.update({"eigvec": vec, "eigval": val, "eigpad": torch.arange(m, device=device).expand(n, m) >= k})
        return out

    def forward(self, graph: dgl.DGLGraph, feat: torch.Tensor) -> torch.Tensor:
        h = self.node_encoder(feat)
        if self.lpe is not None:
            vec = graph.ndata["eigvec"]
            if self.training:  # eigenvectors are defined up to sign
                vec = vec * (torch.randint(0, 2, (1, vec.shape[1]), device=vec.device) * 2 - 1)
            h = torch.cat([h, self.lpe(graph.ndata["eigval"], vec, graph.ndata["eigpad"])], dim=-1)
        h = self.input_dropout(h)                                                    # (N, D)
        real = graph.edata["real"]
        if self.edge_encoder is not None:
            e = self.edge_encoder(graph.edata["feat"])                               # (E, D)
        else:
            e = self.plain_edge.expand(graph.num_edges(), -1)
        if self.full:
            e = torch.where(real.unsqueeze(-1), e, self.no_edge)
        for layer in self.layers:
            h = layer(graph, h, e, real)
        return self.head(graph, h)                                               # (B or N, out)



class SparseSANNet(SANNet):
    full = False
    config_keys = OPTIONS["san_sparse"].reads
