"""Molecule datasets: ZINC 12k (DGL ``ZINCDataset``) and TOX21 (OGB featurisation and scaffold split).

* ``zinc``: 10 000 / 1 000 / 1 000 molecules; ``feat`` = atom type (int64 ``(N,)``, 28 types) and
  bond type (int64, 4 types); label float32 ``(1,)``.
* ``tox21``: 12 binary tasks, NaN = missing label, OGB scaffold split 6 264 / 783 / 784. OGB's
  ``DglGraphPropPredDataset`` when an ``ogbg_moltox21`` folder is in ``<data root>/ogb`` (or the
  mirror's ``ogb/``); else MoleculeNet's ``tox21/tox21.csv`` and ``tox21/split/scaffold/*.csv.gz``
  featurised by ``ogb.utils.smiles2graph`` (cached with ``dgl.save_graphs``). Molecules RDKit
  rejects are left out, reported by :class:`UnparsableMoleculeWarning` and ``task.skipped``.

``ogb``/``rdkit`` are imported on first use. :class:`IndexedGraphTask`, :func:`seed_files` and
:func:`ogb_folder` also serve :mod:`dgl_ma.data.tu`.
"""
import hashlib
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional

import dgl
import numpy as np
import pandas as pd
import torch
from dgl.data import ZINCDataset
from dgl.data.utils import _get_dgl_url

from dgl_ma.data.registry import DataConfig
from dgl_ma.data.store import (MIRROR_ENV, check_mirror, copy_writable, corrupt_advice, data_root, dgl_folder_name,
                               load_dgl_dataset, mirror_phrase, mirror_root)
from dgl_ma.data.task import GraphTask, TaskInfo
from dgl_ma.errors import DataError

SPLITS = ("train", "val", "test")
OGB_SPLITS = ("train", "valid", "test")          # OGB's and the split files' names for the same three


@dataclass
class IndexedGraphTask(GraphTask):
    """A :class:`GraphTask` that remembers its provenance. ``index[split]``: the dataset row of
    each sample, in order; ``skipped[split]``: rows left out because they could not be featurised."""

    index: Dict[str, List[int]] = field(default_factory=dict)
    skipped: Dict[str, List[int]] = field(default_factory=dict)


class UnparsableMoleculeWarning(UserWarning):
    """Some SMILES could not be parsed by RDKit and were left out of the task."""


