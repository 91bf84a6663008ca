"""Cora, CiteSeer and PubMed with the public Planetoid split, through DGL's loaders."""
from functools import partial

from dgl.data import CiteseerGraphDataset, CoraGraphDataset, PubmedGraphDataset
from dgl.data.citation_graph import CitationGraphDataset
from dgl.data.utils import _get_dgl_url

from dgl_ma.data.registry import DataConfig
from dgl_ma.data.store import data_root, dgl_folder_name, load_dgl_dataset, mirror_root
from dgl_ma.data.task import NodeTask, TaskInfo

PLANETOID = {
    # registry name: (DGL class, DGL's internal name)
    "cora": (CoraGraphDataset, "cora_v2"),
    "citeseer": (CiteseerGraphDataset, "citeseer"),
    "pubmed": (PubmedGraphDataset, "pubmed"),
}
RAW_SUFFIXES = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")


def planetoid_folder(dgl_name: str) -> str:
    """The folder DGL looks for under its ``raw_dir`` (depends on ``$DGL_REPO``, as in DGL)."""
    return dgl_folder_name(dgl_name, _get_dgl_url(CitationGraphDataset._urls[dgl_name]))


def load_planetoid(name: str, cfg: DataConfig, seed: int) -> NodeTask:
    cls, dgl_name = PLANETOID[name]
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


load_cora, load_citeseer, load_pubmed = (partial(load_planetoid, name) for name in PLANETOID)
