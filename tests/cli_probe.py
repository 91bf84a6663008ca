"""Run ``python -m benchmark ARGS`` in a fresh interpreter and report, at its exit, its exit code
and which of the named modules it had imported (tests/test_startup.py, tests/test_user_audit.py).
``prelude`` is Python run first in that interpreter (e.g. an import hook)."""
import json
import subprocess
import sys
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import json, runpy, sys
out, modules, args = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
sys.argv = ["benchmark", *args]
code = 0
try:
    runpy.run_module("benchmark", run_name="__main__", alter_sys=True)
except SystemExit as stop:
    code = stop.code
with open(out, "w") as f:
    json.dump({"code": code, "loaded": sorted(m for m in modules if m in sys.modules)}, f)
"""


def probe(tmp_path: Path, modules: Sequence[str], *args: str, prelude: str = "") -> dict:
    """``{"code": exit code, "loaded": the modules of ``modules`` imported, sorted, "stderr": ...}``."""
    out = tmp_path / "probe.json"
    proc = subprocess.run([sys.executable, "-c", prelude + PROBE, str(out), ",".join(modules), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert out.exists(), proc.stderr
    return dict(json.loads(out.read_text()), stderr=proc.stderr)
