"""Capture each attention layer's ``S`` on an evaluation split and summarise massive activations.

:func:`collect` runs the model in eval mode over batches with the probes of
:mod:`dgl_ma.probes` open and keeps, per layer, the flattened ``S`` ``(E, F)`` of at most
``cap`` edges (the first edges of the split, whole batches at a time) with, per edge, its
graph index in the split, whether it is a real edge (full-graph models also attend over non-edges)
and its edge type (the first column of the integer edge feature: the bond type on molecules;
-1 when unknown).

:func:`save` / :func:`load` store that as one compressed ``.npz`` per model state, documented
keys ``<layer>/scores`` (float32, the dtype the model computed them in: lossless, so the
massive values themselves — float16 would turn any ``|S| ≥ 65 504`` into inf — survive),
``graph``, ``real`` and ``edge_type`` (int), and ``meta`` (JSON: format version, cap, layer
names), so the statistics can be recomputed without retraining. Files of format 1 (float16
scores) still load. :func:`report` compares a trained state with the base model (the run's own
initialisation).
"""
import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import dgl
import numpy as np
import torch
from torch import nn

from dgl_ma.analysis.massive import (REL_THRESHOLD, GammaFit, fit_gamma, ks_against, log_ratio_sample,
                                     massive_elements, ratios, summarize)
from dgl_ma.probes import capture

FORMAT_VERSION = 2   # 1: scores stored as float16 (lossy above 65 504)


