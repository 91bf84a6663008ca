"""GAT network for node and graph tasks, built from :class:`dgl_ma.layers.GATLayer`."""
import dgl
import torch
import torch.nn.functional as F
from torch import nn

from dgl_ma.data.task import TaskInfo
from dgl_ma.layers import GATLayer
from dgl_ma.models.base import MODELS, GraphModel, ModelConfig
from dgl_ma.models.heads import GraphReadout


@MODELS.register("gat", "GAT (Veličković et al. 2018): multi-head additive attention, self-loops, ELU")
class GATNet(GraphModel):
    """Input ``Linear(in → H·C)``, then ``layers`` GAT layers (``H`` heads of ``C`` channels,
    concatenated, ELU between layers, dropout before each), then a linear classifier for node
    tasks or a pooling readout with the MLP head for graph tasks.

    Shapes:
        - input: ``feat`` ``(N, in_dim)``
        - output: ``(N, out_dim)`` for node tasks, ``(B, out_dim)`` for a batch of ``B`` graphs

    Example:
        >>> import dgl, torch
        >>> from dgl_ma.data.task import TaskInfo
        >>> task = TaskInfo("node", in_dim=5, out_dim=3, loss="cross_entropy", metric="accuracy")
        >>> model = GATNet(ModelConfig(layers=2, hidden=4, heads=2), task)
        >>> g = model.prepare_graph(dgl.graph(([0, 1], [1, 2])))
        >>> tuple(model(g, torch.randn(3, 5)).shape)
        (3, 3)
    """

    def __init__(self, cfg: ModelConfig, task: TaskInfo):
        super().__init__()
        width = cfg.heads * cfg.hidden
        self.encoder = nn.Linear(task.in_dim, width)
        self.layers = nn.ModuleList(
            GATLayer(width, cfg.hidden, cfg.heads, feat_drop=cfg.dropout, attn_drop=cfg.attn_dropout,
                     residual=cfg.residual)
            for _ in range(cfg.layers)
        )
        self.graph_level = task.level == "graph"
        self.head = GraphReadout(cfg.readout, width, task.out_dim) if self.graph_level else nn.Linear(width, task.out_dim)

    def prepare_graph(self, graph: dgl.DGLGraph) -> dgl.DGLGraph:
        """Attention includes each node itself: exactly one self-loop per node. A batched graph
        is handled graph by graph, since ``dgl.add_self_loop`` drops the batch information."""
        if graph.batch_size > 1:
            return dgl.batch([self.prepare_graph(g) for g in dgl.unbatch(graph)])
        return dgl.add_self_loop(dgl.remove_self_loop(graph))

    def forward(self, graph: dgl.DGLGraph, feat: torch.Tensor) -> torch.Tensor:
        h = self.encoder(feat)                                   # (N, H·C)
        for i, layer in enumerate(self.layers):
            h = layer(graph, h).flatten(1)                       # (N, H·C)
            if i < len(self.layers) - 1:
                h = F.elu(h)
        if self.graph_level:
            return self.head(graph, h)                           # (B, out)
        return self.head(h)                                      # (N, out)
