"""Protein datasets: TU PROTEINS (graph classification, DGL ``TUDataset``) and ogbn-proteins (OGB node task).

* ``proteins``: 1 113 graphs, 2 classes. Node feature = the continuous TU node attribute
  concatenated with the one-hot TU node label (float32, width 1 + 3 = 4). Split: fold
  ``data.fold`` (0–9) of Errica et al.'s gnn-comparison splits (``data.split_source=
  "gnn-comparison"``: train/validation of ``model_selection[0]``, ``test``) or of the
  benchmarking-gnns ``.index`` files (``"benchmarking-gnns"``), read from
  ``<data root>/proteins/splits/`` (copied there from ``<mirror>/proteins/splits/``). Without
  those files: a stratified 10-fold split with the fixed seed :data:`FALLBACK_SEED`, with a
  warning. Either way the split depends on the fold only, never on the run seed.
* ``ogbn_proteins``: OGB's node loader ``DglNodePropPredDataset`` on ``<data root>/ogb``
  (seeded from ``<mirror>/ogb``), species split, 112 binary labels, 8-d continuous edge
  features; node feature = the node's species as a category (its index among the dataset's
  species, as the MA paper's code, msorbi/gnn-ma ``data/ogbn.py`` ``_node_species_to_feat``),
  metric name ``"ogbn-proteins"`` (OGB's ``Evaluator``). Train on sampled neighbourhoods
  (``train.fanouts``): the graph has 39.5 M edges.
"""
import json
import warnings
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F
from dgl.data import TUDataset
from sklearn.model_selection import StratifiedKFold, train_test_split

from dgl_ma.data.molecules import SPLITS, IndexedGraphTask, ogb_folder, seed_files
from dgl_ma.data.registry import NUM_FOLDS, DataConfig
from dgl_ma.data.splits import index_mask
from dgl_ma.data.store import data_root, dgl_folder_name, load_dgl_dataset, mirror_phrase, mirror_root
from dgl_ma.data.task import NodeTask, TaskInfo
from dgl_ma.errors import DataError

PROTEINS_FILES = [f"PROTEINS/PROTEINS_{k}.txt" for k in ("A", "graph_indicator", "graph_labels", "node_labels", "node_attributes")]
SPLIT_DIR = "proteins/splits"
SPLIT_FILES = {
    "gnn-comparison": [f"{SPLIT_DIR}/gnn-comparison_PROTEINS_full_splits.json"],
    "benchmarking-gnns": [f"{SPLIT_DIR}/benchmarking-gnns_PROTEINS_full_{s}.index" for s in SPLITS],
}
FALLBACK_SEED = 0


def proteins_folder() -> str:
    """The folder ``TUDataset('PROTEINS')`` looks for under its ``raw_dir`` (fixed TU URL)."""
    return dgl_folder_name("PROTEINS", TUDataset._url.format("PROTEINS"))


def published_split(paths: List[Path], source: str, fold: int, n: int) -> Dict[str, np.ndarray]:
    """Indices ``{train, val, test}`` of fold ``fold`` from the split files ``paths`` of ``source``."""
    try:
        if source == "gnn-comparison":
            entry = json.loads(paths[0].read_text())[fold]
            chosen = entry["model_selection"][0]
            split = {"train": chosen["train"], "val": chosen["validation"], "test": entry["test"]}
        else:
            split = {s: p.read_text().splitlines()[fold].split(",") for s, p in zip(SPLITS, paths)}
        split = {s: np.asarray([int(i) for i in v], dtype=np.int64) for s, v in split.items()}
    except Exception as err:
        raise DataError(f"PROTEINS: fold {fold} could not be read from {', '.join(map(str, paths))} "
                        f"({type(err).__name__}: {err}). Delete the file(s) so that they are copied again from the "
                        f"mirror, or replace them with intact copies (see shared/data/MANIFEST.md, PROTEINS).") from None
    if any(len(v) == 0 or v.min() < 0 or v.max() >= n for v in split.values()):
        raise DataError(f"PROTEINS: fold {fold} in {paths[0]} holds indices outside 0..{n - 1}; "
                        f"the split file does not belong to this dataset. Replace it with an intact copy.")
    return split


