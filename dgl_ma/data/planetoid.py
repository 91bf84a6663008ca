"""Cora, CiteSeer and PubMed with the public Planetoid split, through DGL's loaders."""
from functools import partial

from dgl.data import CiteseerGraphDataset, CoraGraphDataset, PubmedGraphDataset
from dgl.data.citation_graph import CitationGraphDataset
from dgl.data.utils import _get_dgl_url

from dgl_ma.data.registry import DATASETS, DataConfig, DatasetSpec
from dgl_ma.data.store import data_root, dgl_folder_name, load_dgl_dataset, mirror_root
from dgl_ma.data.task import NodeTask, TaskInfo

PLANETOID = {
    # registry name: (DGL class, DGL's internal name, description)
    "cora": (CoraGraphDataset, "cora_v2", "Cora citation graph, 2708 nodes, 7 classes, Planetoid split 140/500/1000"),
    "citeseer": (CiteseerGraphDataset, "citeseer", "CiteSeer citation graph, 3327 nodes, 6 classes, Planetoid split 120/500/1000"),
    "pubmed": (PubmedGraphDataset, "pubmed", "PubMed citation graph, 19717 nodes, 3 classes, Planetoid split 60/500/1000"),
}
RAW_SUFFIXES = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")


def planetoid_folder(dgl_name: str) -> str:
    """The folder DGL looks for under its ``raw_dir`` (depends on ``$DGL_REPO``, as in DGL)."""
    return dgl_folder_name(dgl_name, _get_dgl_url(CitationGraphDataset._urls[dgl_name]))


def load_planetoid(name: str, cfg: DataConfig, seed: int) -> NodeTask:
    cls, dgl_name, _ = PLANETOID[name]
    dataset = load_dgl_dataset(
        name,
        lambda raw_dir: cls(raw_dir=str(raw_dir), verbose=False),
        planetoid_folder(dgl_name),
        [f"ind.{dgl_name}.{suffix}" for suffix in RAW_SUFFIXES],
        data_root(cfg.root),
        mirror_root(cfg.mirror),
        cfg.download,
    )
    graph = dataset[0]
    info = TaskInfo("node", graph.ndata["feat"].shape[1], dataset.num_classes, "cross_entropy", "accuracy")
    return NodeTask(info, graph)


for _name, (_cls, _dgl_name, _description) in PLANETOID.items():
    DATASETS.add(_name, DatasetSpec(partial(load_planetoid, _name), seeded=False), _description)