def atomic_write(dst: Path, write: Callable[[str], None]) -> None:
    """``write(tmp)`` into a temporary sibling of ``dst``, then rename it: never a half file."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.partial-", dir=dst.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def seed_files(rel_paths: Iterable[str], root: Path, mirror: Optional[Path], dataset: str = "") -> None:
    """Copy each ``<mirror>/<rel>`` that exists to ``<root>/<rel>`` when the latter is missing
    (written fresh, so writable), after checking it against the mirror's SHA256SUMS; the mirror
    is only read."""
    for rel in rel_paths:
        src, dst = (mirror / rel if mirror else None), root / rel
        if not dst.exists() and src is not None and src.is_file():
            check_mirror(mirror, src, dataset or rel.split("/")[0])
            atomic_write(dst, lambda tmp: shutil.copyfile(src, tmp))


def ogb_folder(name: str, root: Path, mirror: Optional[Path], download: bool) -> Optional[Path]:
    """The folder OGB's DGL loader will use for dataset ``name`` under ``<root>/ogb`` (seeded from
    ``<mirror>/ogb`` when missing), or ``None`` when neither has it. Raises :class:`DataError` for a
    folder OGB would refuse offline: without its ``RELEASE_v<version>.txt`` (OGB would stop and ask
    on stdin) or, with ``download`` off, with neither raw nor processed files."""
    import ogb

    kind = "graphproppred" if name.startswith("ogbg") else "nodeproppred"
    meta = pd.read_csv(Path(ogb.__file__).parent / kind / "master.csv", index_col=0, keep_default_na=False)[name]
    names = [name.replace("-", "_") + "_dgl", name.replace("-", "_")]   # OGB's own order of preference
    folder = next((root / "ogb" / d for d in names if (root / "ogb" / d).is_dir()), None)
    source = next((mirror / "ogb" / d for d in names if mirror and (mirror / "ogb" / d).is_dir()), None)
    if folder is None and source is None:
        return None
    if folder is None:
        folder = root / "ogb" / source.name
        check_mirror(mirror, source, name)
        copy_writable(source, folder)
    release = folder / f"RELEASE_v{meta['version']}.txt"
    has_data = (folder / "processed" / "dgl_data_processed").exists() or (folder / "raw" / "edge.csv.gz").exists()
    if not release.exists() or (not has_data and not download):
        missing = release.name if not release.exists() else "raw/edge.csv.gz (and the other raw files)"
        raise DataError(f"The OGB folder {folder} for {name!r} is incomplete or from another OGB release: it lacks "
                        f"{missing}. Delete the folder so that the dataset is rebuilt from other sources or "
                        f"downloaded again (data.download=true), or replace it with OGB's complete download.")
    return folder


# --------------------------------------------------------------------------- ZINC

ZINC_MODES = ("train", "valid", "test")
ZINC_URL_PATH = "dataset/ZINC12k.zip"   # ZINCDataset.__init__ sets self._url = _get_dgl_url(this)


def zinc_folder() -> str:
    """The folder ``ZINCDataset`` looks for in its ``raw_dir`` (depends on ``$DGL_REPO``, as in DGL)."""
    return dgl_folder_name("zinc", _get_dgl_url(ZINC_URL_PATH))


def load_zinc(cfg: DataConfig, seed: int) -> GraphTask:
    """ZINC 12k from DGL's ``ZINCDataset`` (train/valid/test ``.bin`` files, mirror-seeded)."""
    data = load_dgl_dataset(
        "zinc", lambda raw_dir: {mode: ZINCDataset(mode=mode, raw_dir=str(raw_dir)) for mode in ZINC_MODES},
        zinc_folder(), [f"ZincDGL_{mode}.bin" for mode in ZINC_MODES], data_root(cfg.root), mirror_root(cfg.mirror),
        cfg.download)
    samples = {s: [(g, y.reshape(1).to(torch.float32)) for g, y in data[m]] for s, m in zip(SPLITS, ZINC_MODES)}
    info = TaskInfo("graph", 1, 1, "l1", "mae", node_vocab=28, edge_vocab=4)
    return GraphTask(info, samples["train"], samples["val"], samples["test"])


# --------------------------------------------------------------------------- TOX21

TOX21_TASKS = ["NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD", "NR-PPAR-gamma",
               "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53"]
TOX21_CSV = "tox21/tox21.csv"
TOX21_SPLIT = {s: f"tox21/split/scaffold/{f}.csv.gz" for s, f in zip(SPLITS, OGB_SPLITS)}
TOX21_INFO = TaskInfo("graph", 9, len(TOX21_TASKS), "bce_masked", "ogbg-moltox21", ogb_mol=True)


def smiles_to_dgl(smiles: str) -> Optional[dgl.DGLGraph]:
    """OGB's featurisation as a DGL graph (``feat`` int64: 9 atom and 3 bond columns, both edge
    directions as ``smiles2graph`` gives them); ``None`` when RDKit cannot parse ``smiles``."""
    from ogb.utils import smiles2graph

    try:
        d = smiles2graph(smiles)
    except Exception:  # RDKit returns None for a rejected SMILES, and smiles2graph then fails
        return None
    g = dgl.graph((torch.from_numpy(d["edge_index"][0]), torch.from_numpy(d["edge_index"][1])), num_nodes=d["num_nodes"])
    g.ndata["feat"] = torch.from_numpy(d["node_feat"])
    g.edata["feat"] = torch.from_numpy(d["edge_feat"])
    return g


