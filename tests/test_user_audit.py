"""The defects a user audit of the CLI found (issue 13), each reproduced as a user would hit it:
every mistake a one-paragraph message with exit code 2 and no traceback, nothing written lost."""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_probe import probe

from benchmark.cli import main
from benchmark.interrupt import Terminated, _on_sigterm, held
from benchmark.results import ResultStore

REPO = Path(__file__).resolve().parent.parent

SWEEP = """
description: four configurations of a quick CSBM node task, two seeds
config:
  model: {name: gat, hidden: 4, heads: 2}
  data: {name: csbm, num_nodes: 60}
  train: {epochs: 3, patience: 0}
  seeds: [0, 1]
grid:
  model.layers: [1, 2]
  train.lr: [0.01, 0.005]
"""


def run_cli(capsys, *args):
    """``python -m benchmark ARGS`` in this process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def user_error(capsys, *args, message):
    code, out, err = run_cli(capsys, *args)
    assert code == 2, (out, err)
    assert message in err and "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A real sweep of :data:`SWEEP` (8 runs), run once; tests copy it."""
    root = tmp_path_factory.mktemp("sweep")
    suite = root / "sweep.yaml"
    suite.write_text(textwrap.dedent(SWEEP))
    assert main(["run", f"suite={suite}", f"output.dir={root / 'results'}", "--no-progress"]) == 0
    return root


@pytest.fixture
def sweep(swept, tmp_path):
    """A private copy of the sweep: ``(suite file, results folder, records folder)``."""
    shutil.copytree(swept, tmp_path, dirs_exist_ok=True)
    return tmp_path / "sweep.yaml", tmp_path / "results", tmp_path / "results" / "sweep"


# ---- user errors that used to end in a traceback or run nothing -------------------------------

@pytest.mark.parametrize("seeds", ["[-1]", f"[{2**32}]"])
def test_seeds_outside_numpys_range_are_a_user_error(capsys, seeds):
    user_error(capsys, "show", "suite=quickstart", f"seeds={seeds}", message="seeds must lie in 0..4294967295")


@pytest.mark.parametrize("args, message", [
    (["data.name=minigc", "data.num_graphs=10"], "data.num_graphs >= 37"),
    (["data.name=csbm", "data.num_nodes=19"], "data.num_nodes >= 20"),
])
def test_generated_dataset_too_small_to_split_names_the_minimum(capsys, args, message):
    user_error(capsys, "show", "suite=quickstart", *args, message=message)


def test_the_minimum_sizes_are_the_real_minimum():
    from networkx import NetworkXException

    from dgl_ma.data import DataConfig, load_task
    from dgl_ma.data.registry import CSBM_MIN_NODES, MINIGC_MIN_GRAPHS

    for name, key, smallest in [("csbm", "num_nodes", CSBM_MIN_NODES), ("minigc", "num_graphs", MINIGC_MIN_GRAPHS)]:
        for seed in range(3):
            load_task(DataConfig(name=name, **{key: smallest}), seed)
        with pytest.raises((ValueError, NetworkXException)):  # scikit-learn's split, networkx's SBM
            load_task(DataConfig(name=name, **{key: smallest - 1}), 0)


def test_malformed_yaml_on_the_command_line(capsys):
    user_error(capsys, "show", "suite=quickstart", "model.layers=[2,", message="Cannot parse the value '[2,'")


def test_suite_path_that_is_a_directory_or_not_utf8(capsys, tmp_path):
    (tmp_path / "folder.yaml").mkdir()
    user_error(capsys, "show", f"suite={tmp_path / 'folder.yaml'}", message="is a directory")
    (tmp_path / "latin1.yaml").write_bytes("description: caf\xe9\n".encode("latin-1"))
    user_error(capsys, "show", f"suite={tmp_path / 'latin1.yaml'}", message="is not UTF-8 text")


def test_unsupported_device_is_rejected_before_any_run(capsys, tmp_path):
    user_error(capsys, "run", "suite=quickstart", "train.device=mps", f"output.dir={tmp_path}",
               message="train.device='mps' is not supported")
    assert not list(tmp_path.iterdir())


def test_empty_grid_axis_on_the_command_line_is_an_error(capsys, tmp_path):
    user_error(capsys, "run", "suite=quickstart", "model.layers=[]", f"output.dir={tmp_path}",
               message="model.layers=[] leaves the grid axis model.layers without values")


