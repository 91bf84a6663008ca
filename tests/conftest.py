"""Shared fixtures: a tiny suite file and a results folder in a temporary directory."""
import textwrap

import pytest

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
