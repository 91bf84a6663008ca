"""Dataset configuration and registry."""
import dataclasses
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

from dgl_ma.data.missing import apply_missing_features
from dgl_ma.data.task import GraphTask, NodeTask
from dgl_ma.errors import ConfigError
from dgl_ma.registry import Registry

NUM_FOLDS = 10
SPLIT_SOURCES = ("gnn-comparison", "benchmarking-gnns")


@dataclass
class DataConfig:
    """Which dataset, where its files live, and the size of generated datasets.

    root: writable data cache (else ``$DGL_MA_DATA``, else ``~/.cache/dgl_ma``).
    mirror: read-only folder laid out like ``shared/data`` that seeds the cache (else ``$DGL_MA_MIRROR``).
    download: let DGL download files that are neither cached nor mirrored.
    num_nodes / num_graphs: size of generated datasets (``num_graphs`` also counts the rings or
    trees of the long-range tasks).
    missing_rate: percent (0–100) of non-training nodes whose features are zeroed (SSNC-MV,
    see :mod:`dgl_ma.data.missing`); node tasks only.
    ring_size: nodes per ring of ``ring_transfer`` (>= 4).
    tree_depth: depth of each tree of ``tree_neighbors_match`` (1–8).
    subset: keep only the first ``subset`` graphs of each split of a graph task (0 = all);
    for quick suites and tests.
    fold: cross-validation fold (0–9) of ``proteins``.
    split_source: which published ``proteins`` splits: ``"gnn-comparison"`` (Errica et al.,
    train/val/test ≈ 900/101/112) or ``"benchmarking-gnns"`` (889/112/112).
    """

    name: str = "csbm"
    root: Optional[str] = None
    mirror: Optional[str] = None
    download: bool = True
    num_nodes: int = 600
    num_graphs: int = 400
    missing_rate: float = 0.0
    ring_size: int = 10
    tree_depth: int = 3
    fold: int = 0
    split_source: str = "gnn-comparison"
    subset: int = 0

    def __post_init__(self):
        if self.num_nodes < 10 or self.num_graphs < 10:
            raise ConfigError(
                f"data.num_nodes and data.num_graphs must be at least 10, got {self.num_nodes} and {self.num_graphs}."
            )
        if not 0.0 <= self.missing_rate <= 100.0:
            raise ConfigError(f"data.missing_rate is a percentage and must lie in [0, 100], got {self.missing_rate}.")
        if self.ring_size < 4:
            raise ConfigError(f"data.ring_size must be at least 4, got {self.ring_size}.")
        if not 1 <= self.tree_depth <= 8:
            raise ConfigError(f"data.tree_depth must lie between 1 and 8, got {self.tree_depth}.")
        if self.subset < 0:
            raise ConfigError(f"data.subset must be >= 0 (0 keeps every graph), got {self.subset}.")
        if not 0 <= self.fold < NUM_FOLDS:
            raise ConfigError(f"data.fold selects one of the {NUM_FOLDS} cross-validation folds and must lie in "
                              f"0..{NUM_FOLDS - 1}, got {self.fold}.")
        if self.split_source not in SPLIT_SOURCES:
            raise ConfigError(f"data.split_source must be one of {', '.join(SPLIT_SOURCES)}, got {self.split_source!r}.")


Task = Union[NodeTask, GraphTask]


@dataclass(frozen=True)
class DatasetSpec:
    """``load(cfg, seed)`` builds the task. ``seeded``: the data itself depends on the seed
    (generated datasets); otherwise one load serves every seed. ``min_size``: for generated
    datasets, ``(data key, smallest value that generates)``, checked before any run."""

    load: Callable[[DataConfig, int], Task]
    seeded: bool
    min_size: Optional[Tuple[str, int]] = None

    def check(self, cfg: DataConfig) -> None:
        """Raise :class:`ConfigError` for a configuration this dataset cannot be built with."""
        if self.min_size is not None:
            key, smallest = self.min_size
            if getattr(cfg, key) < smallest:
                raise ConfigError(f"data.{key}={getattr(cfg, key)} is too small for dataset {cfg.name!r}, "
                                  f"which needs data.{key} >= {smallest} (every class in each of the "
                                  f"train/val/test splits).")


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def depends_on_seed(cfg: DataConfig) -> bool:
    """Whether :func:`load_task` gives a different task per seed: a generated (``seeded``)
    dataset, or any missing-feature mask (``cfg.missing_rate > 0``). Otherwise one load serves
    every seed."""
    return DATASETS.get(cfg.name).seeded or cfg.missing_rate > 0


def load_task(cfg: DataConfig, seed: int) -> Task:
    """Load the registered dataset ``cfg.name``; generated datasets are deterministic per seed.
    With ``cfg.missing_rate > 0`` the features of that share of non-training nodes are zeroed
    (:func:`~dgl_ma.data.missing.apply_missing_features`, seeded by dataset, rate and seed)."""
    task = DATASETS.get(cfg.name).load(cfg, seed)
    if cfg.missing_rate > 0:
        if not isinstance(task, NodeTask):
            raise ConfigError(
                f"data.missing_rate applies to node tasks only, but dataset {cfg.name!r} is a graph-level task."
            )
        task = apply_missing_features(task, cfg.name, cfg.missing_rate, seed)
    if cfg.subset:
        if not isinstance(task, GraphTask):
            raise ConfigError(f"data.subset applies to graph tasks only, but dataset {cfg.name!r} is a node task.")
        changes = {split: samples[: cfg.subset] for split, samples in task.splits()}
        if getattr(task, "index", None):  # provenance of each sample, kept aligned
            changes["index"] = {split: rows[: cfg.subset] for split, rows in task.index.items()}
        task = dataclasses.replace(task, **changes)
    return task
