"""Dataset configuration and registry.

Imports neither torch nor DGL: the built-in datasets are declared below with the import path of
their loader, whose module is imported when the dataset is first loaded.
"""
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional, Tuple, Union

from dgl_ma.errors import ConfigError, check_ranges
from dgl_ma.registry import Registry, import_target

if TYPE_CHECKING:
    from dgl_ma.data.task import GraphTask, NodeTask

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
        check_ranges("data", self, [
            ("num_nodes", self.num_nodes >= 10, "at least 10"),
            ("num_graphs", self.num_graphs >= 10, "at least 10"),
            ("missing_rate", 0.0 <= self.missing_rate <= 100.0, "a percentage in [0, 100]"),
            ("ring_size", self.ring_size >= 4, "at least 4"),
            ("tree_depth", 1 <= self.tree_depth <= 8, "between 1 and 8"),
            ("subset", self.subset >= 0, ">= 0 (0 keeps every graph)"),
            ("fold", 0 <= self.fold < NUM_FOLDS, f"one of the {NUM_FOLDS} cross-validation folds, 0..{NUM_FOLDS - 1}"),
        ])
        if self.split_source not in SPLIT_SOURCES:
            raise ConfigError(f"data.split_source must be one of {', '.join(SPLIT_SOURCES)}, got {self.split_source!r}.")


Task = Union["NodeTask", "GraphTask"]


@dataclass(frozen=True)
class DatasetSpec:
    """``load(cfg, seed)`` builds the task: a function, or its import path ``"module:function"``
    (imported by the first :meth:`loader` call, so that the built-in datasets below are declared
    without importing torch or DGL). ``seeded``: the data itself depends on the seed (generated
    datasets); otherwise one load serves every seed. ``min_size``: for generated datasets,
    ``(data key, smallest value that generates)``, checked before any run."""

    load: Union[Callable[[DataConfig, int], "Task"], str]
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

    def loader(self) -> Callable[[DataConfig, int], "Task"]:
        return import_target(self.load) if isinstance(self.load, str) else self.load


DATASETS: Registry[DatasetSpec] = Registry("dataset")
# The smallest sizes that generate (tests/test_user_audit.py checks that one less fails): CSBM
# needs 5 nodes per community (its in-block edge probability 5 / block is at most 1); MiniGC's
# stratified split (scikit-learn) needs every one of its 8 families in every split.
CSBM_MIN_NODES = 20
MINIGC_MIN_GRAPHS = 37

DATASETS.add("csbm", DatasetSpec("dgl_ma.data.generated:load_csbm", seeded=True, min_size=("num_nodes", CSBM_MIN_NODES)),
             "generated contextual SBM node classification (4 classes, data.num_nodes nodes)")
DATASETS.add("minigc", DatasetSpec("dgl_ma.data.generated:load_minigc", seeded=True,
                                   min_size=("num_graphs", MINIGC_MIN_GRAPHS)),
             "generated graph classification: DGL MiniGC, 8 graph families (data.num_graphs graphs)")
DATASETS.add("ring_transfer", DatasetSpec("dgl_ma.data.long_range:load_ring_transfer", seeded=True),
             "generated long-range node task: pass a class across data.ring_size-node rings "
             "(data.num_graphs rings)")
DATASETS.add("tree_neighbors_match",
             DatasetSpec("dgl_ma.data.long_range:load_tree_neighbors_match", seeded=True),
             "generated long-range node task: Tree-NeighborsMatch on binary trees of depth data.tree_depth")
DATASETS.add("zinc", DatasetSpec("dgl_ma.data.molecules:load_zinc", seeded=False),
             "ZINC 12k molecules, graph regression (constrained solubility), 10000/1000/1000, MAE")
DATASETS.add("tox21", DatasetSpec("dgl_ma.data.molecules:load_tox21", seeded=False),
             "TOX21 molecules, 12 binary tasks with missing labels, OGB features and scaffold split, ROC-AUC")
DATASETS.add("proteins", DatasetSpec("dgl_ma.data.tu:load_proteins", seeded=False),
             "TU PROTEINS, 1113 graphs, binary graph classification, 10-fold split (data.fold), accuracy")
DATASETS.add("ogbn_proteins", DatasetSpec("dgl_ma.data.tu:load_ogbn_proteins", seeded=False),
             "OGB ogbn-proteins node task, 112 binary labels, species split, ROC-AUC (large: 39.5 M edges)")
DATASETS.add("cora", DatasetSpec("dgl_ma.data.planetoid:load_cora", seeded=False),
             "Cora citation graph, 2708 nodes, 7 classes, Planetoid split 140/500/1000")
DATASETS.add("citeseer", DatasetSpec("dgl_ma.data.planetoid:load_citeseer", seeded=False),
             "CiteSeer citation graph, 3327 nodes, 6 classes, Planetoid split 120/500/1000")
DATASETS.add("pubmed", DatasetSpec("dgl_ma.data.planetoid:load_pubmed", seeded=False),
             "PubMed citation graph, 19717 nodes, 3 classes, Planetoid split 60/500/1000")


def depends_on_seed(cfg: DataConfig) -> bool:
    """Whether :func:`load_task` gives a different task per seed: a generated (``seeded``)
    dataset, or any missing-feature mask (``cfg.missing_rate > 0``). Otherwise one load serves
    every seed."""
    return DATASETS.get(cfg.name).seeded or cfg.missing_rate > 0


def load_task(cfg: DataConfig, seed: int) -> Task:
    """Load the registered dataset ``cfg.name``; generated datasets are deterministic per seed.
    With ``cfg.missing_rate > 0`` the features of that share of non-training nodes are zeroed
    (:func:`~dgl_ma.data.missing.apply_missing_features`, seeded by dataset, rate and seed)."""
    from dgl_ma.data.missing import apply_missing_features
    from dgl_ma.data.task import GraphTask, NodeTask

    task = DATASETS.get(cfg.name).loader()(cfg, seed)
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