def test_empty_output_dir_is_named_not_printed_as_none(capsys):
    err = user_error(capsys, "leaderboard", "output.dir=", message="output.dir= is empty")
    assert "None" not in err


# ---- model keys a model does not read ------------------------------------------------------------

def test_a_model_key_no_run_of_the_plan_reads_is_rejected(capsys):
    user_error(capsys, "show", "suite=quickstart", "model.kernel=diffusion",
               message="model.kernel has no effect here: it is read only by graphit")


def test_a_key_some_models_of_the_plan_do_not_read_leaves_their_run_ids_alone():
    from benchmark.suites import load_suite
    from benchmark.sweep import expand

    plan = expand(load_suite("deep_gat_quick"), {})
    changed = expand(load_suite("deep_gat_quick"), {"model.attn_dropout": 0.1})
    ids = lambda p, model: {r.run_id for r in p.runs if r.config.model.name == model}  # noqa: E731
    assert ids(plan, "gcn") == ids(changed, "gcn")          # gcn has no attention dropout: same runs
    assert not ids(plan, "gat") & ids(changed, "gat")       # gat reads it: new runs


# ---- records that are not records ------------------------------------------------------------

def test_leaderboard_and_run_go_on_past_stray_wrong_shape_and_truncated_records(capsys, sweep):
    suite, results, folder = sweep
    first = sorted(folder.glob("*.json"))[0]
    text = first.read_text()
    first.write_text(text[: len(text) // 2])                       # a write cut short
    (folder / "notes.json").write_text('{"comment": "mine"}')       # a stray JSON file
    (folder / "list.json").write_text("[]")                         # valid JSON, wrong shape
    code, out, err = run_cli(capsys, "leaderboard", f"suite={suite}", f"output.dir={results}")
    assert code == 0 and "### csbm" in out
    assert f"{first}.corrupt" in err and str(folder / "notes.json") in err and str(folder / "list.json") in err
    code, out, err = run_cli(capsys, "run", f"suite={suite}", f"output.dir={results}", "--no-progress")
    assert code == 0, err
    assert json.loads(first.read_text())["status"] == "ok"        # the quarantined run was rerun
    assert (folder / "notes.json").read_text() == '{"comment": "mine"}'
    assert len(ResultStore(folder).records()) == 8


def test_run_never_overwrites_a_file_that_is_not_its_record(capsys, sweep):
    suite, results, folder = sweep
    mine = sorted(folder.glob("*.json"))[0]
    mine.write_text('{"status": "ok"}')
    code, _, err = run_cli(capsys, "run", f"suite={suite}", f"output.dir={results}", "--no-progress")
    assert code == 0, err
    assert (folder / f"{mine.name}.not-a-record").read_text() == '{"status": "ok"}'
    assert json.loads(mine.read_text())["run_id"] == mine.stem


# ---- command line ------------------------------------------------------------------------------

def test_flags_anywhere_among_the_overrides(capsys, sweep):
    suite, results, folder = sweep
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}
    code, _, err = run_cli(capsys, "run", f"suite={suite}", "--force", "seeds=[0]", f"output.dir={results}",
                           "--no-progress")
    assert code == 0, err
    after = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}
    assert sum(after[n] != before[n] for n in before) == 4      # --force reran the 4 seed-0 runs only
    with pytest.raises(SystemExit) as exit_info:
        main(["run", f"suite={suite}", "--forse"])
    assert exit_info.value.code == 2 and "unrecognized arguments: --forse" in capsys.readouterr().err


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.3, 1.8])
def test_ctrl_c_during_start_up_exits_130_without_traceback(tmp_path, delay):
    """At any moment of start-up, torch's import included (from about 0.5 s to 2 s here): a
    Ctrl-C there used to end the process killed by SIGINT (-2) or aborted (-6) now and then."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "benchmark", "run", "suite=quickstart", "train.epochs=500",
                             f"output.dir={tmp_path}", "--no-progress"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err


# A Ctrl-C the command line sends itself the moment DGL's import begins (inside the runner's
# import, after torch's).
CTRL_C_AT_DGL = """
import importlib.abc, os, signal, sys
class CtrlCAtDgl(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "dgl":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, CtrlCAtDgl())
"""


def test_ctrl_c_inside_the_torch_and_dgl_import_waits_for_the_import_then_exits_130(tmp_path):
    result = probe(tmp_path, ["benchmark.runner"], "run", "suite=quickstart", f"output.dir={tmp_path}",
                   "--no-progress", prelude=CTRL_C_AT_DGL)
    err = result["stderr"]
    assert (result["code"], result["loaded"]) == (130, ["benchmark.runner"]), err   # held until the import had finished
    assert "interrupted" in err and "Traceback" not in err
    assert not list(tmp_path.glob("quickstart/*.json"))              # and then nothing ran


@pytest.mark.parametrize("kind, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
def test_a_held_signal_is_raised_by_its_own_handler_after_the_block(kind, raised):
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    reached = False
    try:
        with pytest.raises(raised):
            with held():
                os.kill(os.getpid(), kind)
                time.sleep(0.05)          # an unheld signal raises here, at the next bytecode
                reached = True
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert reached
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler    # handlers are restored


@pytest.mark.slow
def test_sigterm_exits_143_with_a_message_and_keeps_finished_records(sweep):
    suite, results, folder = sweep
    shutil.rmtree(folder)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "benchmark", "run", f"suite={suite}", "train.epochs=60",
                             f"output.dir={results}", "--no-progress"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and not list(folder.glob("*.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    assert not list(folder.glob(".tmp-*"))
    assert all(json.loads(p.read_text())["status"] == "ok" for p in folder.glob("*.json"))


# ---- suites given by path ------------------------------------------------------------------------

def test_leaderboard_and_plot_read_a_suite_given_by_path_with_its_own_settings(capsys, sweep, tmp_path):
    suite, results, folder = sweep
    own = tmp_path / "elsewhere"
    text = suite.read_text().replace("seeds: [0, 1]", f"seeds: [0, 1]\n  output: {{dir: {own}}}")
    suite.write_text(text + "leaderboard:\n  metrics: [val, test]\n")
    shutil.move(str(results), str(own))
    code, out, err = run_cli(capsys, "leaderboard", f"suite={suite}")
    assert code == 0, err
    header = next(line for line in out.splitlines() if line.startswith("| layers"))
    assert header.index("val accuracy") < header.index("test accuracy")   # the file's leaderboard section
    code, out, err = run_cli(capsys, "plot", f"suite={suite}")
    assert code == 0, err
    assert (own / "sweep" / "plots" / "accuracy_vs_depth.png").exists()


def test_a_custom_suite_named_like_a_built_in_one_is_warned_about(capsys, tmp_path):
    copy = tmp_path / "quickstart.yaml"
    copy.write_text((REPO / "suites" / "quickstart.yaml").read_text())
    code, _, err = run_cli(capsys, "show", f"suite={copy}")
    assert code == 0 and "named like the built-in suite 'quickstart'" in err


# ---- show and list -----------------------------------------------------------------------------

def test_show_prints_the_grid_not_a_config_that_never_runs_and_every_grid_column(capsys, tmp_path):
    suite = tmp_path / "transformers.yaml"
    suite.write_text(textwrap.dedent("""
        description: two graph transformers whose grid entries set different keys
        config:
          model: {layers: 2, norm: batchnorm}
          data: {name: minigc, num_graphs: 40}
        grid:
          model:
            - {name: gt, readout: mean}
            - {name: san_sparse, hidden: 11, readout: sum}
          depth:
            - {model.layers: 2, train.epochs: 10}
            - {model.layers: 4, train.epochs: 20}
        """))
    code, out, _ = run_cli(capsys, "show", f"suite={suite}")
    assert code == 0
    shared, grid = out.split("# grid:")
    assert "name: gat" not in shared and "readout:" not in shared   # set by the grid, shown there
    assert "layers:" not in shared and "epochs:" not in shared      # set by the linked depth axis
    assert "norm: batchnorm" in shared
    assert "- name: gt" in grid and "hidden: 11" in grid and "model.layers: 4" in grid
    header = next(line for line in out.splitlines() if line.startswith("| run id"))
    assert "model.hidden" in header and "train.epochs" in header     # the san point sets hidden


def test_list_fits_100_columns_and_explains_values(capsys):
    from benchmark.leaderboard import METRIC_COLUMNS

    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 100
    lines, last = {}, None  # first word of an entry -> the entry with its wrapped continuation lines
    for line in out.splitlines():
        if line.startswith(" ") and last:
            lines[last] += " " + line.strip()
        elif line.strip():
            last = line.split()[0]
            lines[last] = line
    assert "mean, sum, max" in lines["model.readout"]
    assert "diffusion, random_walk" in lines["model.kernel"] and "none, gnn_ma, sink" in lines["model.ebt"]
    assert "0 = never stop early" in lines["train.patience"]
    assert "0 = none" in lines["train.max_seconds"] and "0 = all" in lines["data.subset"]
    assert "leaderboard columns" in out and all(name in lines for name in ("test", "ma_max_ratio", "gain@0.01"))
    assert len(METRIC_COLUMNS) >= 13


# ---- leaderboard ---------------------------------------------------------------------------------

def _second_suite(results):
    """A copy of the sweep's records under a second suite folder, as if a different suite."""
    other = results / "other"
    shutil.copytree(results / "sweep", other)
    for path in other.glob("*.json"):
        record = json.loads(path.read_text())
        record["config"]["train"]["epochs"] = 9  # other keys vary: a different header
        record["config"]["model"]["layers"] = 1
        path.write_text(json.dumps(record))
    return other


