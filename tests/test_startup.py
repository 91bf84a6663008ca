"""The command line answers ``--help``, ``list`` and ``show`` without importing torch, DGL, OGB or
torch_geometric (each costs seconds; the README gives the measured start-up times, no test here
is timed): the models' option tables are declared torch-free (:mod:`dgl_ma.models.options`).
Each case runs ``python -m benchmark ...`` in a fresh interpreter and reads
``sys.modules`` at its exit."""
from pathlib import Path

import pytest
from cli_probe import probe

HEAVY = ("torch", "dgl", "ogb", "torch_geometric")

def loaded_modules(tmp_path: Path, *args: str) -> dict:
    result = probe(tmp_path, HEAVY, *args)
    return {"code": result["code"], "heavy": result["loaded"]}


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["show", "--help"], ["leaderboard", "--help"]],
                         ids=lambda a: " ".join(a))
def test_help_imports_neither_torch_nor_dgl(tmp_path, args):
    result = loaded_modules(tmp_path, *args)
    assert result["code"] == 0
    assert result["heavy"] == [], f"`python -m benchmark {' '.join(args)}` imported {result['heavy']}"


@pytest.mark.parametrize("args", [["list"], ["show", "suite=quickstart"], ["show", "suite=ma_zinc"],
                                  ["show", "suite=quickstart", "model.norm=lipschitz+layernorm"],
                                  ["show", "suite=quickstart", "model.norm=batchnorm"]],
                         ids=lambda a: " ".join(a))
def test_list_and_show_import_neither_torch_nor_dgl(tmp_path, args):
    result = loaded_modules(tmp_path, *args)
    assert result["code"] == (2 if "model.norm=batchnorm" in args else 0)   # gat has no batchnorm: exit 2
    assert result["heavy"] == [], f"`python -m benchmark {' '.join(args)}` imported {result['heavy']}"


def test_probe_sees_a_heavy_import(tmp_path):
    """The probe is not blind: a command that trains imports torch and DGL (here it fails on an
    unknown dataset after loading the runner)."""
    result = loaded_modules(tmp_path, "run", "suite=quickstart", "data.name=nope")
    assert result["code"] == 2
    assert {"torch", "dgl"} <= set(result["heavy"])


def test_declared_choice_names_are_the_layers_tables():
    """The torch-free names (options) and the tables the layers build from are the same sets."""
    from dgl_ma.layers.block import BLOCK_NORMS
    from dgl_ma.layers.norms import FEATURE_NORMS
    from dgl_ma.models import MODELS
    from dgl_ma.models import options
    from dgl_ma.models.graphit import KERNELS
    from dgl_ma.models.heads import READOUTS

    assert set(options.BLOCK_NORMS) == set(BLOCK_NORMS)
    assert set(options.FEATURE_NORMS) == set(FEATURE_NORMS)
    assert set(options.KERNELS) == set(KERNELS)
    assert set(options.READOUTS) == set(READOUTS)
    assert set(options.OPTIONS) == set(MODELS.names())                  # every built-in model declared
    for name in MODELS.names():
        assert MODELS.get(name).config_keys == options.OPTIONS[name].reads, name