def _edge_meta(graph: dgl.DGLGraph, offset: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Host-side (numpy) per-edge metadata of a batch that may live on the GPU."""
    graph_ids = torch.arange(graph.batch_size, device="cpu")
    graph_of_edge = torch.repeat_interleave(graph_ids, graph.batch_num_edges().cpu()) + offset
    real = (graph.edata["real"].cpu() if "real" in graph.edata
            else torch.ones(graph.num_edges(), dtype=torch.bool, device="cpu"))
    types = torch.full((graph.num_edges(),), -1, dtype=torch.long, device="cpu")
    if "feat" in graph.edata and not graph.edata["feat"].is_floating_point():
        feat = graph.edata["feat"].cpu()
        types = (feat[:, 0] if feat.dim() > 1 else feat).long()
    types = torch.where(real, types, torch.full_like(types, -1))
    return graph_of_edge.numpy(), real.numpy(), types.numpy()


@torch.no_grad()
def collect(model: nn.Module, batches: Iterable[Tuple[dgl.DGLGraph, Any]], cap: int = 50_000) -> Dict[str, np.ndarray]:
    """Per-layer ``S`` of the first ``cap`` edges of ``batches`` (prepared graphs), eval mode."""
    was_training = model.training
    model.eval()
    layers: Dict[str, List[np.ndarray]] = {}
    meta: List[Tuple[np.ndarray, ...]] = []
    kept, graphs_seen = 0, 0
    try:
        for graph, _ in batches:
            if kept >= cap:
                break
            take = min(graph.num_edges(), cap - kept)
            with capture(model, names=("scores",)) as probes:
                model(graph, graph.ndata["feat"])
            for (name, _), scores in probes.items():
                layers.setdefault(name, []).append(scores.reshape(scores.shape[0], -1)[:take].float().cpu().numpy())
            meta.append(tuple(m[:take] for m in _edge_meta(graph, graphs_seen)))
            graphs_seen += graph.batch_size
            kept += take
    finally:
        model.train(was_training)
    out = {f"{name}/scores": np.concatenate(parts) for name, parts in layers.items()}
    out["graph"], out["real"], out["edge_type"] = (np.concatenate([m[i] for m in meta]) for i in range(3))
    out["layers"] = np.array(list(layers))
    return out


def save(path: Path, acts: Dict[str, np.ndarray], cap: int) -> None:
    arrays = {k: (v.astype(np.float32, copy=False) if k.endswith("/scores") else v)
              for k, v in acts.items() if k != "layers"}
    meta = {"format": FORMAT_VERSION, "cap": cap, "layers": [str(x) for x in acts["layers"]]}
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)


def load(path: Path) -> Dict[str, np.ndarray]:
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        out = {k: data[k] for k in data.files if k != "meta"}
    out["layers"] = np.array(meta["layers"])
    return out


def _type_counts(edge_types: np.ndarray) -> Dict[int, int]:
    types, counts = np.unique(edge_types, return_counts=True)
    return {int(t): int(c) for t, c in zip(types, counts)}


def _layer_rows(acts: Dict[str, np.ndarray], rel_threshold: float, abs_threshold: Optional[float],
                gamma_elements: int = 0):
    """Per layer of one state: ``(row, ratios, -log10 r sample, gamma fit)``, each computed once."""
    graph_ids = torch.as_tensor(acts["graph"])
    out = {}
    for layer in acts["layers"]:
        scores = torch.as_tensor(acts[f"{layer}/scores"].astype(np.float32))
        r = ratios(scores)
        x = log_ratio_sample(r, elements=gamma_elements)
        fit = fit_gamma(x)
        stats = summarize(scores, rel_threshold, abs_threshold, graph_ids=graph_ids, r=r)
        massive = massive_elements(scores, r, rel_threshold, abs_threshold).any(dim=1).numpy()
        row = {"layer": str(layer), **stats.as_dict(), "gamma": fit.__dict__,
               "massive_by_edge_type": _type_counts(acts["edge_type"][massive]),
               "edges_by_edge_type": _type_counts(acts["edge_type"])}   # the base rate of each type
        out[str(layer)] = (row, r, x, fit)
    return out


def report_states(states: Dict[str, Dict[str, np.ndarray]], base: str = "base",
                  rel_threshold: float = REL_THRESHOLD, abs_threshold: Optional[float] = None,
                  gamma_elements: int = 0) -> Dict[str, List[Dict[str, Any]]]:
    """:func:`report` of several states of one model, each compared with ``states[base]`` when
    that exists (the base state itself without comparison); every state's ratios and gamma fits
    are computed once. The gamma fits use every finite ratio of the captured edges (at most the
    reference's 50 000), or a seeded subsample of ``gamma_elements`` (> 0)."""
    layers = {name: _layer_rows(acts, rel_threshold, abs_threshold, gamma_elements) for name, acts in states.items()}
    reference = layers.get(base, {})
    reports = {}
    for name, per_layer in layers.items():
        rows = []
        for layer, (row, r, x, fit) in per_layer.items():
            if name != base and layer in reference:
                _, base_r, _, base_fit = reference[layer]
                row.update(_compare(fit, x, base_r, base_fit))
            rows.append(row)
        reports[name] = rows
    return reports


def _compare(fit: GammaFit, x: np.ndarray, base_r: torch.Tensor, base_fit: GammaFit) -> Dict[str, float]:
    return {"base_max_ratio": float(base_r[torch.isfinite(base_r)].max()), "base_ks": base_fit.ks,
            "delta_ks": fit.ks - base_fit.ks, "ks_trained_vs_base_fit": ks_against(x, base_fit)}


def report(trained: Dict[str, np.ndarray], base: Optional[Dict[str, np.ndarray]] = None,
           rel_threshold: float = REL_THRESHOLD, abs_threshold: Optional[float] = None) -> List[Dict[str, Any]]:
    """One dict per layer: counts (:func:`~dgl_ma.analysis.massive.summarize`), the gamma fit of
    ``-log10 r`` with its KS, and with ``base`` the base model's KS and ``delta_ks`` =
    KS(trained vs its fit) − KS(base vs its fit); massive counts per edge type (same thresholds
    as the counts)."""
    states = {"trained": trained, **({"base": base} if base is not None else {})}
    return report_states(states, "base", rel_threshold, abs_threshold)["trained"]
