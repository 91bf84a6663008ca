"""The command line answers ``--help`` without importing torch, DGL, OGB or torch_geometric
(each costs seconds; the README gives the measured start-up times, no test here is timed), and
``list`` without OGB or torch_geometric (it reads the models' option tables, which live with
the torch modules). Each case runs ``python -m benchmark ...`` in a fresh interpreter and reads
``sys.modules`` at its exit."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "dgl", "ogb", "torch_geometric")
REPO = Path(__file__).resolve().parents[1]

PROBE = """
import json, runpy, sys
out, args = sys.argv[1], sys.argv[2:]
sys.argv = ["benchmark", *args]
code = 0
try:
    runpy.run_module("benchmark", run_name="__main__", alter_sys=True)
except SystemExit as stop:
    code = stop.code
with open(out, "w") as f:
    json.dump({"code": code, "heavy": sorted(m for m in %r if m in sys.modules)}, f)
""" % (HEAVY,)


def loaded_modules(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "probe.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert out.exists(), proc.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["show", "--help"], ["leaderboard", "--help"]],
                         ids=lambda a: " ".join(a))
def test_help_imports_neither_torch_nor_dgl(tmp_path, args):
    result = loaded_modules(tmp_path, *args)
    assert result["code"] == 0
    assert result["heavy"] == [], f"`python -m benchmark {' '.join(args)}` imported {result['heavy']}"


def test_list_imports_no_ogb_or_torch_geometric(tmp_path):
    result = loaded_modules(tmp_path, "list")
    assert result["code"] == 0
    assert not {"ogb", "torch_geometric"} & set(result["heavy"]), result["heavy"]


def test_probe_sees_a_heavy_import(tmp_path):
    """The probe is not blind: a command that trains imports torch and DGL (here it fails on an
    unknown dataset after loading the runner)."""
    result = loaded_modules(tmp_path, "run", "suite=quickstart", "data.name=nope")
    assert result["code"] == 2
    assert {"torch", "dgl"} <= set(result["heavy"])
