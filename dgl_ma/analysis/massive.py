"""Massive-activation statistics (Bini et al. 2024, after Sun et al. 2024), with the definitions
of the authors' code (msorbi/gnn-ma ``plot/utils.py``, ``ks_ll_plot``).

For a layer's inspected tensor ``S`` flattened to ``(E, F)`` (edges × features, ``F = H·d``):

* ratio per element ``r[e, k] = |S[e, k]| / median_k' |S[e, k']|`` (median over the features of
  the same edge), or with ``median="graph"`` over the whole tensor of the edge's graph. The
  median is numpy's (``np.median``: the mean of the two middle values of an even count, as in
  ``ks_ll_plot``); ``median_style="lower"`` gives torch's lower middle value instead, which the
  reference's per-graph ratio curves (``plot2``/``plot2a``) use;
* an element is massive when ``r > rel_threshold`` (1000) and, optionally, ``|S| > abs_threshold``;
* zero medians give ``inf`` (or ``nan`` for 0/0): they are counted, never silently dropped;
* ``x = -log10(r + eps)`` with numpy's float64 machine epsilon (``np.finfo(np.float64).eps``),
  over every finite element of the first 50 000 edges (as the reference), is fitted with a gamma
  law by maximum likelihood (``scipy.stats.gamma.fit``); the one-sample KS statistic against
  the fit measures how far a layer departs from it. Massive activations are ``x < -3``. The
  fit costs 1.5–2.3 s per 100 000 elements on one CPU thread (measured: 50 000 elements 1.0 s,
  3.2 M = 50 000 edges × 64 features 73 s); ``elements=N`` fits a seeded random subsample of
  ``N`` instead (the analysis option ``analysis.gamma_elements``).
"""
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np
import torch
from scipy import stats

from dgl_ma.analysis.config import REL_THRESHOLD

EPS = float(np.finfo(np.float64).eps)      # the reference's EPS in -log10(r + EPS)
MAX_EDGES = 50_000                         # the reference's gamma sample: the first 50 000 edges
MEDIAN_STYLES = ("numpy", "lower")