def _read_index(root: Path, rel: str, mirror: Optional[Path]) -> np.ndarray:
    path = root / rel
    try:
        index = pd.read_csv(path, header=None)[0].to_numpy()
    except Exception as err:
        raise DataError(f"The split file {path} could not be read ({type(err).__name__}: {err}). "
                        f"{corrupt_advice(path, mirror, rel)}") from None
    if index.dtype.kind not in "iu" or len(index) == 0 or index.min() < 0:
        raise DataError(f"The split file {path} must hold one row index (0, 1, …) per line; it holds "
                        f"something else. {corrupt_advice(path, mirror, rel)}")
    return index


def _featurise(df: pd.DataFrame, csv: Path) -> tuple:
    """Graphs of the parsable rows, their labels ``(n, 12)`` and row indices, cached by CSV content
    and RDKit/OGB version in ``<csv folder>/processed``. A corrupt cache is rebuilt with a warning."""
    import ogb
    import rdkit
    from rdkit import rdBase

    key = hashlib.sha1(csv.read_bytes() + f"{rdkit.__version__}/{ogb.__version__}".encode()).hexdigest()[:12]
    cache = csv.parent / "processed" / f"tox21_ogb_{key}.bin"
    if cache.exists():
        try:
            graphs, extra = dgl.load_graphs(str(cache))
            rows, labels = extra["rows"], extra["labels"]
            if len(graphs) == len(rows) == len(labels) and int(extra["num_rows"]) == len(df) and labels.shape[1] == 12:
                return graphs, labels, rows.tolist()
            problem = "inconsistent sizes"
        except Exception as err:
            problem = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
        warnings.warn(f"TOX21: the cache {cache} is corrupt ({problem}); rebuilding it from {csv}.")
        cache.unlink()
    with rdBase.BlockLogs():   # rejected SMILES are reported once, by UnparsableMoleculeWarning
        parsed = [smiles_to_dgl(s) for s in df["smiles"]]
    rows = [i for i, g in enumerate(parsed) if g is not None]
    graphs, labels = [parsed[i] for i in rows], torch.tensor(df[TOX21_TASKS].to_numpy(dtype=np.float32)[rows])
    extra = {"labels": labels, "rows": torch.tensor(rows, dtype=torch.int64), "num_rows": torch.tensor([len(df)])}
    atomic_write(cache, lambda tmp: dgl.save_graphs(tmp, graphs, extra))
    return graphs, labels, rows


def _tox21_from_csv(root: Path, mirror: Optional[Path] = None) -> IndexedGraphTask:
    """Featurise ``<root>/tox21/tox21.csv`` and apply the scaffold split files."""
    import rdkit

    csv = root / TOX21_CSV
    try:
        df = pd.read_csv(csv)
    except Exception as err:
        raise DataError(f"TOX21: {csv} could not be read ({type(err).__name__}: {err}). "
                        f"{corrupt_advice(csv, mirror, TOX21_CSV)}") from None
    absent = [c for c in TOX21_TASKS + ["smiles"] if c not in df.columns]
    if absent:
        raise DataError(f"TOX21: {csv} lacks the columns {', '.join(absent)}; it must be MoleculeNet's tox21.csv "
                        f"(12 task columns, mol_id, smiles; 7831 rows). Replace it with that file.")
    split = {s: _read_index(root, TOX21_SPLIT[s], mirror) for s in SPLITS}
    last = max(int(index.max()) for index in split.values())
    if last >= len(df):
        raise DataError(f"TOX21: the scaffold split refers to row {last}, but {csv} has only {len(df)} data rows "
                        f"(MoleculeNet's has 7831): the CSV is truncated. {corrupt_advice(csv, mirror, TOX21_CSV)}")
    graphs, labels, rows = _featurise(df, csv)
    position = {row: k for k, row in enumerate(rows)}
    index = {s: [int(r) for r in split[s] if r in position] for s in SPLITS}
    skipped = {s: [int(r) for r in split[s] if r not in position] for s in SPLITS}
    if any(skipped.values()):
        total = sum(map(len, skipped.values()))
        detail = "; ".join(f"{s} {len(skipped[s])}" + (f" (rows {', '.join(map(str, skipped[s]))})" if skipped[s] else "")
                           for s in SPLITS)
        warnings.warn(UnparsableMoleculeWarning(
            f"TOX21: RDKit {rdkit.__version__} cannot parse {total} of the {len(df)} SMILES in {csv}; they are "
            f"left out of their split: {detail}. Row numbers are 0-based data rows of the CSV; task.skipped lists "
            f"them. (Of MoleculeNet's 7831 rows RDKit 2022.09.5 parses all, 2026.09 rejects 8 hypervalent [AlH3].)"))
    samples = {s: [(graphs[position[r]], labels[position[r]]) for r in index[s]] for s in SPLITS}
    return IndexedGraphTask(TOX21_INFO, samples["train"], samples["val"], samples["test"], index, skipped)