def test_csv_over_several_suites_is_one_table(capsys, sweep):
    _, results, _ = sweep
    _second_suite(results)
    code, out, err = run_cli(capsys, "leaderboard", f"output.dir={results}", "format=csv")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("suite,dataset,metric,") and sum(line.startswith("suite,") for line in lines) == 1
    assert {line.split(",")[0] for line in lines[1:]} == {"sweep", "other"}


def test_leaderboard_marks_and_headings(capsys, sweep):
    _, results, folder = sweep
    for path in folder.glob("*.json"):           # a run without timing: s/epoch is unknown, not nan
        record = json.loads(path.read_text())
        record["seconds_per_epoch"] = None
        path.write_text(json.dumps(record))
    code, out, _ = run_cli(capsys, "leaderboard", "suite=sweep", f"output.dir={results}", "metric=best_epoch")
    assert code == 0
    assert "**" not in out and "nan" not in out
    assert "sorted by best_epoch, no better direction" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "layers" not in line]
    assert all(line.rstrip(" |").endswith("—") for line in rows)
    code, out, _ = run_cli(capsys, "leaderboard", "suite=sweep", f"output.dir={results}", "metric=val_loss")
    assert "sorted by val_loss, lower is better" in out and "higher is better" not in out


# ---- plots ---------------------------------------------------------------------------------------