def fallback_split(labels: np.ndarray, fold: int) -> Dict[str, np.ndarray]:
    """Stratified 10-fold split (fold ``fold`` is test), then a stratified 10 % validation part of
    the rest; fixed seed :data:`FALLBACK_SEED`, so the folds partition the dataset."""
    folds = StratifiedKFold(n_splits=NUM_FOLDS, shuffle=True, random_state=FALLBACK_SEED)
    rest, test = list(folds.split(np.zeros(len(labels)), labels))[fold]
    train, val = train_test_split(rest, test_size=0.1, stratify=labels[rest], random_state=FALLBACK_SEED)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def proteins_split(cfg: DataConfig, labels: np.ndarray) -> Dict[str, np.ndarray]:
    """The published fold when its files are in the data root or the mirror, else :func:`fallback_split`."""
    root, mirror = data_root(cfg.root), mirror_root(cfg.mirror)
    rel = SPLIT_FILES[cfg.split_source]
    seed_files(rel, root, mirror, "proteins")
    if all((root / r).is_file() for r in rel):
        return published_split([root / r for r in rel], cfg.split_source, cfg.fold, len(labels))
    where = mirror_phrase(mirror)
    warnings.warn(
        f"PROTEINS: the published {cfg.split_source} split was not found ({', '.join(rel)} is neither in the data "
        f"root {root} nor in {where}); using a seeded stratified 10-fold split instead (scikit-learn "
        f"StratifiedKFold, seed {FALLBACK_SEED}, fold {cfg.fold}, validation 10 % of the rest). Scores are not "
        f"comparable with published ones; copy the split files to {root / SPLIT_DIR} to use them."
    )
    return fallback_split(labels, cfg.fold)


def load_proteins(cfg: DataConfig, seed: int) -> IndexedGraphTask:
    """TU PROTEINS through DGL's ``TUDataset`` (mirror-seeded), fold ``cfg.fold``; ``index`` holds
    the dataset position of every sample."""
    dataset = load_dgl_dataset(
        "proteins", lambda raw_dir: TUDataset("PROTEINS", raw_dir=str(raw_dir)), proteins_folder(),
        PROTEINS_FILES, data_root(cfg.root), mirror_root(cfg.mirror), cfg.download,
    )
    graphs = list(dataset.graph_lists)
    num_node_labels = int(max(int(g.ndata["node_labels"].max()) for g in graphs)) + 1
    for g in graphs:   # (N, 1) float attribute ++ (N, num_node_labels) one-hot label
        onehot = F.one_hot(g.ndata["node_labels"].reshape(-1).long(), num_node_labels)
        g.ndata["feat"] = torch.cat([g.ndata["node_attr"].reshape(g.num_nodes(), -1), onehot], dim=1).float()
    labels = dataset.graph_labels.reshape(-1).long()
    split = proteins_split(cfg, labels.numpy())
    samples = {s: [(graphs[i], labels[i]) for i in split[s]] for s in SPLITS}
    info = TaskInfo("graph", int(graphs[0].ndata["feat"].shape[1]), int(dataset.num_classes), "cross_entropy", "accuracy")
    return IndexedGraphTask(info, samples["train"], samples["val"], samples["test"],
                            {s: split[s].tolist() for s in SPLITS}, {s: [] for s in SPLITS})


def load_ogbn_proteins(cfg: DataConfig, seed: int) -> NodeTask:
    """ogbn-proteins through OGB's ``DglNodePropPredDataset`` (``<data root>/ogb/ogbn_proteins``)."""
    root, mirror = data_root(cfg.root), mirror_root(cfg.mirror)
    if ogb_folder("ogbn-proteins", root, mirror, cfg.download) is None and not cfg.download:
        where = mirror_phrase(mirror, "ogb")
        raise DataError(
            f"Dataset 'ogbn_proteins' is not available: OGB's folder ogbn_proteins is neither in {root / 'ogb'} nor in "
            f"{where}, and downloading is off (data.download=false). It is large (132 534 nodes, 39.5 M edges; a "
            f"216 MB download that OGB expands to several GB). Fix it by placing OGB's extracted ogbn_proteins folder "
            f"(RELEASE_v1.txt, raw/, split/species/) in {root / 'ogb'}, or by running once with network access and "
            f"data.download=true. Offline, the TU graph-classification dataset 'proteins' is the substitute."
        )
    from ogb.nodeproppred import DglNodePropPredDataset

    try:
        dataset = DglNodePropPredDataset(name="ogbn-proteins", root=str(root / "ogb"))
        split = dataset.get_idx_split()
    except Exception as err:
        raise DataError(f"ogbn-proteins under {root / 'ogb'} could not be loaded or downloaded ({type(err).__name__}: "
                        f"{str(err)[:200]}). Delete the folder ogbn_proteins there and download it again "
                        f"(data.download=true), or replace it with OGB's complete download.") from None
    graph, labels = dataset[0]
    species, graph.ndata["feat"] = torch.unique(graph.ndata.pop("species").reshape(-1), return_inverse=True)
    graph.ndata["label"] = labels.to(torch.float32)
    for name, ogb_name in zip(SPLITS, ("train", "valid", "test")):
        graph.ndata[f"{name}_mask"] = index_mask(graph.num_nodes(), split[ogb_name].numpy())
    edge_dim = int(graph.edata["feat"].shape[1])
    info = TaskInfo("node", 1, int(labels.shape[1]), "bce_masked", "ogbn-proteins", node_vocab=len(species),
                    edge_dim=edge_dim)
    return NodeTask(info, graph)
