"""Massive-activation figures of an MA suite (matplotlib, Agg backend, dpi 120), written by ``plot_massive``.

* ``ma_ratio_curves.png``: per model × variant, the per-graph view of the spec: for each test
  graph the max over its edges of top-1 |S| / median |S| (the edge's largest ratio), per layer,
  log scale; the base model's min–max band over graphs (shaded), the trained model's median (line)
  and max (thin line) over graphs, and the r = 1000 threshold. Seeds are pooled by graphs.
* ``ma_gamma_fits.png``: per model (trained "final" state of its plain variant, first seed) and
  its first, middle and last layer, the density histogram of ``x = -log10(r + eps)`` with the
  stored gamma fits of the trained and the base state, and the threshold ``x = -3``.
* ``ma_bond_heatmap.png``: edges with a massive element per edge type (bond type; -1 = non-edge
  or unknown), summed over layers and seeds of the "final" state, one row per model × variant;
  colours are shares of the row, annotations raw counts.

A variant is ``model.name`` plus `` +bias`` (``model.use_bias``) and `` EBT <form>`` (``model.ebt``).
Activation files (``record["massive_files"]``) are read from ``folder``; a missing file drops that
record from the two figures that need activations. Records are expected to come from one
dataset (one MA suite): variants are not split by dataset.
"""
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from scipy import stats  # noqa: E402

from benchmark.plots import _grid, _save, config_suffix, distinguishing_keys  # noqa: E402
from dgl_ma.analysis.capture import load  # noqa: E402
from dgl_ma.analysis.massive import REL_THRESHOLD, fit_gamma, log_ratio_sample, ratios  # noqa: E402

BOND_NAMES = {1: "single", 2: "double", 3: "triple"}
_EBT_ORDER = {"none": 0, "gnn_ma": 1, "sink": 2}


def variant_of(record: Dict[str, Any]) -> str:
    """``"gt"``, ``"gt +bias"``, ``"gt EBT sink"``: model name, bias switch and EBT form."""
    model = record["config"]["model"]
    ebt = model.get("ebt") or "none"
    return model["name"] + (" +bias" if model.get("use_bias") else "") + ("" if ebt == "none" else f" EBT {ebt}")


def _variant_key(record: Dict[str, Any]) -> Tuple[str, int, int, str, int]:
    """Sort key: model name, then plain, +bias, EBT gnn_ma, EBT sink, then depth."""
    model = record["config"]["model"]
    ebt = model.get("ebt") or "none"
    depth = int(model.get("layers") or 0)
    return model["name"], _EBT_ORDER.get(ebt, 3), int(bool(model.get("use_bias"))), ebt, depth


def _groups(records: List[Dict[str, Any]]) -> Dict[str, List[Dict[str, Any]]]:
    """Records with massive data grouped by variant (`` L=<depth>`` added when a variant comes
    with several depths, ``key=value`` for any other config key that differs between the
    records, so that only seeds are pooled), in display order."""
    usable = sorted((r for r in records if r.get("massive")), key=_variant_key)
    extra = distinguishing_keys(usable, ("model.name", "model.use_bias", "model.ebt", "model.layers"))
    depths: Dict[str, set] = {}
    for record in usable:
        depths.setdefault(variant_of(record), set()).add(record["config"]["model"].get("layers"))
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for record in usable:
        label = variant_of(record)
        label += f" L={record['config']['model'].get('layers')}" if len(depths[label]) > 1 else ""
        label += config_suffix(record, extra)
        groups.setdefault(label, []).append(record)
    return groups


def graph_max_ratios(acts: Dict[str, np.ndarray], layer: str) -> Tuple[np.ndarray, np.ndarray]:
    """Graph ids (sorted) and, per graph, the max over its edges of top-1 |S| / median |S|.

    Non-finite ratios (zero medians, counted in the report) are left out; a graph with no finite
    ratio gets nan.
    """
    r = ratios(torch.as_tensor(acts[f"{layer}/scores"].astype(np.float32))).numpy()
    r[~np.isfinite(r)] = np.nan
    per_edge = np.fmax.reduce(r, axis=1)                    # fmax skips nan; all-nan rows stay nan
    graphs, inverse = np.unique(acts["graph"], return_inverse=True)
    out = np.full(graphs.size, np.nan)
    np.fmax.at(out, inverse, per_edge)
    return graphs, out


def pooled_profile(acts_list: List[Dict[str, np.ndarray]]) -> List[np.ndarray]:
    """Per layer (by position), the per-graph max ratios of all given states pooled (seeds)."""
    pooled: List[List[np.ndarray]] = []
    for acts in acts_list:
        for i, layer in enumerate(acts["layers"]):
            if i == len(pooled):
                pooled.append([])
            pooled[i].append(graph_max_ratios(acts, str(layer))[1])
    return [np.concatenate(parts) for parts in pooled]