def test_plot_draws_one_line_per_configuration_not_a_mean_over_them():
    from benchmark.plots import accuracy_cells
    from record_cases import record

    records = [record(f"{epochs}-{seed}-{layers}", test=score, seed=seed, config_id=f"{epochs}-{layers}",
                      model={"layers": layers}, train={"epochs": epochs})
               for epochs, score in ((150, 0.9), (3, 0.3)) for seed in (0, 1) for layers in (2, 4)]
    cells = accuracy_cells(records)
    assert {key[1] for key in cells} == {"gat (none) epochs=150", "gat (none) epochs=3"}
    assert all(cell.n == 2 and cell.std == 0 for cell in cells.values())


def test_accuracy_bands_stay_within_the_metric_range():
    import numpy as np

    from benchmark.plots import band

    low, high = band(np.array([0.05, 0.97]), np.array([0.2, 0.2]), "accuracy")
    assert low.tolist() == [0.0, pytest.approx(0.77)] and high.tolist() == [pytest.approx(0.25), 1.0]
    low, high = band(np.array([0.1]), np.array([0.5]), "mae")
    assert low.tolist() == [0.0] and high.tolist() == [pytest.approx(0.6)]


def test_equal_curves_do_not_hide_each_other():
    from benchmark.plots import Cell, accuracy_figure
    import matplotlib.pyplot as plt

    cells = {("csbm", method, depth): Cell(mean=0.25, std=0.0, n=2)
             for method in ("gat (none)", "gat (lipschitz)") for depth in (2, 8)}
    fig = accuracy_figure(cells, {"csbm": "accuracy"})
    lines = [line for line in fig.axes[0].lines if not line.get_label().startswith("_")]
    assert len(lines) == 2
    assert lines[0].get_xdata().tolist() != lines[1].get_xdata().tolist()   # shifted apart
    assert lines[0].get_marker() != lines[1].get_marker()
    plt.close(fig)


