"""The results store: one JSON record per finished run, written atomically.

Records live in ``<output.dir>/<suite>/<run id>.json``. A record is written to a temporary
file in the same folder, flushed to disk and renamed over its final name, so a reader (or an
interrupted sweep) only ever sees complete records. Leaderboards are always regenerated from
these files.
"""
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from dgl_ma.errors import UserError

FINISHED = ("ok", "diverged")  # a "failed" run is retried by the next invocation
TMP_PREFIX = ".tmp-"


class ResultStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, run_id: str) -> Path:
        return self.folder / f"{run_id}.json"

    def write(self, record: Dict[str, Any]) -> Path:
        """Atomically write ``record`` under its ``run_id``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.path(record["run_id"])
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".json", dir=self.folder)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(record, handle, indent=1, sort_keys=True, allow_nan=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return final

    def read(self, path: Path) -> Dict[str, Any]:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise UserError(
                f"The result record {path} cannot be read ({err}). Delete it: the next "
                f"`python -m benchmark run` with the same suite reruns that run."
            ) from None

    def load(self, run_id: str) -> Optional[Dict[str, Any]]:
        path = self.path(run_id)
        return self.read(path) if path.exists() else None

    def is_finished(self, run_id: str) -> bool:
        record = self.load(run_id)
        return record is not None and record.get("status") in FINISHED

    def records(self) -> List[Dict[str, Any]]:
        """Every complete record in the folder (temporary files of an interrupted write are ignored)."""
        if not self.folder.is_dir():
            return []
        return [self.read(p) for p in sorted(self.folder.glob("*.json")) if not p.name.startswith(TMP_PREFIX)]

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