def bond_counts(records: List[Dict[str, Any]], state: str = "final") -> Tuple[List[str], List[int], np.ndarray]:
    """Rows (variants), columns (edge types, sorted) and the count matrix of massive edges,
    summed over layers and seeds of ``state``. JSON string keys are read as integers."""
    totals: Dict[str, Dict[int, int]] = {}
    for variant, group in _groups(records).items():
        row = totals.setdefault(variant, {})
        for record in group:
            for layer in record["massive"].get(state) or []:
                for bond, count in (layer.get("massive_by_edge_type") or {}).items():
                    row[int(bond)] = row.get(int(bond), 0) + int(count)
    types = sorted({t for row in totals.values() for t in row})
    matrix = np.array([[row.get(t, 0) for t in types] for row in totals.values()], dtype=int)
    return list(totals), types, matrix.reshape(len(totals), len(types))


class _Loader:
    """Activation files of records, loaded once per ``plot_massive`` call."""

    def __init__(self, folder: Path):
        self.folder, self.cache = Path(folder), {}

    def __call__(self, record: Dict[str, Any], state: str) -> Optional[Dict[str, np.ndarray]]:
        name = (record.get("massive_files") or {}).get(state)
        path = self.folder / name if name else None
        if path is None or not path.is_file():
            return None
        if path not in self.cache:
            self.cache[path] = load(path)
        return self.cache[path]


def plot_ratio_curves(groups: Dict[str, List[Dict[str, Any]]], loader: _Loader, path: Path) -> Optional[Path]:
    """Per variant: base min–max band, trained median and max over graphs per layer (log y)."""
    profiles = {}
    for variant, group in groups.items():
        pairs = [(loader(r, "base"), loader(r, "final")) for r in group]
        pairs = [p for p in pairs if p[0] is not None and p[1] is not None]
        if pairs:
            base, final = zip(*pairs)
            profiles[variant] = (pooled_profile(list(base)), pooled_profile(list(final)), len(pairs))
    if not profiles:
        return None
    rows, cols = _grid(len(profiles))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False, sharey=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # all-nan layers stay nan
        for k, (ax, (variant, (base, final, seeds))) in enumerate(zip(axes.flat, profiles.items())):
            layers = np.arange(1, len(final) + 1)
            base_layers = np.arange(1, len(base) + 1)
            ax.fill_between(base_layers, [np.nanmin(v) for v in base], [np.nanmax(v) for v in base],
                            color="grey", alpha=0.35, linewidth=0)
            ax.plot(layers, [np.nanmedian(v) for v in final], marker="o", color="C0")
            ax.plot(layers, [np.nanmax(v) for v in final], linewidth=0.9, color="C0", linestyle="--")
            ax.axhline(REL_THRESHOLD, color="C3", linewidth=1)
            above = int(np.sum(np.nanmax(np.vstack(final), axis=0) > REL_THRESHOLD))  # same graph order per layer
            ax.set_title(f"{variant}\n{above} of {final[0].size} graphs > 1000 in some layer ({seeds} seed(s))",
                         fontsize="medium")
            ax.set_yscale("log")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set(xlabel="layer", ylabel="max ratio per graph" if k % cols == 0 else None)
            ax.grid(alpha=0.3)
    for ax in axes.flat[len(profiles):]:
        ax.set_visible(False)
    handles = [Patch(color="grey", alpha=0.35, label="base (init): min–max over graphs"),
               Line2D([], [], color="C0", marker="o", label="trained (final): median over graphs"),
               Line2D([], [], color="C0", linestyle="--", linewidth=0.9, label="trained: max over graphs"),
               Line2D([], [], color="C3", label="threshold r = 1000")]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False,
               title="top-1 |S| / median |S| of an edge, max over the graph's edges; seeds pooled")
    return _save(fig, path)


def _fit_of(record: Dict[str, Any], state: str, layer: str, x: np.ndarray) -> Dict[str, float]:
    """Stored gamma fit of ``layer`` in ``state``, refitted on ``x`` when the record lacks it."""
    row = next((r for r in record["massive"].get(state) or [] if r.get("layer") == layer), None)
    return row["gamma"] if row and row.get("gamma") else fit_gamma(x).__dict__