def test_gradient_legend_names_the_attention_parameters():
    import numpy as np
    import matplotlib.pyplot as plt

    from benchmark.plots import GradProfile, grad_norm_figure

    fig = grad_norm_figure({("csbm", "gat (none)", 2): GradProfile(np.ones(2), np.ones(2), 1)})
    labels = [text.get_text() for legend in fig.legends for text in legend.get_texts()]
    assert "attention parameters" in labels and "attention scores" not in labels
    plt.close(fig)


# ---- the per-model declaration of the keys it reads is honest ------------------------------------

OTHER_VALUES = {"layers": [3], "hidden": [6], "heads": [1], "dropout": [0.5], "input_dropout": [0.5],
                "attn_dropout": [0.5], "residual": [True], "readout": ["sum"], "pos_enc": [2], "kernel": ["diffusion"],
                "shared_qk": [True, False], "fake_edge_gamma": [0.5], "ebt": ["sink"], "use_bias": [True]}


@pytest.mark.parametrize("name", ["gat", "gcn", "unimp", "gt", "graphit", "graphit_sparse", "san", "san_sparse"])
def test_a_key_a_model_does_not_declare_changes_nothing_in_it(name):
    """Every ModelConfig field outside the model's ``config_keys`` leaves its parameters and its
    training-mode output (dropout included) unchanged: leaving it out of the run id is safe. And
    every declared field (but readout, which node tasks ignore) changes one of them."""
    import dataclasses

    import dgl
    import torch

    from dgl_ma.data.task import TaskInfo
    from dgl_ma.models import MODELS, ModelConfig, build_model

    task = TaskInfo("node", 1, 3, "cross_entropy", "accuracy", node_vocab=6, edge_vocab=4)  # per-node outputs
    gen = torch.Generator().manual_seed(0)
    graphs = []
    for n in (5, 7):
        g = dgl.to_bidirected(dgl.graph((torch.randint(0, n, (2 * n,), generator=gen),
                                         torch.randint(0, n, (2 * n,), generator=gen)), num_nodes=n))
        g.ndata["feat"] = torch.randint(0, 6, (n,), generator=gen)
        g.edata["feat"] = torch.randint(1, 4, (g.num_edges(),), generator=gen)
        graphs.append(g)

    def run(**change):
        torch.manual_seed(0)
        model = build_model(ModelConfig(**{"name": name, "hidden": 4, "heads": 2, "norm": "none", **change}), task)
        graph = model.prepare_graph(dgl.batch(graphs))
        torch.manual_seed(1)
        return model.state_dict(), model.train()(graph, graph.ndata["feat"])

    def differs(state, out):
        return (list(state) != list(base_state) or any(not torch.equal(state[k], base_state[k]) for k in state)
                or not torch.allclose(out, base_out))

    base_state, base_out = run()
    declared = MODELS.get(name).config_keys
    assert set(OTHER_VALUES) | {"name", "norm"} == {f.name for f in dataclasses.fields(ModelConfig)}
    for key in [k for k in OTHER_VALUES if k not in declared]:
        for value in OTHER_VALUES[key]:
            assert not differs(*run(**{key: value})), (key, value)
    for key in [k for k in OTHER_VALUES if k in declared and k != "readout"]:  # readout: ignored by node tasks
        assert any(differs(*run(**{key: value})) for value in OTHER_VALUES[key]), key


# ---- advice for damaged data: which copy is corrupt, and a mirror that does not exist ------------

