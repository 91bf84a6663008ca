"""The small interface every model follows, and building a registered model from its config."""
from typing import Callable

import dgl
from torch import nn

from dgl_ma.data.task import TaskInfo
from dgl_ma.models.catalog import MODELS
from dgl_ma.models.config import ModelConfig


class GraphModel(nn.Module):
    """Base class: ``forward(graph, feat)`` returns per-node outputs for node tasks and
    per-graph outputs for graph tasks. ``prepare_graph`` runs once per graph before training
    (e.g. adding self-loops), never inside the training loop."""

    def prepare_graph(self, graph: dgl.DGLGraph) -> dgl.DGLGraph:
        return graph

    @classmethod
    def check_config(cls, cfg: "ModelConfig") -> None:
        """Raise :class:`ConfigError` for options this model does not support (before any run)."""


ModelBuilder = Callable[[ModelConfig, TaskInfo], GraphModel]


def build_model(cfg: ModelConfig, task: TaskInfo) -> GraphModel:
    """Instantiate the registered model ``cfg.name`` for ``task``."""
    return MODELS.get(cfg.name)(cfg, task)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
