"""Suite figures: aggregation against hand-computed numbers and valid PNG output."""
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from benchmark.plots import accuracy_cells, grad_norm_histories, init_grad_profiles, method_of, plot_suite, setting_of

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def record(method=("gat", "none"), layers=2, seed=0, test=0.8, dataset="csbm", missing=None,
           status="ok", diagnostics=True, attention=True, epochs=(0, 1)):
    name, norm = method
    data = {"name": dataset, "root": None}
    if missing is not None:
        data["missing_rate"] = missing
    rec = {
        "run_id": f"{name}-{norm}-{layers}-{dataset}-{missing}-{seed}", "seed": seed, "status": status,
        "config": {"model": {"name": name, "norm": norm, "layers": layers}, "data": data},
        "metric": {"name": "accuracy", "higher_is_better": True},
        "test": {"accuracy": test if status == "ok" else float("nan"), "loss": 1.0},
    }
    if diagnostics:
        scale = 1.0 if norm == "none" else 0.1
        rec["diagnostics"] = [
            {"epoch": epoch, "layers": [
                {"weight_grad": scale * (seed + 1) * 2.0 ** (layers - i),
                 "attention_grad": scale * 0.5 * 2.0 ** (layers - i) if attention else None,
                 "max_score": 1.0}
                for i in range(1, layers + 1)]}
            for epoch in epochs]
    return rec


def suite_records(diagnostics=True):
    """2 methods x depths [2, 4, 8] x 3 seeds x 2 dataset settings; one diverged seed."""
    records = []
    for method in [("gat", "none"), ("gat", "lipschitz")]:
        for missing in (None, 20.0):
            for layers in (2, 4, 8):
                for seed in range(3):
                    diverged = method == ("gat", "none") and layers == 8 and seed == 2
                    acc = 0.9 - 0.02 * layers * (method[1] == "none") + 0.01 * seed
                    records.append(record(method, layers, seed, acc, missing=missing,
                                          status="diverged" if diverged else "ok", diagnostics=diagnostics))
    return records


def test_setting_and_method_labels():
    assert setting_of(record()) == "csbm"                      # missing_rate absent → 0
    assert setting_of(record(missing=0.0)) == "csbm"
    assert setting_of(record(missing=20.0)) == "csbm m=20%"
    assert setting_of(record(missing=12.5)) == "csbm m=12.5%"
    assert method_of(record(("gcn", "lipschitz+layernorm"))) == "gcn (lipschitz+layernorm)"


def test_accuracy_cells_by_hand_and_diverged_excluded():
    records = [record(seed=0, test=0.70), record(seed=1, test=0.80), record(seed=2, test=0.90),
               record(layers=4, seed=0, test=0.60), record(layers=4, seed=1, test=0.64),
               record(layers=4, seed=2, status="diverged"), record(layers=4, seed=3, status="failed"),
               record(("gat", "pairnorm"), layers=4, test=0.5)]
    cells = accuracy_cells(records)
    a = cells[("csbm", "gat (none)", 2)]
    assert a.n == 3 and a.mean == pytest.approx(0.8) and a.std == pytest.approx(0.1)
    assert a.diverged == 0 and a.failed == 0
    b = cells[("csbm", "gat (none)", 4)]
    assert b.n == 2 and b.mean == pytest.approx(0.62)          # the NaN of the diverged run is not in
    assert b.std == pytest.approx(math.sqrt(2 * 0.02 ** 2))          # ddof=1
    assert b.diverged == 1 and b.failed == 1
    single = cells[("csbm", "gat (pairnorm)", 4)]
    assert single.n == 1 and math.isnan(single.std)


def test_init_grad_profiles_geometric_mean_over_seeds():
    records = [record(layers=2, seed=s) for s in range(3)]
    records.append(record(layers=2, seed=5, diagnostics=False))          # skipped
    profile = init_grad_profiles(records)[("csbm", "gat (none)", 2)]
    assert profile.n == 3
    # layer 1: 2^1 * (1, 2, 3) → geometric mean 2 * 6^(1/3); layer 2: 6^(1/3)
    np.testing.assert_allclose(profile.weight, [2 * 6 ** (1 / 3), 6 ** (1 / 3)])
    np.testing.assert_allclose(profile.attention, [1.0, 0.5])
    no_attention = init_grad_profiles([record(attention=False)])[("csbm", "gat (none)", 2)]
    assert no_attention.attention is None


