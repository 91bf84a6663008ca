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
* A mirror with a ``SHA256SUMS`` file (``sha256sum`` format, paths relative to the mirror) is
  checked before anything is copied from it, so a corrupt mirror file is reported as such and
  never lands in the cache; :func:`corrupt_advice` tells, for a file that cannot be read, whether
  the cache copy or the mirror is the damaged one.
"""
import filecmp
import functools
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, TypeVar

from dgl_ma.errors import DataError

ROOT_ENV = "DGL_MA_DATA"
MIRROR_ENV = "DGL_MA_MIRROR"
DEFAULT_ROOT = Path("~/.cache/dgl_ma")
SUMS_FILE = "SHA256SUMS"

T = TypeVar("T")


def data_root(root: Optional[str]) -> Path:
    """The writable data cache: ``root``, else ``$DGL_MA_DATA``, else ``~/.cache/dgl_ma``."""
    chosen = root or os.environ.get(ROOT_ENV) or str(DEFAULT_ROOT)
    return Path(chosen).expanduser().resolve()


def mirror_root(mirror: Optional[str]) -> Optional[Path]:
    """The read-only mirror: ``mirror``, else ``$DGL_MA_MIRROR``, else none."""
    chosen = mirror or os.environ.get(MIRROR_ENV)
    return Path(chosen).expanduser().resolve() if chosen else None


def mirror_phrase(mirror: Optional[Path], sub: str = "") -> str:
    """How messages name the mirror: ``the mirror <path>/<sub>``, noting when that folder does
    not exist (a mistyped data.mirror or $DGL_MA_MIRROR), or that none is set."""
    if mirror is None:
        return f"a mirror (none is set: data.mirror=PATH or ${MIRROR_ENV})"
    if not mirror.is_dir():
        return f"the mirror {mirror}, which does not exist (check data.mirror or ${MIRROR_ENV})"
    return f"the mirror {mirror / sub if sub else mirror}"


@functools.lru_cache(maxsize=None)
def mirror_sums(mirror: Path) -> Dict[str, str]:
    """``{relative path: sha256 hex}`` from ``<mirror>/SHA256SUMS``; empty without that file."""
    sums = {}
    path = mirror / SUMS_FILE
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            digest, _, rel = line.strip().partition(" ")
            if digest and rel:
                sums[rel.strip().lstrip("*")] = digest.lower()
    return sums


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def corrupt_mirror_files(mirror: Optional[Path], src: Path) -> List[Path]:
    """The files at or under ``src`` (inside ``mirror``) whose SHA-256 differs from the mirror's
    ``SHA256SUMS``; files it does not list are not checked."""
    sums = mirror_sums(mirror) if mirror is not None else {}
    if not sums:
        return []
    files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
    listed = [(f, sums.get(f.relative_to(mirror).as_posix())) for f in files]
    return [f for f, expected in listed if expected is not None and sha256(f) != expected]


def check_mirror(mirror: Optional[Path], src: Path, dataset: str) -> None:
    """Raise :class:`DataError` when a file at or under ``src`` fails the mirror's ``SHA256SUMS``
    (before it is copied into the cache)."""
    bad = corrupt_mirror_files(mirror, src)
    if bad:
        raise DataError(f"Dataset {dataset!r}: the mirror file {bad[0]} is corrupt: its SHA-256 differs from "
                        f"{mirror / SUMS_FILE}" + (f" (and {len(bad) - 1} more file(s))" if len(bad) > 1 else "")
                        + ". The mirror is the damaged copy: restore it from its source (see its MANIFEST.md), "
                        "or unset data.mirror to download instead. Nothing was copied into the data cache.")


def _same_content(cache: Path, source: Path) -> bool:
    """Whether ``cache`` holds the same bytes as ``source`` (for folders: every file of ``source``)."""
    if source.is_file():
        return cache.is_file() and filecmp.cmp(cache, source, shallow=False)
    names = [p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()]
    match, _, _ = filecmp.cmpfiles(source, cache, names, shallow=False)
    return len(match) == len(names)


def corrupt_advice(cache: Path, mirror: Optional[Path], rel: Optional[str]) -> str:
    """What to do about ``cache`` (a file or folder of the data cache) that cannot be read, where
    ``<mirror>/<rel>`` is the mirror's copy it came from (when there is one): restore the mirror
    when it is the damaged copy, else delete the cache copy so that it is copied again."""
    source = mirror / rel if mirror is not None and rel is not None else None
    if source is None or not source.exists():
        return (f"Delete {cache} so that it is downloaded or copied again, or replace it with an intact copy.")
    bad = corrupt_mirror_files(mirror, source)
    if bad:
        return (f"The mirror's copy is the damaged one: {bad[0]} does not match {mirror / SUMS_FILE}. Restore the "
                f"mirror from its source, then delete {cache} so that it is copied again.")
    listed = any(k == rel or k.startswith(rel.rstrip("/") + "/") for k in mirror_sums(mirror))
    if _same_content(cache, source):
        return (f"It holds the same bytes as the mirror's {source}, so the mirror is damaged too"
                + ("" if listed else f" ({mirror / SUMS_FILE} does not list it to check)")
                + f": replace the mirror's copy with an intact one, then delete {cache}.")
    checked = f" matches {mirror / SUMS_FILE} and" if listed else ""
    return (f"The mirror's copy {source}{checked} differs from it: delete {cache} so that it is copied again "
            f"from the mirror.")


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
        check_mirror(mirror, mirror / "dgl" / folder, dataset)
        copy_writable(mirror / "dgl" / folder, target)
    if not target.exists() and not download:
        raise DataError(missing_message(dataset, target, files, mirror, "downloading is off (data.download=false)"))
    return raw_dir


def missing_message(dataset: str, target: Path, files: Iterable[str], mirror: Optional[Path], why: str) -> str:
    where = mirror_phrase(mirror, "dgl")
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
            f"They may be corrupt or incomplete. {corrupt_advice(raw_dir / folder, mirror, f'dgl/{folder}')}"
        ) from None
