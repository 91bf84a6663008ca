"""Dataset configuration and registry."""
from dataclasses import dataclass
from typing import Callable, Optional, Union

from dgl_ma.data.task import GraphTask, NodeTask
from dgl_ma.errors import ConfigError
from dgl_ma.registry import Registry


@dataclass
class DataConfig:
    """Which dataset, where its files live, and the size of generated datasets.

    root: writable data cache (else ``$DGL_MA_DATA``, else ``~/.cache/dgl_ma``).
    mirror: read-only folder laid out like ``shared/data`` that seeds the cache (else ``$DGL_MA_MIRROR``).
    download: let DGL download files that are neither cached nor mirrored.
    """

    name: str = "csbm"
    root: Optional[str] = None
    mirror: Optional[str] = None
    download: bool = True
    num_nodes: int = 600
    num_graphs: int = 400

    def __post_init__(self):
        if self.num_nodes < 10 or self.num_graphs < 10:
            raise ConfigError(
                f"data.num_nodes and data.num_graphs must be at least 10, got {self.num_nodes} and {self.num_graphs}."
            )


Task = Union[NodeTask, GraphTask]


@dataclass(frozen=True)
class DatasetSpec:
    """``load(cfg, seed)`` builds the task. ``seeded``: the data itself depends on the seed
    (generated datasets); otherwise one load serves every seed."""

    load: Callable[[DataConfig, int], Task]
    seeded: bool


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def load_task(cfg: DataConfig, seed: int) -> Task:
    """Load the registered dataset ``cfg.name``; generated datasets are deterministic per seed."""
    return DATASETS.get(cfg.name).load(cfg, seed)