def _sums(mirror, *rels):
    """Write ``<mirror>/SHA256SUMS`` for ``rels`` as they are now (``sha256sum`` format)."""
    import hashlib

    lines = [f"{hashlib.sha256((mirror / rel).read_bytes()).hexdigest()}  {rel}" for rel in rels]
    (mirror / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture
def mini_tox21(tmp_path, monkeypatch):
    """A miniature TOX21 mirror (MoleculeNet layout) whose SHA256SUMS lists its files."""
    from test_graph_datasets import write_mini_tox21

    monkeypatch.delenv("DGL_MA_MIRROR", raising=False)
    mirror = tmp_path / "mirror"
    write_mini_tox21(mirror)
    _sums(mirror, "tox21/tox21.csv", *[f"tox21/split/scaffold/{s}.csv.gz" for s in ("train", "valid", "test")])
    return mirror


def _load_tox21(mirror, root):
    from dgl_ma.data import DataConfig, load_task

    return load_task(DataConfig(name="tox21", root=str(root), mirror=str(mirror), download=False), 0)


def test_a_corrupt_mirror_file_is_blamed_on_the_mirror_by_its_sha256sums(mini_tox21, tmp_path):
    from dgl_ma.errors import DataError

    _truncate(mini_tox21 / "tox21" / "tox21.csv")
    root = tmp_path / "root"
    with pytest.raises(DataError, match="the mirror file .*tox21.csv is corrupt: its SHA-256 differs") as info:
        _load_tox21(mini_tox21, root)
    assert "delete the cache" not in str(info.value).lower() and not (root / "tox21" / "tox21.csv").exists()


def test_a_truncated_tox21_csv_is_reported_as_truncated_not_as_a_bad_split_file(mini_tox21, tmp_path):
    from dgl_ma.errors import DataError

    root = tmp_path / "root"
    _load_tox21(mini_tox21, root)                                       # an intact copy in the cache
    lines = (root / "tox21" / "tox21.csv").read_text().splitlines()
    (root / "tox21" / "tox21.csv").write_text("\n".join(lines[:6]) + "\n")   # then cut short
    with pytest.raises(DataError) as info:
        _load_tox21(mini_tox21, root)
    message = str(info.value)
    assert "the CSV is truncated" in message and "split file" not in message
    assert f"matches {mini_tox21 / 'SHA256SUMS'}" in message and f"delete {root / 'tox21' / 'tox21.csv'}" in message


def test_an_unreadable_dgl_folder_says_whether_the_cache_or_the_mirror_is_damaged(tmp_path):
    import pickle

    from dgl_ma.data.store import load_dgl_dataset
    from dgl_ma.errors import DataError

    mirror, root = tmp_path / "mirror", tmp_path / "root"
    (mirror / "dgl" / "toy_1234").mkdir(parents=True)
    (mirror / "dgl" / "toy_1234" / "toy.pkl").write_bytes(pickle.dumps(list(range(1000))))
    _sums(mirror, "dgl/toy_1234/toy.pkl")

    def load():
        return load_dgl_dataset("toy", lambda raw: pickle.loads((raw / "toy_1234" / "toy.pkl").read_bytes()),
                                "toy_1234", ["toy.pkl"], root, mirror, download=False)

    assert load() == list(range(1000))
    _truncate(root / "dgl" / "toy_1234" / "toy.pkl")                   # the cache copy is damaged
    with pytest.raises(DataError, match=r"matches .*SHA256SUMS and differs from it: delete .*toy_1234"):
        load()
    shutil.rmtree(root)
    _truncate(mirror / "dgl" / "toy_1234" / "toy.pkl")                 # now the mirror is
    with pytest.raises(DataError, match=r"mirror file .*toy.pkl is corrupt") as info:
        load()
    assert "Delete that folder" not in str(info.value) and not (root / "dgl" / "toy_1234").exists()


def test_a_mirror_that_does_not_exist_is_named(tmp_path, monkeypatch):
    from dgl_ma.errors import DataError

    monkeypatch.delenv("DGL_MA_MIRROR", raising=False)
    with pytest.raises(DataError, match=r"the mirror .*nowhere, which does not exist \(check data.mirror"):
        _load_tox21(tmp_path / "nowhere", tmp_path / "root")


@pytest.mark.parametrize("arg", ["analysis.cap_edges=0", "analysis.rel_threshold=0.5", "analysis.sigmas=[-0.1]",
                                 "train.max_seconds=-1", "train.batch_size=0", "train.patience=-3",
                                 "train.checkpoint_every=-1", "train.fanouts=[0]"])
def test_range_errors_name_the_key_and_its_value(capsys, arg):
    key, value = arg.split("=")
    user_error(capsys, "show", "suite=quickstart", arg, message=f"{key}={value} is out of range")