def median(mag: torch.Tensor, dim: Optional[int] = None, style: str = "numpy") -> torch.Tensor:
    """Median of ``mag`` over ``dim`` (kept) or over all elements. ``"numpy"``: the mean of the
    two middle values of an even count (``np.median``); ``"lower"``: the lower one (``torch.median``)."""
    if style not in MEDIAN_STYLES:
        raise ValueError(f"median_style must be one of {MEDIAN_STYLES}, got {style!r}")
    flat = mag.reshape(-1) if dim is None else mag
    axis = 0 if dim is None else dim
    ordered = flat.sort(dim=axis).values
    n = ordered.shape[axis]
    lower = ordered.narrow(axis, (n - 1) // 2, 1)
    if style == "lower" or n % 2:
        out = lower
    else:
        out = (lower + ordered.narrow(axis, n // 2, 1)) / 2
    return out.reshape(()) if dim is None else out


def ratios(scores: torch.Tensor, graph_ids: Optional[torch.Tensor] = None, median: str = "edge",
           median_style: str = "numpy") -> torch.Tensor:
    """``|S| / median |S|`` per element, in float64. ``scores`` ``(E, ...)`` is flattened to
    ``(E, F)``; ``median="graph"`` needs ``graph_ids`` ``(E,)`` (the graph of each edge in a batch).

    Shapes: ``(E, F)`` → ``(E, F)`` (inf/nan where the median is zero).
    """
    mag = scores.detach().reshape(scores.shape[0], -1).abs().double()
    if median == "edge":
        med = _median(mag, dim=1, style=median_style)                              # (E, 1)
    elif median == "graph":
        if graph_ids is None:
            raise ValueError("median='graph' needs graph_ids")
        med = torch.empty_like(mag[:, :1])
        for g in torch.unique(graph_ids):
            rows = graph_ids == g
            med[rows] = _median(mag[rows], style=median_style)
    else:
        raise ValueError(f"median must be 'edge' or 'graph', got {median!r}")
    return mag / med  # torch gives inf for x/0 and nan for 0/0, without warnings


_median = median


@dataclass
class LayerStats:
    """Summary of one layer (one state of one model)."""

    elements: int
    massive: int                 # elements above the thresholds
    massive_fraction: float
    max_ratio: float             # over finite ratios
    edges_with_massive: int
    nonfinite: int               # inf or nan ratios (zero medians), counted separately
    graphs_above: Optional[int] = None

    def as_dict(self) -> Dict[str, float]:
        return dict(self.__dict__)


def massive_elements(scores: torch.Tensor, r: torch.Tensor, rel_threshold: float = REL_THRESHOLD,
                     abs_threshold: Optional[float] = None) -> torch.Tensor:
    """Boolean ``(E, F)`` mask of the massive elements: finite ``r > rel_threshold`` and, with
    ``abs_threshold``, ``|S| > abs_threshold``. ``r`` are the ratios of ``scores``."""
    massive = torch.isfinite(r) & (r > rel_threshold)
    if abs_threshold is not None:
        massive &= scores.detach().reshape(r.shape).abs() > abs_threshold
    return massive


def summarize(scores: torch.Tensor, rel_threshold: float = REL_THRESHOLD, abs_threshold: Optional[float] = None,
              graph_ids: Optional[torch.Tensor] = None, median: str = "edge",
              r: Optional[torch.Tensor] = None, median_style: str = "numpy") -> LayerStats:
    """Count massive elements of one layer's ``S``; ``graphs_above`` when ``graph_ids`` is given
    (graphs whose largest ratio exceeds ``rel_threshold``). ``r``: the ratios, when the caller
    has them already (``ratios(scores, graph_ids, median, median_style)``)."""
    if r is None:
        r = ratios(scores, graph_ids, median, median_style)
    finite = torch.isfinite(r)
    massive = massive_elements(scores, r, rel_threshold, abs_threshold)
    graphs_above = None
    if graph_ids is not None:
        hit = massive.any(dim=1)
        graphs_above = int(torch.unique(graph_ids[hit]).numel())
    return LayerStats(
        elements=r.numel(), massive=int(massive.sum()), massive_fraction=float(massive.double().mean()),
        max_ratio=float(r[finite].max()) if finite.any() else float("nan"),
        edges_with_massive=int(massive.any(dim=1).sum()), nonfinite=int((~finite).sum()), graphs_above=graphs_above,
    )


@dataclass
class GammaFit:
    shape: float
    loc: float
    scale: float
    mean_loglik: float
    ks: float                    # one-sample Kolmogorov–Smirnov statistic against the fit
    n: int


def log_ratio_sample(r: torch.Tensor, max_edges: int = MAX_EDGES, elements: int = 0, seed: int = 0) -> np.ndarray:
    """``x = -log10(r + eps)`` of every finite ratio of the first ``max_edges`` edges (rows of
    ``r``), as the reference fits; with ``elements > 0``, a seeded random subsample of at most
    that many of them (the faster option)."""
    values = r[:max_edges]
    values = values[torch.isfinite(values)].reshape(-1).numpy()
    if elements and values.size > elements:
        values = np.random.default_rng(seed).choice(values, elements, replace=False)
    return -np.log10(values + EPS)


def fit_gamma(x: np.ndarray) -> GammaFit:
    """Maximum-likelihood gamma fit of ``x`` (``scipy.stats.gamma.fit``), its mean
    log-likelihood and the KS statistic of ``x`` against the fitted law."""
    shape, loc, scale = stats.gamma.fit(x)
    loglik = float(np.mean(stats.gamma.logpdf(x, shape, loc=loc, scale=scale)))
    ks = float(stats.kstest(x, "gamma", args=(shape, loc, scale)).statistic)
    return GammaFit(float(shape), float(loc), float(scale), loglik, ks, int(x.size))


def ks_against(x: np.ndarray, fit: GammaFit) -> float:
    """KS statistic of a sample against an existing fit (e.g. a trained layer against the base
    model's fit)."""
    return float(stats.kstest(x, "gamma", args=(fit.shape, fit.loc, fit.scale)).statistic)