def _tox21_from_ogb(root: Path) -> IndexedGraphTask:
    """OGB's ``ogbg-moltox21`` through ``DglGraphPropPredDataset`` (downloads when the folder is absent)."""
    from ogb.graphproppred import DglGraphPropPredDataset

    try:
        dataset = DglGraphPropPredDataset(name="ogbg-moltox21", root=str(root / "ogb"))
        split = dataset.get_idx_split()
    except Exception as err:
        raise DataError(f"TOX21: OGB's ogbg-moltox21 under {root / 'ogb'} could not be loaded or downloaded "
                        f"({type(err).__name__}: {str(err)[:200]}). Delete that folder, or provide tox21/tox21.csv "
                        f"and tox21/split/scaffold/ in the data root or mirror (see shared/data/MANIFEST.md).") from None
    labels, index = dataset.labels.to(torch.float32), {s: split[o].tolist() for s, o in zip(SPLITS, OGB_SPLITS)}
    samples = {s: [(dataset.graphs[i], labels[i]) for i in index[s]] for s in SPLITS}
    return IndexedGraphTask(TOX21_INFO, samples["train"], samples["val"], samples["test"], index, {s: [] for s in SPLITS})


def load_tox21(cfg: DataConfig, seed: int) -> IndexedGraphTask:
    """TOX21: OGB's folder if present, else the MoleculeNet CSV and scaffold split (copied from the
    mirror into the data root), else OGB's download when ``cfg.download``, else a :class:`DataError`."""
    root, mirror = data_root(cfg.root), mirror_root(cfg.mirror)
    if ogb_folder("ogbg-moltox21", root, mirror, cfg.download) is not None:
        return _tox21_from_ogb(root)
    needed = [TOX21_CSV] + list(TOX21_SPLIT.values())
    seed_files(needed, root, mirror, "tox21")
    missing = [rel for rel in needed if not (root / rel).is_file()]
    if not missing:
        return _tox21_from_csv(root, mirror)
    if cfg.download:
        return _tox21_from_ogb(root)
    where = mirror_phrase(mirror)
    raise DataError(f"Dataset 'tox21' is not available: {', '.join(missing)} are neither in the data cache {root} nor "
                    f"in {where}, there is no OGB folder {root / 'ogb/ogbg_moltox21'}, and downloading is off "
                    f"(data.download=false). Fix it by copying MoleculeNet's tox21.csv (7831 rows) to {root / TOX21_CSV} "
                    f"and the scaffold split (train/valid/test.csv.gz, one row index per line) to "
                    f"{root / 'tox21/split/scaffold'}, by pointing data.mirror (or ${MIRROR_ENV}) at a folder laid out "
                    f"like shared/data, or by running once online with data.download=true (downloads ogbg-moltox21).")
