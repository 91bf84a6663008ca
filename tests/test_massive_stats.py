"""Massive-activation statistics: a planted activation is found where it was planted; zero
medians are counted; the gamma fit recovers known parameters; KS separates own-fit from shifted."""
import numpy as np
import pytest
import torch

from dgl_ma.analysis.massive import fit_gamma, ks_against, log_ratio_sample, ratios, summarize


def layer_tensors(seed=0, edges=60, heads=4, dim=8):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(edges, heads, dim, generator=gen) for _ in range(3)]


def test_planted_activation_found_with_ratio_layer_and_edge():
    layers = layer_tensors()
    edge, head, channel = 17, 2, 5
    median = layers[1][edge].abs().median()
    layers[1][edge, head, channel] = 5000 * median
    stats = [summarize(s) for s in layers]
    assert [st.massive for st in stats] == [0, 1, 0]
    assert stats[1].edges_with_massive == 1 and stats[1].massive_fraction == pytest.approx(1 / (60 * 32))
    r = ratios(layers[1])
    e, f = divmod(int(r.argmax()), r.shape[1])
    assert (e, f) == (edge, head * 8 + channel)
    # the planted value moves the row median a little, so the ratio is close to, not exactly, 5000
    assert 4000 < stats[1].max_ratio < 6000 and stats[1].max_ratio == pytest.approx(float(r.max()))


def test_zero_medians_are_counted_not_dropped():
    s = torch.randn(5, 6)
    s[1] = 0.0                       # 0/0 -> nan for the whole row
    s[2] = torch.tensor([0, 0, 0, 0, 3.0, 0])   # median 0, one value -> inf
    st = summarize(s)
    assert st.nonfinite == 6 + 6 and st.elements == 30
    assert torch.isinf(ratios(s)[2, 4]) and torch.isnan(ratios(s)[1, 0])


def test_absolute_threshold_and_graph_median():
    s = torch.ones(4, 10)
    s[0, 0] = 2000.0
    s[3, 1] = 0.002                  # tiny row elsewhere does not matter
    assert summarize(s).massive == 1
    assert summarize(s, abs_threshold=5000.0).massive == 0
    graph_ids = torch.tensor([0, 0, 1, 1])
    st = summarize(s, graph_ids=graph_ids, median="graph")
    assert st.massive == 1 and st.graphs_above == 1
    with pytest.raises(ValueError):
        ratios(s, median="graph")


def test_gamma_fit_recovers_known_parameters():
    x = np.random.default_rng(0).gamma(2.5, 0.4, size=40_000) + 0.3
    fit = fit_gamma(x)
    assert fit.shape == pytest.approx(2.5, abs=0.25)
    assert fit.loc == pytest.approx(0.3, abs=0.05) and fit.scale == pytest.approx(0.4, abs=0.05)
    assert fit.n == 40_000 and np.isfinite(fit.mean_loglik)


def test_ks_small_against_own_fit_large_against_shifted_sample():
    x = np.random.default_rng(1).gamma(2.0, 0.5, size=20_000)
    fit = fit_gamma(x)
    assert fit.ks < 0.02
    assert ks_against(x + 0.5, fit) > 0.3


def test_log_ratio_sample_caps_and_skips_nonfinite():
    s = torch.randn(1000, 16)
    s[0] = 0.0
    x = log_ratio_sample(ratios(s), elements=500, seed=0)
    assert x.shape == (500,) and np.isfinite(x).all()
    assert np.array_equal(x, log_ratio_sample(ratios(s), elements=500, seed=0))
    assert log_ratio_sample(ratios(s), max_edges=10).size == 9 * 16


# ------------------------------------------------ the reference's definitions (gnn-ma plot/utils.py ks_ll_plot)
def reference_log_ratios(scores: np.ndarray, max_edges: int = 50_000) -> np.ndarray:
    """gnn-ma's ``ks_ll_plot``: ``|S| / np.median(|S|, axis=1)`` over the first 50 000 edges,
    every element, ``-log10(r + np.finfo(np.float64).eps)``."""
    data = np.abs(scores[:max_edges]).astype(np.float64)
    r = (data / np.median(data, axis=1).reshape(-1, 1)).reshape(-1)
    return -np.log10(r + np.finfo(np.float64).eps)


def test_ratio_median_is_numpys_mean_of_the_two_middle_values():
    # 8 features: the middle |S| are 1.0 and 1.2, numpy's median 1.1 -> r = 954.5, not massive;
    # torch's lower median (1.0) gave r = 1050 and counted it
    row = torch.tensor([[0.1, 0.2, 0.5, 1.0, 1.2, 1.5, 2.0, 1050.0]])
    r = ratios(row)
    assert float(r[0, -1]) == pytest.approx(1050.0 / 1.1)
    assert summarize(row).massive == 0
    assert summarize(row, median_style="lower").massive == 1       # the old definition, still available
    s = torch.randn(300, 4, 16, generator=torch.Generator().manual_seed(0))
    mag = s.reshape(300, -1).abs().double().numpy()
    np.testing.assert_array_equal(ratios(s).numpy(), mag / np.median(mag, axis=1, keepdims=True))
    graph_ids = torch.repeat_interleave(torch.arange(3), 100)
    by_graph = np.concatenate([m / np.median(m) for m in np.split(mag, 3)])
    np.testing.assert_array_equal(ratios(s, graph_ids, median="graph").numpy(), by_graph)


def test_gamma_sample_is_every_element_of_the_first_50000_edges_with_float64_eps():
    s = np.random.default_rng(2).normal(size=(50_100, 4)).astype(np.float32)
    s[3] = 0.0                             # 0/0: nan, left out (the reference would fail its fit)
    x = log_ratio_sample(ratios(torch.as_tensor(s)))
    ref = reference_log_ratios(s)
    np.testing.assert_array_equal(x, ref[np.isfinite(ref)])
    assert x.size == 4 * 50_000 - 4
    sub = log_ratio_sample(ratios(torch.as_tensor(s)), elements=1000, seed=0)   # the faster option
    assert sub.size == 1000 and np.isin(sub, x).all()
