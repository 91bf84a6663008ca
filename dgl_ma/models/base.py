"""The small interface every model follows and building a registered model from its config.
Which config keys each model reads and accepts is declared torch-free in
:mod:`dgl_ma.models.options` (``readers`` and ``unread_keys`` are re-exported here)."""
from typing import Callable, Tuple

import dgl
from torch import nn

from dgl_ma.data.task import TaskInfo
from dgl_ma.models.catalog import MODELS
from dgl_ma.models.config import ModelConfig
from dgl_ma.models.options import COMMON_KEYS, OPTIONS


class GraphModel(nn.Module):
    """Base class: ``forward(graph, feat)`` returns per-node outputs for node tasks and
    per-graph outputs for graph tasks. ``prepare_graph`` runs once per graph before training
    (e.g. adding self-loops), never inside the training loop. ``config_keys``: the
    :class:`ModelConfig` fields the model reads; any other ``model.*`` value has no effect on it
    (see :func:`unread_keys`)."""

    config_keys: Tuple[str, ...] = COMMON_KEYS

    def prepare_graph(self, graph: dgl.DGLGraph) -> dgl.DGLGraph:
        return graph

    @classmethod
    def check_config(cls, cfg: "ModelConfig") -> None:
        """Raise :class:`ConfigError` for options this model does not support (before any run).
        Built-in models are checked by their declaration (:data:`dgl_ma.models.options.OPTIONS`);
        a model registered from user code may override this."""
        if cfg.name in OPTIONS:
            OPTIONS[cfg.name].check(cfg)


ModelBuilder = Callable[[ModelConfig, TaskInfo], GraphModel]


def build_model(cfg: ModelConfig, task: TaskInfo) -> GraphModel:
    """Instantiate the registered model ``cfg.name`` for ``task``."""
    return MODELS.get(cfg.name)(cfg, task)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