def test_init_grad_profiles_ignore_non_positive_and_missing_values():
    recs = [record(seed=0), record(seed=1)]
    recs[0]["diagnostics"][0]["layers"][0]["weight_grad"] = 0.0
    recs[1]["diagnostics"][0]["layers"][0]["weight_grad"] = float("nan")
    profile = init_grad_profiles(recs)[("csbm", "gat (none)", 2)]
    assert math.isnan(profile.weight[0]) and profile.weight[1] == pytest.approx(math.sqrt(2))


def test_grad_norm_histories_largest_layer_per_epoch_geometric_mean_over_seeds():
    records = [record(layers=3, seed=s, epochs=(0, 5, 10)) for s in range(2)]
    records[1]["diagnostics"].pop()                                        # seed 1 was not diagnosed at 10
    records.append(record(layers=3, seed=7, epochs=(0,)))                  # no history: left out
    epochs, grads = grad_norm_histories(records)[("csbm", "gat (none)", 3)]
    # largest layer: the first, (seed + 1) * 2^2 -> geometric mean of 4 and 8 where both seeds have it
    np.testing.assert_array_equal(epochs, [0, 5, 10])
    np.testing.assert_allclose(grads, [math.sqrt(32), math.sqrt(32), 4.0])
    assert grad_norm_histories([record(layers=3, epochs=(0,))]) == {}


def _is_png(path, min_bytes=10_000):
    data = path.read_bytes()
    return data[:8] == PNG_MAGIC and len(data) > min_bytes


def test_plot_suite_writes_both_figures_and_closes_them(tmp_path):
    out = tmp_path / "figures" / "nested"
    open_before = len(plt.get_fignums())
    paths = plot_suite(suite_records(), out)
    assert [p.name for p in paths] == ["accuracy_vs_depth.png", "grad_norm_vs_layer.png", "grad_norm_vs_epoch.png"]
    assert all(p.parent == out and _is_png(p) for p in paths)
    assert len(plt.get_fignums()) == open_before


def test_plot_suite_without_diagnostics_only_accuracy(tmp_path):
    paths = plot_suite(suite_records(diagnostics=False), tmp_path)
    assert [p.name for p in paths] == ["accuracy_vs_depth.png"] and _is_png(paths[0])
    assert not (tmp_path / "grad_norm_vs_layer.png").exists()


def test_plot_suite_skips_accuracy_vs_depth_for_a_single_depth(tmp_path):
    one_depth = [r for r in suite_records(diagnostics=False) if r["config"]["model"]["layers"] == 4]
    assert one_depth and plot_suite(one_depth, tmp_path) == []
    assert not (tmp_path / "accuracy_vs_depth.png").exists()


def test_plot_suite_empty_or_unusable(tmp_path):
    assert plot_suite([], tmp_path / "a") == []
    assert not (tmp_path / "a").exists()
    assert plot_suite([record(status="failed", diagnostics=False)], tmp_path / "b") == []


def test_plot_suite_single_seed(tmp_path):
    paths = plot_suite([record(layers=3, diagnostics=False), record(layers=5, diagnostics=False)], tmp_path)
    assert len(paths) == 1 and _is_png(paths[0], min_bytes=1_000)


def test_no_layout_warning_when_only_some_methods_diverge(tmp_path):
    """Regression: an empty divergence-marker line once made tight_layout give up (a UserWarning)."""
    records = [record(method, layers, 0, 0.8, missing=missing, diagnostics=False,
                      status="diverged" if layers == 4 and method[1] == "none" else "ok")
               for missing in (None, 20.0) for method in [("gat", "none"), ("gat", "pairnorm")] for layers in (1, 4)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(plot_suite(records, tmp_path)) == 1


def test_keys_set_per_depth_do_not_split_a_method():
    """The reference suites set the epochs per depth (a linked grid axis): one line per method,
    not one per epoch budget; a key that differs at the same depth (two learning rates) still
    splits it, so only seeds are pooled."""
    def run(layers, seed, lr=0.005):
        rec = record(layers=layers, seed=seed)
        rec["config"]["train"] = {"epochs": 1000 if layers <= 4 else 2500, "lr": lr}
        return rec

    linked = [run(layers, seed) for layers in (2, 8, 16) for seed in range(2)]
    assert {method for _, method, _ in accuracy_cells(linked)} == {"gat (none)"}
    two_lrs = linked + [run(layers, 0, lr=0.01) for layers in (2, 8, 16)]
    assert {method for _, method, _ in accuracy_cells(two_lrs)} == {"gat (none) lr=0.005", "gat (none) lr=0.01"}
