"""The results store: one JSON record per finished run, written atomically.

Records live in ``<output.dir>/<suite>/<run id>.json``. A record is written to a temporary
file in the same folder, flushed to disk and renamed over its final name, so a reader (or an
interrupted sweep) only ever sees complete records. Records are strict JSON (a NaN or infinite
value is written as ``null``, which readers treat as missing) with the permissions of a normal
file (``0666`` minus the umask). Leaderboards are always regenerated from these files.

Every reader checks a file with :func:`record_problem`. Reading a folder
(:meth:`ResultStore.records`, ``load``, ``is_finished``): a file that is not a run record (a
stray JSON file, the wrong shape) is skipped with a warning naming it; a truncated or
undecodable one is also moved aside to ``<name>.corrupt`` (quarantined) so that it no longer
stands for its run. A write never
replaces a file that is not a record of the same run: that file is moved to
``<name>.not-a-record`` first. Reading one file by name (:meth:`ResultStore.read`): a
:class:`UserError` that says what is wrong.
"""
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from dgl_ma.errors import UserError, warn  # warn: once per message (readers visit a file several times)

FINISHED = ("ok", "diverged")  # a "failed" run is retried by the next invocation
STATUSES = ("ok", "diverged", "failed")
REQUIRED = ("run_id", "config_id", "seed", "status", "config")
TMP_PREFIX = ".tmp-"
CORRUPT_SUFFIX = ".corrupt"       # a truncated or undecodable record, moved aside by a reader
STRAY_SUFFIX = ".not-a-record"    # another file where a record is about to be written

def record_problem(record: Any) -> Optional[str]:
    """Why the parsed JSON ``record`` is not a run record, or ``None`` when it is one.

    A record is an object with ``run_id``, ``config_id``, ``seed``, ``status`` (ok, diverged or
    failed) and ``config`` (naming ``model.name`` and ``data.name``); a run with status ``ok``
    also has ``metric.name`` and that metric in ``val`` and ``test``."""
    if not isinstance(record, dict):
        return f"it holds a JSON {type(record).__name__}, not an object"
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        return f"it lacks {', '.join(missing)}"
    if record["status"] not in STATUSES:
        return f"its status {record['status']!r} is none of {', '.join(STATUSES)}"
    config = record["config"]
    if not isinstance(config, dict) or not all(isinstance(config.get(g), dict) and "name" in config[g]
                                               for g in ("model", "data")):
        return "its config lacks model.name or data.name"
    if record["status"] == "ok":
        metric = record.get("metric")
        if not isinstance(metric, dict) or "name" not in metric:
            return "it is a finished run without metric.name"
        for split in ("val", "test"):
            if not isinstance(record.get(split), dict) or metric["name"] not in record[split]:
                return f"it is a finished run without {split}.{metric['name']}"
    return None


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None`` (JSON ``null``)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    return value


def quarantine(path: Path, why: str, suffix: str = CORRUPT_SUFFIX) -> Optional[Path]:
    """Move ``path`` aside to ``<name><suffix>`` (``<suffix>-2``… when taken) and say so on
    stderr. Returns the new path, or ``None`` when the folder does not allow the rename."""
    target = path.with_name(path.name + suffix)
    for n in range(2, 1000):
        if not target.exists():
            break
        target = path.with_name(f"{path.name}{suffix}-{n}")
    try:
        os.rename(path, target)
    except OSError as err:
        warn(f"{path} {why}; it is skipped (it could not be moved aside: {err.strerror}).")
        return None
    warn(f"{path} {why}; moved it to {target} and went on without it.")
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class ResultStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, run_id: str) -> Path:
        return self.folder / f"{run_id}.json"

    def write(self, record: Dict[str, Any]) -> Path:
        """Atomically write ``record`` under its ``run_id`` as strict JSON, mode 0666 minus the
        umask. A file already there that is not a record of this run is quarantined, not replaced."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.path(record["run_id"])
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".json", dir=self.folder)
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; a record is shared like any file
            with os.fdopen(fd, "w") as handle:
                json.dump(strict_json(record), handle, indent=1, sort_keys=True, allow_nan=False)
                handle.flush()
                os.fsync(handle.fileno())
            problem = self._parse(final)[1] if final.exists() else None
            if problem is not None:
                quarantine(final, f"{problem}, so run {record['run_id']} did not overwrite it", STRAY_SUFFIX)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return final

    @staticmethod
    def _parse(path: Path) -> "tuple[Optional[Dict[str, Any]], Optional[str], bool]":
        """``(record, None, False)`` for a valid record of its file name, else
        ``(None, problem, corrupt)``; ``corrupt``: the bytes are not JSON at all."""
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            return None, f"is not UTF-8 text ({err.reason})", True
        except OSError as err:
            return None, f"cannot be read ({err.strerror or err})", False
        try:
            record = json.loads(text)
        except ValueError as err:
            return None, f"is not valid JSON, probably truncated ({err})", True
        problem = record_problem(record)
        if problem is None and record["run_id"] != path.stem:
            problem = f"it holds run {record['run_id']!r}, not {path.stem!r}"
        if problem is not None:
            return None, f"is not a run record: {problem}", False
        return record, None, False

    def read(self, path: Path) -> Dict[str, Any]:
        """The record in ``path`` (one file asked for by name): a :class:`UserError` saying what
        is wrong when it is not a record."""
        record, problem, _ = self._parse(path)
        if record is None:
            raise UserError(f"{path} {problem}.")
        return record

    def scan(self, path: Path) -> Optional[Dict[str, Any]]:
        """The record in ``path`` as a folder reader sees it: ``None``, with a warning naming the
        file, when it is not one; a truncated or undecodable file is also quarantined."""
        record, problem, corrupt = self._parse(path)
        if record is None:
            if corrupt:
                quarantine(path, problem)
            else:
                warn(f"{path} {problem}; skipped.")
        return record

    def load(self, run_id: str) -> Optional[Dict[str, Any]]:
        path = self.path(run_id)
        return self.scan(path) if path.exists() else None

    def is_finished(self, run_id: str) -> bool:
        record = self.load(run_id)
        return record is not None and record.get("status") in FINISHED

    def records(self) -> List[Dict[str, Any]]:
        """Every valid record in the folder (temporary files of an interrupted write are ignored;
        other files are skipped or quarantined by :meth:`read`)."""
        if not self.folder.is_dir():
            return []
        paths = sorted(p for p in self.folder.glob("*.json") if not p.name.startswith(TMP_PREFIX) and p.is_file())
        return [r for r in (self.scan(p) for p in paths) if r is not None]

    def reindex(self, run_id_of) -> int:
        """Rename every record to the id ``run_id_of(record)`` returns (``(run_id, config_id)``),
        for records written under an older id scheme. Returns how many changed. A record whose
        new id is already taken by another record is an error: nothing is overwritten."""
        changed = 0
        for record in self.records():
            run_id, config_id = run_id_of(record)
            if run_id == record["run_id"] and config_id == record.get("config_id"):
                continue
            if self.path(run_id).exists():
                raise UserError(f"Cannot reindex {record['run_id']}: a record {run_id} already exists in {self.folder}.")
            old = self.path(record["run_id"])
            self.write({**record, "run_id": run_id, "config_id": config_id, "reindexed_from": record["run_id"]})
            old.unlink()
            changed += 1
        return changed
