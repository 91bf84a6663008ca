"""What a model and the training engine need to know about a dataset."""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import dgl
import torch


@dataclass(frozen=True)
class TaskInfo:
    """Shape and objective of a task.

    level: ``"node"`` (one full graph, predictions per node) or ``"graph"`` (one per graph).
    loss: ``"cross_entropy"`` (class index targets) or ``"l1"`` (scalar regression).
    metric: a name in :data:`dgl_ma.metrics.METRICS`.
    """

    level: str
    in_dim: int
    out_dim: int
    loss: str
    metric: str


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
