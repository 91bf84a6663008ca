"""Graph-level datasets: ZINC, TOX21, TU PROTEINS and the ogbn-proteins loader.

Miniature datasets written by the tests run everywhere; tests marked ``realdata`` need the
offline mirror (``DGL_MA_MIRROR``, laid out like ``shared/data``) and skip without it.
"""
import contextlib
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dgl_ma.data import DATASETS, DataConfig, GraphTask, NodeTask, TaskInfo, load_task
from dgl_ma.data import molecules
from dgl_ma.data.molecules import TOX21_TASKS, UnparsableMoleculeWarning, smiles_to_dgl, zinc_folder
from dgl_ma.data.tu import FALLBACK_SEED, fallback_split, proteins_folder, published_split
from dgl_ma.errors import ConfigError, DataError
from dgl_ma.metrics import METRICS

from data_mirror import real_mirror

ZINC, PROTEINS = "zinc_8af4f93b", "PROTEINS_8123a282"
GNN_COMPARISON = "proteins/splits/gnn-comparison_PROTEINS_full_splits.json"


def snapshot(folder: Path):
    """sha256 of every file under ``folder`` (following a top-level symlink)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write_gz(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(np.asarray(rows)).to_csv(path, header=False, index=False, compression="gzip")


def same_graph(a, b) -> bool:
    return (a.num_nodes() == b.num_nodes() and all(torch.equal(x, y) for x, y in zip(a.edges(), b.edges()))
            and torch.equal(a.ndata["feat"], b.ndata["feat"]) and torch.equal(a.edata["feat"], b.edata["feat"]))


# --------------------------------------------------------------------------- configuration and registry


@pytest.mark.parametrize("kwargs", [{"fold": 10}, {"fold": -1}, {"split_source": "random"}])
def test_bad_fold_or_split_source_is_config_error(kwargs):
    with pytest.raises(ConfigError, match="data.fold|data.split_source"):
        DataConfig(**kwargs)


def test_datasets_registered_and_folder_names(monkeypatch):
    monkeypatch.delenv("DGL_REPO", raising=False)
    for name in ("zinc", "tox21", "proteins", "ogbn_proteins"):
        assert name in DATASETS and not DATASETS.get(name).seeded
    assert zinc_folder() == ZINC and proteins_folder() == PROTEINS


# --------------------------------------------------------------------------- TOX21 miniature

MINI_SMILES = ["CCO", "c1ccccc1O", "CC(=O)O", "C1CC", "CCN(CC)CC", "O=C=O", "CC(C)Cl", "c1ccncc1", "C", "CCS"]
MINI_SPLIT = {"train": [0, 1, 2, 3, 4, 5], "valid": [6, 7], "test": [8, 9]}   # row 3 ("C1CC") is unparsable


def write_mini_tox21(mirror: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=(len(MINI_SMILES), 12)).astype(float)
    labels[rng.random(labels.shape) < 0.2] = np.nan
    df = pd.DataFrame(labels, columns=TOX21_TASKS)
    df["mol_id"], df["smiles"] = [f"TOX{i}" for i in range(len(MINI_SMILES))], MINI_SMILES
    (mirror / "tox21").mkdir(parents=True)
    df.to_csv(mirror / "tox21" / "tox21.csv", index=False)
    for split, rows in MINI_SPLIT.items():
        write_gz(mirror / "tox21" / "split" / "scaffold" / f"{split}.csv.gz", rows)
    return df


def test_tox21_miniature_reports_unparsable_and_caches(tmp_path, no_network, monkeypatch):
    mirror, root = tmp_path / "mirror", tmp_path / "root"
    df = write_mini_tox21(mirror)
    before = snapshot(mirror)
    cfg = DataConfig(name="tox21", root=str(root), mirror=str(mirror), download=False)
    with pytest.warns(UnparsableMoleculeWarning, match=r"cannot parse 1 of the 10 SMILES.*train 1 \(rows 3\)"):
        task = load_task(cfg, 0)
    assert isinstance(task, GraphTask) and task.info == molecules.TOX21_INFO
    assert task.skipped == {"train": [3], "val": [], "test": []}
    assert task.index == {"train": [0, 1, 2, 4, 5], "val": [6, 7], "test": [8, 9]}
    for (g, y), row in zip(task.train, task.index["train"]):
        assert same_graph(g, smiles_to_dgl(MINI_SMILES[row]))
        assert y.dtype == torch.float32 and y.shape == (12,)
        assert torch.allclose(y, torch.tensor(df.loc[row, TOX21_TASKS].to_numpy(float), dtype=torch.float32), equal_nan=True)
    assert g.ndata["feat"].dtype == torch.int64 and g.ndata["feat"].shape[1] == 9 and g.edata["feat"].shape[1] == 3
    (cache,) = (root / "tox21" / "processed").glob("*.bin")
    # The second load reads the cache: featurising again would fail.
    with monkeypatch.context() as patch, pytest.warns(UnparsableMoleculeWarning):
        patch.setattr(molecules, "smiles_to_dgl", lambda s: (_ for _ in ()).throw(AssertionError("featurised again")))
        again = load_task(cfg, 1)
    assert again.index == task.index and all(same_graph(a, b) for (a, _), (b, _) in zip(task.test, again.test))
    cache.write_bytes(b"not a DGL file" * 100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rebuilt = load_task(cfg, 0)
    messages = [str(w.message) for w in caught]
    assert any("corrupt" in m and "rebuilding" in m for m in messages) and any("rows 3" in m for m in messages)
    assert rebuilt.index == task.index and rebuilt.skipped == task.skipped
    assert snapshot(mirror) == before


def test_tox21_missing_csv_or_split_is_data_error(tmp_path, no_network):
    with pytest.raises(DataError, match=r"tox21\.csv") as info:
        load_task(DataConfig(name="tox21", root=str(tmp_path / "r1"), mirror=str(tmp_path / "empty"), download=False), 0)
    assert str(tmp_path / "r1") in str(info.value) and "data.download" in str(info.value)
    mirror = tmp_path / "mirror"
    write_mini_tox21(mirror)
    (mirror / "tox21" / "split" / "scaffold" / "valid.csv.gz").unlink()
    with pytest.raises(DataError, match=r"valid\.csv\.gz"):
        load_task(DataConfig(name="tox21", root=str(tmp_path / "r2"), mirror=str(mirror), download=False), 0)


def test_tox21_prefers_ogb_folder(tmp_path, no_network):
    """With OGB's ogbg_moltox21 folder (miniature, OGB raw format) the OGB loader is used."""
    from ogb.utils import smiles2graph
    smiles = [s for s in MINI_SMILES if s != "C1CC"]
    folder = tmp_path / "root" / "ogb" / "ogbg_moltox21"
    graphs = [smiles2graph(s) for s in smiles]
    write_gz(folder / "raw" / "edge.csv.gz", np.concatenate([d["edge_index"][:, 0::2].T for d in graphs]))
    write_gz(folder / "raw" / "edge-feat.csv.gz", np.concatenate([d["edge_feat"][0::2] for d in graphs]))
    write_gz(folder / "raw" / "node-feat.csv.gz", np.concatenate([d["node_feat"] for d in graphs]))
    write_gz(folder / "raw" / "num-node-list.csv.gz", [d["num_nodes"] for d in graphs])
    write_gz(folder / "raw" / "num-edge-list.csv.gz", [d["edge_index"].shape[1] // 2 for d in graphs])
    labels = np.full((len(smiles), 12), np.nan)
    labels[:, 0] = np.arange(len(smiles)) % 2
    write_gz(folder / "raw" / "graph-label.csv.gz", labels)
    for split, rows in {"train": [0, 1, 2, 3, 4], "valid": [5, 6], "test": [7, 8]}.items():
        write_gz(folder / "split" / "scaffold" / f"{split}.csv.gz", rows)
    (folder / "RELEASE_v1.txt").write_text("miniature\n")
    task = load_task(DataConfig(name="tox21", root=str(tmp_path / "root"), mirror=None, download=False), 0)
    assert [len(s) for _, s in task.splits()] == [5, 2, 2] and task.skipped == {"train": [], "val": [], "test": []}
    for (g, y), row in zip(task.train + task.val + task.test, range(len(smiles))):
        assert same_graph(g, smiles_to_dgl(smiles[row]))
        assert y.dtype == torch.float32 and float(y[0]) == row % 2 and torch.isnan(y[1:]).all()
    (folder / "RELEASE_v1.txt").unlink()   # OGB would stop and ask on stdin; the loader explains instead
    with pytest.raises(DataError, match="RELEASE_v1.txt"):
        load_task(DataConfig(name="tox21", root=str(tmp_path / "root"), download=False), 0)


# --------------------------------------------------------------------------- ogbn-proteins miniature


def write_mini_ogbn_proteins(folder: Path, rng) -> dict:
    """OGB's raw layout of ogbn-proteins: 12 nodes (node 11 isolated), 20 undirected edges."""
    n, e = 12, 20
    edges = np.stack([rng.integers(0, 11, e), rng.integers(0, 11, e)], axis=1)
    feat = rng.integers(1, 1000, size=(e, 8)) / 1000.0
    labels = rng.integers(0, 2, size=(n, 112))
    split = {"train": [0, 1, 2, 3, 4, 5], "valid": [6, 7, 8], "test": [9, 10, 11]}
    write_gz(folder / "raw" / "edge.csv.gz", edges)
    write_gz(folder / "raw" / "edge-feat.csv.gz", feat)
    write_gz(folder / "raw" / "node_species.csv.gz", np.repeat([3702, 4932, 6239], 4))
    write_gz(folder / "raw" / "node-label.csv.gz", labels)
    write_gz(folder / "raw" / "num-node-list.csv.gz", [n])
    write_gz(folder / "raw" / "num-edge-list.csv.gz", [e])
    for name, rows in split.items():
        write_gz(folder / "split" / "species" / f"{name}.csv.gz", rows)
    (folder / "RELEASE_v1.txt").write_text("miniature\n")
    return {"n": n, "edges": edges, "feat": feat, "labels": labels, "split": split}


def test_ogbn_proteins_miniature_round_trip(tmp_path, no_network):
    mirror, root = tmp_path / "mirror", tmp_path / "root"
    raw = write_mini_ogbn_proteins(mirror / "ogb" / "ogbn_proteins", np.random.default_rng(1))
    before = snapshot(mirror)
    cfg = DataConfig(name="ogbn_proteins", root=str(root), mirror=str(mirror), download=False)
    for _ in range(2):   # the first load processes the raw files, the second reads OGB's cache
        task = load_task(cfg, 0)
        assert isinstance(task, NodeTask)
        assert task.info == TaskInfo("node", 1, 112, "bce_masked", "ogbn-proteins", node_vocab=3, edge_dim=8)
        g = task.graph
        assert g.num_nodes() == raw["n"] and g.num_edges() == 2 * len(raw["edges"])   # OGB adds inverse edges
        assert g.edata["feat"].shape == (40, 8) and g.edata["feat"].dtype == torch.float32
        # node feature: the species as a category (the MA paper's code), species 3702 / 4932 / 6239 -> 0 / 1 / 2
        assert torch.equal(g.ndata["feat"], torch.tensor([0, 1, 2]).repeat_interleave(4))
        assert g.ndata["label"].dtype == torch.float32 and torch.equal(g.ndata["label"], torch.tensor(raw["labels"], dtype=torch.float32))
        for name, ogb_name in (("train", "train"), ("val", "valid"), ("test", "test")):
            assert torch.nonzero(g.ndata[f"{name}_mask"]).reshape(-1).tolist() == raw["split"][ogb_name]
        assert (root / "ogb" / "ogbn_proteins" / "processed" / "dgl_data_processed").exists()
    # The metric to register for "ogbn-proteins": OGB's Evaluator on (nodes, 112) scores.
    from ogb.nodeproppred import Evaluator
    y = g.ndata["label"].repeat(10, 1)
    score = Evaluator("ogbn-proteins").eval({"y_true": y.numpy(), "y_pred": y.numpy()})["rocauc"]
    assert score == pytest.approx(1.0)
    assert snapshot(mirror) == before


def test_ogbn_proteins_absent_is_data_error(tmp_path, no_network):
    with pytest.raises(DataError, match=r"39\.5 M edges") as info:
        load_task(DataConfig(name="ogbn_proteins", root=str(tmp_path), download=False), 0)
    assert str(tmp_path / "ogb") in str(info.value)


@pytest.mark.parametrize("name", ["tox21", "ogbn_proteins"])
def test_download_goes_through_ogb_and_failure_is_data_error(name, tmp_path, no_network):
    """With data.download=true and no files, OGB's downloader is called (here it refuses)."""
    with pytest.raises(DataError, match="a download was attempted"):
        load_task(DataConfig(name=name, root=str(tmp_path / "root"), mirror=str(tmp_path / "empty"), download=True), 0)


# --------------------------------------------------------------------------- real data (mirror)


@pytest.fixture(scope="module")
def shared_root(tmp_path_factory):
    """One writable data root for the real-data tests of this module (DGL's caches are reused)."""
    return tmp_path_factory.mktemp("data")


@pytest.mark.realdata
def test_zinc_from_mirror(shared_root, no_network):
    mirror = real_mirror("dgl/" + ZINC)
    before = snapshot(mirror / "dgl" / ZINC)
    task = load_task(DataConfig(name="zinc", root=str(shared_root), mirror=str(mirror), download=False), 0)
    assert task.info == TaskInfo("graph", 1, 1, "l1", "mae", node_vocab=28, edge_vocab=4)
    assert [len(s) for _, s in task.splits()] == [10000, 1000, 1000]
    g, y = task.train[0]
    assert (g.num_nodes(), g.num_edges()) == (29, 64)
    assert y.dtype == torch.float32 and y.shape == (1,) and float(y) == pytest.approx(0.8350356, abs=1e-6)
    for _, samples in task.splits():
        atoms = torch.cat([g.ndata["feat"] for g, _ in samples])
        bonds = torch.cat([g.edata["feat"] for g, _ in samples])
        assert atoms.dtype == bonds.dtype == torch.int64 and atoms.dim() == 1
        assert 0 <= int(atoms.min()) and int(atoms.max()) < 28 and 0 <= int(bonds.min()) and int(bonds.max()) < 4
    assert snapshot(mirror / "dgl" / ZINC) == before


@pytest.mark.realdata
def test_zinc_corrupt_cache_file_is_data_error(tmp_path, no_network):
    mirror = real_mirror("dgl/" + ZINC)
    folder = tmp_path / "dgl" / ZINC        # a writable cache copy; no mirror, so nothing is re-seeded
    folder.mkdir(parents=True)
    valid = (mirror / "dgl" / ZINC / "ZincDGL_valid.bin").read_bytes()
    for mode in ("train", "valid"):         # the small valid file stands in for train, to keep this fast
        (folder / f"ZincDGL_{mode}.bin").write_bytes(valid)
    (folder / "ZincDGL_test.bin").write_bytes(b"garbage" * 1000)
    with pytest.raises(DataError, match="could not be read") as info:
        load_task(DataConfig(name="zinc", root=str(tmp_path), download=False), 0)
    assert str(folder) in str(info.value)


@pytest.mark.realdata
@pytest.mark.slow
def test_tox21_from_mirror(shared_root, no_network):
    from rdkit import Chem, rdBase
    mirror = real_mirror("tox21/tox21.csv", "tox21/split/scaffold/test.csv.gz")
    before = snapshot(mirror / "tox21")
    df = pd.read_csv(mirror / "tox21" / "tox21.csv")
    assert len(df) == 7831
    with rdBase.BlockLogs():
        rejected = {i for i, s in enumerate(df["smiles"]) if Chem.MolFromSmiles(s) is None}
    cfg = DataConfig(name="tox21", root=str(shared_root), mirror=str(mirror), download=False)
    with pytest.warns(UnparsableMoleculeWarning) if rejected else contextlib.nullcontext():
        task = load_task(cfg, 0)
    skipped = set(sum(task.skipped.values(), []))
    assert skipped == rejected
    full = {"train": 6264, "val": 783, "test": 784}
    for name, samples in task.splits():
        assert len(samples) == full[name] - len(task.skipped[name]) == len(task.index[name])
    labels = torch.stack([y for _, samples in task.splits() for _, y in samples])
    assert labels.shape[1] == 12 and torch.isnan(labels).float().mean().item() == pytest.approx(0.171, abs=0.003)
    g, _ = task.val[0]
    assert same_graph(g, smiles_to_dgl(df["smiles"][task.index["val"][0]]))
    test_y = torch.stack([y for _, y in task.test])
    logits = torch.randn(test_y.shape, generator=torch.Generator().manual_seed(0))
    assert METRICS.get(task.info.metric).compute(logits, test_y) == pytest.approx(0.5, abs=0.1)
    assert len(list((shared_root / "tox21" / "processed").glob("tox21_ogb_*.bin"))) == 1   # cache (reuse: miniature test)
    assert snapshot(mirror / "tox21") == before


@pytest.mark.realdata
def test_proteins_published_folds(shared_root, no_network):
    mirror = real_mirror("dgl/" + PROTEINS, GNN_COMPARISON)
    before = {**snapshot(mirror / "dgl" / PROTEINS), **snapshot(mirror / "proteins" / "splits")}
    splits = json.loads((mirror / GNN_COMPARISON).read_text())
    tests = []
    for fold in range(2):
        task = load_task(DataConfig(name="proteins", root=str(shared_root), mirror=str(mirror), download=False, fold=fold), 0)
        chosen = splits[fold]["model_selection"][0]
        assert task.index == {"train": chosen["train"], "val": chosen["validation"], "test": splits[fold]["test"]}
        assert [len(s) for _, s in task.splits()] == [len(chosen["train"]), len(chosen["validation"]), len(splits[fold]["test"])]
        train, val, test = (set(task.index[s]) for s in ("train", "val", "test"))
        assert not train & val and not train & test and not val & test
        tests.append(set(task.index["test"]))
    assert task.info == TaskInfo("graph", 4, 2, "cross_entropy", "accuracy")
    g, y = task.train[0]
    assert g.ndata["feat"].dtype == torch.float32 and g.ndata["feat"].shape == (g.num_nodes(), 4)
    assert torch.equal(g.ndata["feat"][:, 1:].sum(1), torch.ones(g.num_nodes()))   # one-hot node label
    assert y.dtype == torch.int64 and y.dim() == 0
    assert sum(len(s) for _, s in task.splits()) <= 1113 and not tests[0] & tests[1]
    paths = [shared_root / GNN_COMPARISON]   # all 10 folds (from the copied file): a partition of 0..1112
    all_tests = [published_split(paths, "gnn-comparison", k, 1113)["test"] for k in range(10)]
    assert sorted(np.concatenate(all_tests).tolist()) == list(range(1113))
    bg = load_task(DataConfig(name="proteins", root=str(shared_root), mirror=str(mirror), download=False,
                              split_source="benchmarking-gnns"), 0)
    assert [len(s) for _, s in bg.splits()] == [889, 112, 112]
    assert {**snapshot(mirror / "dgl" / PROTEINS), **snapshot(mirror / "proteins" / "splits")} == before


@pytest.mark.realdata
def test_proteins_fallback_split_is_stratified_and_seeded(tmp_path, no_network):
    mirror = real_mirror("dgl/" + PROTEINS)
    partial = tmp_path / "mirror"             # the mirror without proteins/splits
    (partial / "dgl").mkdir(parents=True)
    (partial / "dgl" / PROTEINS).symlink_to(mirror / "dgl" / PROTEINS)
    cfg = DataConfig(name="proteins", root=str(tmp_path / "root"), mirror=str(partial), download=False, fold=3)
    with pytest.warns(UserWarning, match="published gnn-comparison split was not found"):
        task = load_task(cfg, 0)
    with pytest.warns(UserWarning, match="published"):
        again = load_task(cfg, 7)              # another run seed: the same split
    assert again.index == task.index
    labels = np.array([int(y) for _, s in task.splits() for _, y in s])
    overall = labels.mean()
    for name, samples in task.splits():
        share = np.mean([int(y) for _, y in samples])
        assert share == pytest.approx(overall, abs=0.02), name
    sizes = [len(s) for _, s in task.splits()]
    assert sum(sizes) == 1113 and sizes[1] == 101 and sizes[2] in (111, 112)   # 1113 = 3 * 112 + 7 * 111
    assert not (tmp_path / "root" / "proteins" / "splits").exists()
    y_all = np.full(1113, -1)
    for name, samples in task.splits():
        y_all[task.index[name]] = [int(y) for _, y in samples]
    assert (y_all >= 0).all()                  # the three parts cover all 1113 graphs
    folds = [fallback_split(y_all, k) for k in range(10)]
    assert {s: v.tolist() for s, v in folds[3].items()} == task.index
    assert sorted(np.concatenate([f["test"] for f in folds]).tolist()) == list(range(1113)) and FALLBACK_SEED == 0