def plot_gamma_fits(groups: Dict[str, List[Dict[str, Any]]], loader: _Loader, path: Path) -> Optional[Path]:
    """Per model (rows) and first/middle/last layer: histogram of -log10 r, trained and base fits."""
    chosen: Dict[str, Tuple[Dict[str, Any], Dict, Dict]] = {}
    for group in groups.values():               # display order: each model's plain variant first
        for record in group:
            name = record["config"]["model"]["name"]
            base, final = loader(record, "base"), loader(record, "final")
            if name not in chosen and base is not None and final is not None:
                chosen[name] = (record, base, final)
    if not chosen:
        return None
    ncols = max(len({0, (len(f["layers"]) - 1) // 2, len(f["layers"]) - 1}) for _, _, f in chosen.values())
    fig, axes = plt.subplots(len(chosen), ncols, figsize=(4.2 * ncols, 3.3 * len(chosen)), squeeze=False)
    for r, (record, base, final) in enumerate(chosen.values()):
        names = [str(x) for x in final["layers"]]
        picks = sorted({0, (len(names) - 1) // 2, len(names) - 1})
        for c, index in enumerate(picks):
            ax, layer = axes[r, c], names[index]
            x = log_ratio_sample(ratios(torch.as_tensor(final[f"{layer}/scores"].astype(np.float32))))
            xb = log_ratio_sample(ratios(torch.as_tensor(base[f"{layer}/scores"].astype(np.float32))))
            both = np.concatenate([x, xb])
            bins = np.histogram_bin_edges(both, bins="auto")
            bins = bins if bins.size <= 51 else np.histogram_bin_edges(both, bins=50)
            top = max(ax.hist(x, bins=bins, density=True, color="C0", alpha=0.5)[0].max(),
                      ax.hist(xb, bins=bins, density=True, histtype="step", color="grey")[0].max())
            grid = np.linspace(min(bins[0], -3.2), bins[-1], 400)
            for state, sample, color in (("final", x, "C0"), ("base", xb, "black")):
                fit = _fit_of(record, state, layer, sample)
                label = f"{'trained' if state == 'final' else 'base'} fit, KS {fit['ks']:.3f}"
                ax.plot(grid, stats.gamma.pdf(grid, fit["shape"], loc=fit["loc"], scale=fit["scale"]), color=color,
                        linestyle="-" if state == "final" else ":", label=label)
            ax.axvline(-np.log10(REL_THRESHOLD), color="C3", linewidth=1)
            ax.set_yscale("log")
            ax.set_ylim(top * 1e-4, top * 3)
            ax.set_title(f"{variant_of(record)} seed {record.get('seed', '?')} — layer {index + 1} ({layer})",
                         fontsize="medium")
            ax.set(xlabel="x = -log10(r + eps)", ylabel="density" if c == 0 else None)
            ax.legend(fontsize="small", loc="upper left")
            ax.grid(alpha=0.3)
        for ax in axes[r, len(picks):]:
            ax.set_visible(False)
    handles = [Patch(color="C0", alpha=0.5, label="trained (final) sample"), Patch(fill=False, edgecolor="grey",
               label="base (init) sample"), Line2D([], [], color="C0", label="trained gamma fit"),
               Line2D([], [], color="black", linestyle=":", label="base gamma fit"),
               Line2D([], [], color="C3", label="massive threshold x = -3 (r = 1000)")]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False)
    return _save(fig, path)


def plot_bond_heatmap(records: List[Dict[str, Any]], path: Path) -> Path:
    """Annotated heatmap of massive edges per edge type (columns) and variant (rows)."""
    variants, types, counts = bond_counts(records)
    zinc = all(str(r["config"].get("data", {}).get("name", "")).startswith("zinc")
               for r in records if r.get("massive"))
    names = {-1: "non-edge/unknown", **(BOND_NAMES if zinc else {})}
    labels = [names.get(t, str(t)) for t in types]
    fig, ax = plt.subplots(figsize=(max(4.5, 1.3 * len(types) + 3), 0.5 * len(variants) + 1.8))
    if not types:
        ax.text(0.5, 0.5, "no massive activations (r > 1000) in any trained model", ha="center", va="center")
        ax.set_axis_off()
        return _save(fig, path)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.nan_to_num(counts / counts.sum(axis=1, keepdims=True))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for (i, j), value in np.ndenumerate(counts):
        ax.text(j, i, str(value), ha="center", va="center", color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(types)), labels)
    ax.set_yticks(range(len(variants)), variants)
    ax.set_xlabel("bond type" if zinc else "edge type (-1 = non-edge / unknown)")
    ax.set_title("edges with a massive element (trained, final), summed over layers and seeds", fontsize="medium")
    fig.colorbar(image, ax=ax, label="share of the row")
    return _save(fig, path)


def plot_massive(records: List[Dict[str, Any]], folder: Path, out_dir: Path) -> List[Path]:
    """Write the MA figures of ``records`` (activation files in ``folder``) into ``out_dir``
    (created) and return their paths; [] when no record has massive data. The ratio and gamma
    figures are left out when no activation file can be read."""
    groups = _groups(records)
    if not groups:
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    loader = _Loader(folder)
    paths = [plot_ratio_curves(groups, loader, out_dir / "ma_ratio_curves.png"),
             plot_gamma_fits(groups, loader, out_dir / "ma_gamma_fits.png"),
             plot_bond_heatmap(records, out_dir / "ma_bond_heatmap.png")]
    return [p for p in paths if p is not None]
