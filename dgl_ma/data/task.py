"""What a model and the training engine need to know about a dataset."""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import dgl
import torch


@dataclass(frozen=True)
class TaskInfo:
    """Shape and objective of a task.

    level: ``"node"`` (one full graph, predictions per node) or ``"graph"`` (one per graph).
    loss: ``"cross_entropy"`` (class index targets), ``"l1"`` (scalar regression) or
    ``"bce_masked"`` (multi-label 0/1 targets, NaN = missing label, ignored).
    metric: a name in :data:`dgl_ma.metrics.METRICS`.
    Input features (see :func:`dgl_ma.models.heads.node_encoder`): continuous ``ndata['feat']``
    of width ``in_dim`` by default; ``node_vocab > 0``: one integer category per node (an
    embedding table of that size); ``ogb_mol``: OGB's categorical atom and bond features
    (``AtomEncoder``/``BondEncoder``). Edge features: ``edge_vocab > 0`` integer categories in
    ``edata['feat']``, ``edge_dim > 0`` continuous ones, both 0 for none.
    """

    level: str
    in_dim: int
    out_dim: int
    loss: str
    metric: str
    node_vocab: int = 0
    edge_vocab: int = 0
    edge_dim: int = 0
    ogb_mol: bool = False


@dataclass
class NodeTask:
    """One graph with ``ndata`` ``feat``, ``label`` and boolean ``train_mask``/``val_mask``/``test_mask``."""

    info: TaskInfo
    graph: dgl.DGLGraph


GraphSample = Tuple[dgl.DGLGraph, torch.Tensor]


@dataclass
class GraphTask:
    """Lists of ``(graph, label)`` pairs; every graph carries ``ndata['feat']``."""

    info: TaskInfo
    train: List[GraphSample]
    val: List[GraphSample]
    test: List[GraphSample]

    def splits(self) -> Sequence[Tuple[str, List[GraphSample]]]:
        return (("train", self.train), ("val", self.val), ("test", self.test))
