"""Shared fixtures: a tiny suite file, a results folder, a guard against downloads, the report's results."""
import signal
import textwrap

import pytest

# Tests interrupt the command-line subprocesses they start with SIGINT (Ctrl-C). A pytest started
# in the background by a non-interactive shell (nohup ... &) inherits SIGINT ignored, and so would
# every child: restore Python's handler here, which children see as the default disposition.
signal.signal(signal.SIGINT, signal.default_int_handler)

TINY_SUITE = """
description: tiny suite for tests
config:
  model: {name: gat, hidden: 4, heads: 2}
  data: {num_nodes: 60, num_graphs: 40}
  train: {epochs: 3, patience: 0}
  seeds: [0, 1]
grid:
  data.name: [csbm, minigc]
  model.layers: [1, 2]
leaderboard:
  metrics: [test, val]
"""


@pytest.fixture
def tiny_suite(tmp_path):
    """Path of a suite file with 2 datasets x 2 depths x 2 seeds = 8 quick runs."""
    path = tmp_path / "tiny.yaml"
    path.write_text(textwrap.dedent(TINY_SUITE))
    return path


@pytest.fixture
def out_dir(tmp_path):
    return tmp_path / "results"


@pytest.fixture
def no_network(monkeypatch):
    """Any download attempt by DGL or OGB fails the test instead of touching the network."""
    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")
    import ogb.graphproppred.dataset_dgl as ogbg
    import ogb.nodeproppred.dataset_dgl as ogbn
    import dgl.data.dgl_dataset as dgl_dataset
    for module in (ogbg, ogbn):
        monkeypatch.setattr(module, "decide_download", refuse)
        monkeypatch.setattr(module, "download_url", refuse)
    monkeypatch.setattr(dgl_dataset, "download", refuse)
    monkeypatch.delenv("DGL_REPO", raising=False)
    monkeypatch.delenv("DGL_MA_MIRROR", raising=False)   # the tests pass the mirror explicitly


@pytest.fixture(scope="session")
def report_results(tmp_path_factory):
    """A real results folder for the report tests (see tests/report_fixtures.py)."""
    from report_fixtures import make_results

    return make_results(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="session")
def report_site(report_results):
    """The site of ``report_results`` written by ``python -m benchmark report`` (in-process)."""
    from benchmark.cli import main

    site = report_results["out"].parent / "site"
    assert main(["report", f"output.dir={report_results['out']}", f"site={site}"]) == 0
    return site
