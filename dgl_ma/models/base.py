"""The small interface every model follows, building a registered model from its config, and
which config keys each model reads."""
from dataclasses import fields
from typing import Callable, List, Mapping, Tuple

import dgl
from torch import nn

from dgl_ma.data.task import TaskInfo
from dgl_ma.models.catalog import MODELS
from dgl_ma.models.config import ModelConfig


# The ModelConfig fields every model reads; each model class adds its own in ``config_keys``.
COMMON_KEYS = ("name", "layers", "hidden", "heads", "dropout", "readout", "norm")


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
        """Raise :class:`ConfigError` for options this model does not support (before any run)."""


ModelBuilder = Callable[[ModelConfig, TaskInfo], GraphModel]


def build_model(cfg: ModelConfig, task: TaskInfo) -> GraphModel:
    """Instantiate the registered model ``cfg.name`` for ``task``."""
    return MODELS.get(cfg.name)(cfg, task)


def readers(key: str) -> List[str]:
    """The registered models that read ``ModelConfig`` field ``key``."""
    return [name for name in MODELS.names() if key in MODELS.get(name).config_keys]


def unread_keys(model: Mapping[str, object]) -> List[str]:
    """The fields of the ``model`` config group (a mapping, e.g. a record's ``config["model"]``)
    that are set away from their default but not read by model ``model["name"]``: they do not
    change what is trained. Empty for an unknown model name."""
    name = model.get("name")
    if name not in MODELS:
        return []
    reads = MODELS.get(name).config_keys
    return [f.name for f in fields(ModelConfig)
            if f.name in model and f.name not in reads and model[f.name] != f.default]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
