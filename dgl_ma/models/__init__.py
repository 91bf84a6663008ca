"""Models and their registry.

``MODELS`` and ``ModelConfig`` import neither torch nor DGL (the built-in models are declared in
:mod:`dgl_ma.models.catalog` and imported on first use); ``GraphModel``, ``build_model`` and
``count_parameters`` load :mod:`dgl_ma.models.base`, and with it torch and DGL, when first used.
"""
from dgl_ma.models.catalog import MODELS
from dgl_ma.models.config import ModelConfig

__all__ = ["MODELS", "GraphModel", "ModelConfig", "build_model", "count_parameters"]


def __getattr__(name: str):
    if name in ("GraphModel", "build_model", "count_parameters"):
        from dgl_ma.models import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
