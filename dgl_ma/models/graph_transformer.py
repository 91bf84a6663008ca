"""GraphTransformer (Dwivedi & Bresson 2021, "A Generalization of Transformer Networks to
Graphs"): sparse edge-featured attention with an edge stream, BatchNorm or LayerNorm, optional
Laplacian positional encoding."""
import dgl
import torch
from torch import nn

from dgl_ma.data.task import TaskInfo
from dgl_ma.layers.edge_attention import GTLayer
from dgl_ma.models.base import GraphModel, ModelConfig
from dgl_ma.models.options import OPTIONS
from dgl_ma.models.heads import TaskHead, edge_encoder, node_encoder



class GraphTransformerNet(GraphModel):
    """Encoders → input dropout → ``layers`` × :class:`~dgl_ma.layers.edge_attention.GTLayer` →
    readout + MLP head (graph tasks) or a linear head (node tasks). Width ``D = heads · hidden``.

    Without edge features, every edge starts from one learned vector. With ``pos_enc = k`` the
    k smallest non-trivial eigenvectors of the normalised Laplacian (``dgl.lap_pe``, computed
    once per graph in :meth:`prepare_graph`) are added after a linear map, with a random sign
    flip per training batch.

    Shapes: ``feat`` ``(N, ·)`` and ``graph.edata['feat']`` → ``(B, out)`` or ``(N, out)``.
    """

    config_keys = OPTIONS["gt"].reads

    def __init__(self, cfg: ModelConfig, task: TaskInfo):
        super().__init__()
        dim = cfg.heads * cfg.hidden
        self.node_encoder = node_encoder(task, dim)
        self.edge_encoder = edge_encoder(task, dim)
        self.no_edge = nn.Parameter(torch.randn(dim)) if self.edge_encoder is None else None
        self.pos_enc = cfg.pos_enc
        self.pe_linear = nn.Linear(cfg.pos_enc, dim) if cfg.pos_enc else None
        self.input_dropout = nn.Dropout(cfg.input_dropout)
        self.layers = nn.ModuleList(GTLayer(dim, cfg.heads, cfg.dropout, cfg.norm, cfg.use_bias, cfg.ebt)
                                    for _ in range(cfg.layers))
        self.head = TaskHead(task, dim, cfg.readout)

    def prepare_graph(self, graph: dgl.DGLGraph) -> dgl.DGLGraph:
        """Attach the Laplacian PE (when ``pos_enc`` > 0) to a copy; the input is not modified."""
        if not self.pos_enc:
            return graph
        if graph.batch_size > 1:
            return dgl.batch([self.prepare_graph(g) for g in dgl.unbatch(graph)])
        graph = graph.clone()
        graph.ndata["lap_pe"] = dgl.lap_pe(graph, self.pos_enc, padding=True)    # (N, k)
        return graph

    def forward(self, graph: dgl.DGLGraph, feat: torch.Tensor) -> torch.Tensor:
        h = self.node_encoder(feat)                                              # (N, D)
        if self.pe_linear is not None:
            pe = graph.ndata["lap_pe"]                                           # (N, k)
            if self.training:  # eigenvectors are defined up to sign: flip at random per batch
                pe = pe * (torch.randint(0, 2, (1, pe.shape[1]), device=pe.device) * 2 - 1)
            h = h + self.pe_linear(pe)
        if self.edge_encoder is not None:
            e = self.edge_encoder(graph.edata["feat"])                           # (E, D)
        else:
            e = self.no_edge.expand(graph.num_edges(), -1)
        h = self.input_dropout(h)
        for layer in self.layers:
            h, e = layer(graph, h, e)
        return self.head(graph, h)                                               # (B or N, out)
