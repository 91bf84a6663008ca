"""Massive-activation statistics (Bini et al. 2024, after Sun et al. 2024).

For a layer's inspected tensor ``S`` flattened to ``(E, F)`` (edges × features, ``F = H·d``):

* ratio per element ``r[e, k] = |S[e, k]| / median_k' |S[e, k']|`` (median over the features of
  the same edge), or with ``median="graph"`` over the whole tensor of the edge's graph;
* an element is massive when ``r > rel_threshold`` (1000) and, optionally, ``|S| > abs_threshold``;
* zero medians give ``inf`` (or ``nan`` for 0/0): they are counted, never silently dropped;
* ``x = -log10(r + eps)`` is fitted with a gamma law by maximum likelihood
  (``scipy.stats.gamma.fit``); the one-sample KS statistic against the fit measures how far a
  layer departs from it. Massive activations are ``x < -3``.
"""
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np
import torch
from scipy import stats

from dgl_ma.analysis.config import REL_THRESHOLD

EPS = 1e-12


def ratios(scores: torch.Tensor, graph_ids: Optional[torch.Tensor] = None, median: str = "edge") -> torch.Tensor:
    """``|S| / median |S|`` per element. ``scores`` ``(E, ...)`` is flattened to ``(E, F)``;
    ``median="graph"`` needs ``graph_ids`` ``(E,)`` (the graph of each edge in a batch).

    Shapes: ``(E, F)`` → ``(E, F)`` (inf/nan where the median is zero).
    """
    mag = scores.detach().reshape(scores.shape[0], -1).abs().double()
    if median == "edge":
        med = mag.median(dim=1, keepdim=True).values                              # (E, 1)
    elif median == "graph":
        if graph_ids is None:
            raise ValueError("median='graph' needs graph_ids")
        med = torch.empty_like(mag[:, :1])
        for g in torch.unique(graph_ids):
            rows = graph_ids == g
            med[rows] = mag[rows].median()
    else:
        raise ValueError(f"median must be 'edge' or 'graph', got {median!r}")
    return mag / med  # torch gives inf for x/0 and nan for 0/0, without warnings


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
              r: Optional[torch.Tensor] = None) -> LayerStats:
    """Count massive elements of one layer's ``S``; ``graphs_above`` when ``graph_ids`` is given
    (graphs whose largest ratio exceeds ``rel_threshold``). ``r``: the ratios, when the caller
    has them already (``ratios(scores, graph_ids, median)``)."""
    if r is None:
        r = ratios(scores, graph_ids, median)
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


def log_ratio_sample(r: torch.Tensor, cap: int = 50_000, seed: int = 0) -> np.ndarray:
    """``x = -log10(r + eps)`` of the finite ratios, at most ``cap`` of them (seeded subsample)."""
    values = r[torch.isfinite(r)].reshape(-1).numpy()
    if values.size > cap:
        values = np.random.default_rng(seed).choice(values, cap, replace=False)
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
