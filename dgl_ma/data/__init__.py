"""Datasets and their registry. Importing this package registers every built-in dataset."""
from dgl_ma.data.registry import DATASETS, DataConfig, DatasetSpec, depends_on_seed, load_task
from dgl_ma.data.task import GraphTask, NodeTask, TaskInfo
from dgl_ma.data import generated, long_range, molecules, planetoid, tu  # noqa: F401  (register datasets)

__all__ = ["DATASETS", "DataConfig", "DatasetSpec", "GraphTask", "NodeTask", "TaskInfo", "depends_on_seed", "load_task"]
