"""Datasets and their registry.

``DATASETS``, ``DataConfig``, ``DatasetSpec``, ``depends_on_seed`` and ``load_task`` import
neither torch nor DGL: the built-in datasets are declared in :mod:`dgl_ma.data.registry` and
their modules load on first use. ``GraphTask``, ``NodeTask`` and ``TaskInfo`` load
:mod:`dgl_ma.data.task` (and DGL) when first used.
"""
from dgl_ma.data.registry import DATASETS, DataConfig, DatasetSpec, depends_on_seed, load_task

__all__ = ["DATASETS", "DataConfig", "DatasetSpec", "GraphTask", "NodeTask", "TaskInfo", "depends_on_seed", "load_task"]


def __getattr__(name: str):
    if name in ("GraphTask", "NodeTask", "TaskInfo"):
        from dgl_ma.data import task

        return getattr(task, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
