"""Where dataset files live: a writable cache, seeded from an optional read-only mirror.

* The **data root** (writable cache) is ``data.root``, else ``$DGL_MA_DATA``, else
  ``~/.cache/dgl_ma``. DGL's built-in datasets use ``<root>/dgl`` as their ``raw_dir``; DGL
  writes its processed cache there too.
* The **mirror** (read-only) is ``data.mirror``, else ``$DGL_MA_MIRROR``: a folder laid out like
  ``shared/data`` (``<mirror>/dgl/<name>_<hash>/…`` as in DGL's download folder). A dataset folder
  missing from the cache is copied from the mirror first. Nothing is ever written to the mirror:
  files are copied with fresh permissions into a temporary folder of the cache, then renamed.
* Otherwise DGL downloads the files as usual (``data.download=true``); when that is off or fails,
  a :class:`~dgl_ma.errors.DataError` names the files and where to put them.
"""
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Optional, TypeVar

from dgl_ma.errors import DataError

ROOT_ENV = "DGL_MA_DATA"
MIRROR_ENV = "DGL_MA_MIRROR"
DEFAULT_ROOT = Path("~/.cache/dgl_ma")

T = TypeVar("T")


def data_root(root: Optional[str]) -> Path:
    """The writable data cache: ``root``, else ``$DGL_MA_DATA``, else ``~/.cache/dgl_ma``."""
    chosen = root or os.environ.get(ROOT_ENV) or str(DEFAULT_ROOT)
    return Path(chosen).expanduser().resolve()


def mirror_root(mirror: Optional[str]) -> Optional[Path]:
    """The read-only mirror: ``mirror``, else ``$DGL_MA_MIRROR``, else none."""
    chosen = mirror or os.environ.get(MIRROR_ENV)
    return Path(chosen).expanduser().resolve() if chosen else None


def dgl_folder_name(name: str, url: str) -> str:
    """The folder DGL's ``DGLBuiltinDataset`` looks for: ``<name>_<first 8 hex of sha1(url)>``."""
    return f"{name}_{hashlib.sha1(url.encode('utf-8')).hexdigest()[:8]}"


def copy_writable(src: Path, dst: Path) -> None:
    """Copy the tree ``src`` to a new ``dst`` with default (writable) permissions.

    ``shutil.copytree`` would copy the mirror's read-only modes, and DGL could not write its
    cache next to the raw files; the copy lands in a temporary sibling and is renamed, so an
    interrupted copy never looks complete.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.partial-", dir=dst.parent))
    try:
        for dirpath, _, filenames in os.walk(src):
            target = tmp / Path(dirpath).relative_to(src)
            target.mkdir(parents=True, exist_ok=True)
            for filename in filenames:
                shutil.copyfile(Path(dirpath) / filename, target / filename)
        try:
            os.rename(tmp, dst)
        except OSError:
            if not dst.exists():  # a concurrent copy that won the race is fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_dgl_folder(
    folder: str, files: Iterable[str], root: Path, mirror: Optional[Path], download: bool, dataset: str
) -> Path:
    """Make ``<root>/dgl/<folder>`` exist when it can, and return DGL's ``raw_dir`` (``<root>/dgl``).

    Seeds the folder from ``<mirror>/dgl/<folder>`` when the cache lacks it. When neither has it
    and ``download`` is off, raises :class:`DataError` naming the expected files.
    """
    raw_dir = root / "dgl"
    target = raw_dir / folder
    if not target.exists() and mirror is not None and (mirror / "dgl" / folder).is_dir():
        copy_writable(mirror / "dgl" / folder, target)
    if not target.exists() and not download:
        raise DataError(missing_message(dataset, target, files, mirror, "downloading is off (data.download=false)"))
    return raw_dir


def missing_message(dataset: str, target: Path, files: Iterable[str], mirror: Optional[Path], why: str) -> str:
    where = f"the mirror {mirror}/dgl" if mirror else f"a mirror (none is set: data.mirror=PATH or ${MIRROR_ENV})"
    return (
        f"Dataset {dataset!r} is not available: its files are neither in the data cache nor in "
        f"{where}, and {why}. DGL expects the folder {target} holding {', '.join(files)}. "
        f"Fix it by copying those files there, by pointing data.mirror (or ${MIRROR_ENV}) at a folder "
        f"laid out like shared/data, or by running once with network access and data.download=true."
    )


def load_dgl_dataset(
    dataset: str, build: Callable[[Path], T], folder: str, files: Iterable[str], root: Path,
    mirror: Optional[Path], download: bool,
) -> T:
    """Run a DGL dataset constructor ``build(raw_dir)`` with cache/mirror seeding, turning a
    failed download or unreadable files into a :class:`DataError`."""
    files = list(files)
    raw_dir = ensure_dgl_folder(folder, files, root, mirror, download, dataset)
    had_files = (raw_dir / folder).exists()
    try:
        return build(raw_dir)
    except DataError:
        raise
    except Exception as err:  # DGL raises many types: network, pickle, parse, shape errors
        detail = f"{type(err).__name__}: {err}".strip()[:300]
        if not had_files:
            raise DataError(missing_message(dataset, raw_dir / folder, files, mirror,
                                            f"the download failed ({detail})")) from None
        raise DataError(
            f"Dataset {dataset!r}: the files in {raw_dir / folder} could not be read ({detail}). "
            f"They may be corrupt or incomplete. Delete that folder so that it is copied again from "
            f"the mirror or downloaded again, or replace the files with intact copies."
        ) from None
