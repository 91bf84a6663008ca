"""Models and their registry. Importing this package registers every built-in model."""
from dgl_ma.models.base import MODELS, GraphModel, ModelConfig, build_model, count_parameters
from dgl_ma.models import graph_transformer, graphit, san, stack  # noqa: F401  (register the models)

__all__ = ["MODELS", "GraphModel", "ModelConfig", "build_model", "count_parameters"]
