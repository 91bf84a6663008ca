"""Figures of a suite's run records (matplotlib, Agg backend, dpi 120), written by ``plot_suite``.

* ``accuracy_vs_depth.png``: per dataset setting, the test metric against depth, one line per
  method, mean ± sample std (ddof=1) over the ok seeds; diverged seeds are not averaged in but
  marked with an ``x`` at the bottom of the subplot.
* ``grad_norm_vs_layer.png``: per setting (row) and method (column), the gradient norm of each
  layer at epoch 0 on a log scale, one line per depth, geometric mean over seeds.
* ``grad_norm_vs_epoch.png`` (runs diagnosed at two epochs or more, ``train.diagnostics_every``):
  per setting (row) and depth (column), the largest per-layer weight-gradient norm against the
  epoch, one line per method, geometric mean over the seeds diagnosed at that epoch.

A setting is ``data.name`` plus `` m=XX%`` when ``data.missing_rate`` > 0; a method is
``"{model.name} ({model.norm})"``, followed by ``key=value`` for every other config key whose
value differs between the records (say ``epochs=150`` and ``epochs=3``), so that runs of
different configurations are drawn as different lines and never averaged as if they were seeds.
Methods differ in colour, marker and line style and are shifted slightly along the depth axis,
so that equal curves do not hide each other; bands are clipped to the metric's range.
"""
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator, NullLocator  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from benchmark.config import EXECUTION_GROUPS, LOCATION_KEYS, flat_defaults, flatten  # noqa: E402
from dgl_ma.metrics import metric_bounds  # noqa: E402

DPI = 120
Key = Tuple[str, str, int]  # (dataset setting, method, depth)
DRAWN = ("data.name", "data.missing_rate", "model.name", "model.norm", "model.layers")  # what a Key shows
MARKERS = "osD^vP*X"
LINESTYLES = ("-", "--", "-.", ":")
DODGE = 0.035  # octaves between neighbouring methods on the log2 depth axis


def setting_of(record: Dict[str, Any]) -> str:
    """``"csbm"``, or ``"csbm m=20%"`` when the record's ``data.missing_rate`` is above 0."""
    data = record["config"]["data"]
    rate = float(data.get("missing_rate") or 0.0)
    return f"{data['name']} m={rate:g}%" if rate > 0 else str(data["name"])


def method_of(record: Dict[str, Any]) -> str:
    """``"gat (lipschitz)"``: the model name with its normalisation (``none`` when unset)."""
    model = record["config"]["model"]
    return f"{model['name']} ({model.get('norm') or 'none'})"


def _flat(record: Dict[str, Any]) -> Dict[str, Any]:
    return {**flat_defaults(), **flatten(record.get("config") or {})}


def distinguishing_keys(records: List[Dict[str, Any]], drawn: Sequence[str] = DRAWN) -> List[str]:
    """Config keys other than ``drawn`` (and locations) whose value differs between records that
    agree on every ``drawn`` key. A key that differs only along what a figure already draws (the
    epochs a suite sets per depth, a batch size set per model) needs no label of its own."""
    flats = [_flat(r) for r in records]
    groups: Dict[tuple, List[Dict[str, Any]]] = {}
    for flat in flats:
        groups.setdefault(tuple(repr(flat.get(k)) for k in drawn), []).append(flat)
    keys = sorted({k for flat in flats for k in flat})
    return [k for k in keys if k not in drawn and k not in LOCATION_KEYS and not k.startswith(EXECUTION_GROUPS)
            and any(len({repr(flat.get(k)) for flat in members}) > 1 for members in groups.values())]


def config_suffix(record: Dict[str, Any], keys: Sequence[str]) -> str:
    """`` epochs=150 lr=0.01`` for ``keys`` (the last part of each dotted key), or ``""``."""
    flat = _flat(record)
    return "".join(f" {key.split('.')[-1]}={flat.get(key)}" for key in keys)


def _key(record: Dict[str, Any], extra: Sequence[str] = ()) -> Optional[Key]:
    """(setting, method, depth) of a record, or None when its config lacks one of them; the
    method carries the values of the ``extra`` keys."""
    try:
        return (setting_of(record), method_of(record) + config_suffix(record, extra),
                int(record["config"]["model"]["layers"]))
    except (KeyError, TypeError, ValueError):
        return None


def _setting_order(settings: List[str]) -> List[str]:
    """Settings sorted by dataset name, then by missing rate as a number."""
    def order(label: str):
        name, _, rate = label.partition(" m=")
        return name, float(rate.rstrip("%") or 0)
    return sorted(set(settings), key=order)


def _method_order(methods: List[str]) -> List[str]:
    """Methods sorted by model name, the un-normalised variant of each model first."""
    return sorted(set(methods), key=lambda m: (m.split(" (")[0], not m.endswith("(none)"), m))


@dataclass
class Cell:
    """One point of the accuracy plot: the metric over the ok seeds, plus how many did not finish."""
    mean: float = math.nan
    std: float = math.nan  # sample std (ddof=1); nan when n < 2
    n: int = 0
    diverged: int = 0
    failed: int = 0


def accuracy_cells(records: List[Dict[str, Any]]) -> Dict[Key, Cell]:
    """Test metric per (setting, method, depth): mean and sample std (ddof=1) over the ok seeds.

    Diverged and failed runs are counted in the cell but left out of the statistics, and so is
    a missing (``null``) score. Records that differ in other config keys are separate methods.
    """
    values: Dict[Key, List[float]] = {}
    cells: Dict[Key, Cell] = {}
    extra = distinguishing_keys(records)
    for record in records:
        key = _key(record, extra)
        if key is None:
            continue
        cell = cells.setdefault(key, Cell())
        values.setdefault(key, [])
        status = record.get("status")
        if status == "ok":
            score = record["test"].get(record["metric"]["name"])
            if score is not None:
                values[key].append(float(score))
        elif status == "diverged":
            cell.diverged += 1
        else:
            cell.failed += 1
    for key, cell in cells.items():
        arr = np.asarray(values[key], dtype=float)
        cell.n = int(arr.size)
        cell.mean = float(arr.mean()) if arr.size else math.nan
        cell.std = float(arr.std(ddof=1)) if arr.size > 1 else math.nan
    return cells


def _metric_names(records: List[Dict[str, Any]]) -> Dict[str, str]:
    """Metric name per dataset setting (from the first record that names one)."""
    names: Dict[str, str] = {}
    for record in records:
        key = _key(record)
        if key is not None and "metric" in record:
            names.setdefault(key[0], record["metric"].get("name", "metric"))
    return names


@dataclass
class GradProfile:
    """Per-layer gradient norms at initialisation, geometric mean over ``n`` seeds."""
    weight: np.ndarray                 # shape (layers,); nan where no seed had a positive value
    attention: Optional[np.ndarray]    # None when no seed reported attention gradients
    n: int


def _geometric_mean(rows: List[List[Any]]) -> np.ndarray:
    """Column-wise geometric mean of ragged rows, ignoring None, non-finite and non-positive values."""
    width = max(len(row) for row in rows)
    table = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        table[i, :len(row)] = [np.nan if v is None else float(v) for v in row]
    table[~(table > 0) | ~np.isfinite(table)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan columns stay nan
        return np.exp(np.nanmean(np.log(table), axis=0))


def init_grad_profiles(records: List[Dict[str, Any]]) -> Dict[Key, GradProfile]:
    """Epoch-0 diagnostics per (setting, method, depth), geometric mean over seeds.

    Any record with an epoch-0 diagnostics entry counts, whatever its status: the gradients at
    initialisation do not depend on how training went. Records without diagnostics are skipped.
    """
    weight: Dict[Key, List[List[Any]]] = {}
    attention: Dict[Key, List[List[Any]]] = {}
    extra = distinguishing_keys(records)
    for record in records:
        key = _key(record, extra)
        init = next((d for d in record.get("diagnostics") or [] if d.get("epoch") == 0), None)
        if key is None or init is None or not init.get("layers"):
            continue
        weight.setdefault(key, []).append([layer.get("weight_grad") for layer in init["layers"]])
        attention.setdefault(key, []).append([layer.get("attention_grad") for layer in init["layers"]])
    profiles = {}
    for key, rows in weight.items():
        att = _geometric_mean(attention[key])
        profiles[key] = GradProfile(_geometric_mean(rows), None if np.isnan(att).all() else att, len(rows))
    return profiles


def grad_norm_histories(records: List[Dict[str, Any]]) -> Dict[Key, Tuple[np.ndarray, np.ndarray]]:
    """(epochs, largest per-layer weight-gradient norm) per (setting, method, depth), geometric
    mean over the seeds diagnosed at each epoch; records diagnosed at fewer than two epochs are
    left out (they have no history)."""
    per_key: Dict[Key, Dict[int, List[float]]] = {}
    extra = distinguishing_keys(records)
    for record in records:
        key = _key(record, extra)
        rows = [d for d in record.get("diagnostics") or [] if d.get("layers")]
        if key is None or len(rows) < 2:
            continue
        for row in rows:
            grads = [layer["weight_grad"] for layer in row["layers"] if layer.get("weight_grad") is not None]
            if grads:
                per_key.setdefault(key, {}).setdefault(int(row["epoch"]), []).append(max(grads))
    return {key: (np.array(sorted(by_epoch)), np.array([_geometric_mean([[v] for v in by_epoch[e]])[0]
                                                        for e in sorted(by_epoch)]))
            for key, by_epoch in per_key.items()}


def grad_history_figure(histories: Dict[Key, Tuple[np.ndarray, np.ndarray]]) -> plt.Figure:
    """One row per dataset setting, one column per depth, one line per method (log scale)."""
    settings = _setting_order([k[0] for k in histories])
    methods = _method_order([k[1] for k in histories])
    depths = sorted({k[2] for k in histories})
    style = _method_styles(methods)
    fig, axes = plt.subplots(len(settings), len(depths), figsize=(3.8 * len(depths), 3.1 * len(settings)),
                             squeeze=False, sharey="row")
    for r, setting in enumerate(settings):
        for c, depth in enumerate(depths):
            ax = axes[r, c]
            for method in methods:
                if (setting, method, depth) in histories:
                    epochs, grads = histories[(setting, method, depth)]
                    ax.plot(epochs, grads, color=style[method]["color"], linestyle=style[method]["linestyle"])
            if ax.has_data():
                ax.set_yscale("log")
            ax.set_title(f"{setting} — depth {depth}", fontsize="medium")
            ax.set(xlabel="epoch", ylabel="largest layer grad norm" if c == 0 else None)
            ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=style[m]["color"], linestyle=style[m]["linestyle"], label=m) for m in methods]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 4),
               frameon=False, title="weight gradients, geometric mean over seeds")
    return fig


def _grid(n: int, max_cols: int = 3) -> Tuple[int, int]:
    """(rows, columns) for ``n`` subplots: at most ``max_cols`` wide, 2 x 2 for four."""
    cols = 2 if n == 4 else min(n, max_cols)
    return math.ceil(n / cols), cols


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def band(mean: np.ndarray, std: np.ndarray, metric: str) -> Tuple[np.ndarray, np.ndarray]:
    """``mean ± std`` clipped to the range the metric can take (an accuracy band stops at 0 and 1)."""
    low, high = metric_bounds(metric)
    return np.clip(mean - std, low, high), np.clip(mean + std, low, high)


def _method_styles(methods: List[str]) -> Dict[str, Dict[str, str]]:
    """Colour, marker and line style of each method, in the order given: the same method looks
    the same in every figure of a suite."""
    return {m: {"color": f"C{i % 10}", "marker": MARKERS[i % len(MARKERS)], "linestyle": LINESTYLES[i % len(LINESTYLES)]}
            for i, m in enumerate(methods)}


def plot_accuracy(cells: Dict[Key, Cell], metrics: Dict[str, str], path: Path) -> Path:
    """Test metric against depth (log2 axis), one subplot per setting, one line per method."""
    return _save(accuracy_figure(cells, metrics), path)


def accuracy_figure(cells: Dict[Key, Cell], metrics: Dict[str, str]) -> plt.Figure:
    """The figure of :func:`plot_accuracy`, not yet saved."""
    settings = _setting_order([k[0] for k in cells])
    methods = _method_order([k[1] for k in cells])
    style = _method_styles(methods)
    colors = {m: style[m]["color"] for m in methods}
    markers = {m: style[m]["marker"] for m in methods}
    styles = {m: style[m]["linestyle"] for m in methods}
    shift = {m: 2 ** (DODGE * (i - (len(methods) - 1) / 2)) for i, m in enumerate(methods)}
    rows, cols = _grid(len(settings))
    fig, axes = plt.subplots(rows, cols, figsize=(4.8 * cols, 3.6 * rows), squeeze=False)
    diverged_total = {m: sum(c.diverged for k, c in cells.items() if k[1] == m) for m in methods}
    marker_rows = {m: i for i, m in enumerate(m for m in methods if diverged_total[m])}
    for ax, setting in zip(axes.flat, settings):
        depths = sorted({k[2] for k in cells if k[0] == setting})
        bottom = blended_transform_factory(ax.transData, ax.transAxes)
        for method in methods:
            points = [cells.get((setting, method, d)) for d in depths]
            if not any(points):
                continue
            mean = np.array([p.mean if p else np.nan for p in points])
            std = np.array([p.std if p else np.nan for p in points])
            x = np.asarray(depths, dtype=float) * shift[method]
            ax.plot(x, mean, marker=markers[method], linestyle=styles[method], color=colors[method], label=method)
            ax.fill_between(x, *band(mean, std, metrics.get(setting, "")), color=colors[method], alpha=0.2,
                            linewidth=0)
            hit = [d * shift[method] for d, p in zip(depths, points) if p and p.diverged]
            if hit:  # an empty line with this transform would upset tight_layout
                y = [0.04 + 0.05 * marker_rows[method]] * len(hit)
                ax.plot(hit, y, transform=bottom, linestyle="none", marker="x", markersize=8,
                        markeredgewidth=2, color=colors[method], clip_on=False)
        ax.set_xscale("log", base=2)
        ax.set_xticks(depths, [str(d) for d in depths])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(depths[0] / 1.3, depths[-1] * 1.3)
        ax.set_ymargin(0.1 + 0.05 * len(marker_rows))  # room for the divergence markers at the bottom
        metric = metrics.get(setting, "metric")
        ax.set(title=setting, xlabel="depth (layers)", ylabel=f"test {metric}")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=colors[m], marker=markers[m], linestyle=styles[m],
                      label=m + (f" — {diverged_total[m]} diverged run(s)" if diverged_total[m] else ""))
               for m in methods]
    if any(diverged_total.values()):
        handles.append(Line2D([], [], color="grey", linestyle="none", marker="x", markeredgewidth=2,
                              label="some seeds diverged (left out of the mean)"))
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 3),
               frameon=False, title="mean ± sample std (ddof=1) over finished seeds")
    return fig


def plot_grad_norms(profiles: Dict[Key, GradProfile], path: Path) -> Path:
    """Write :func:`grad_norm_figure` to ``path``."""
    return _save(grad_norm_figure(profiles), path)


def grad_norm_figure(profiles: Dict[Key, GradProfile]) -> plt.Figure:
    """Gradient norm per layer at initialisation, log scale: of the weights (solid) and of the
    attention parameters (dashed; e.g. GAT's attention vectors).

    One row per dataset setting, one column per method, one line per depth (viridis colours).
    """
    settings = _setting_order([k[0] for k in profiles])
    methods = _method_order([k[1] for k in profiles])
    depths = sorted({k[2] for k in profiles})
    cmap = plt.get_cmap("viridis")
    colors = {d: cmap(i / max(len(depths) - 1, 1) * 0.9) for i, d in enumerate(depths)}
    fig, axes = plt.subplots(len(settings), len(methods), figsize=(4.2 * len(methods), 3.3 * len(settings)),
                             squeeze=False, sharey="row")  # methods of one setting compare directly
    for r, setting in enumerate(settings):
        for c, method in enumerate(methods):
            ax = axes[r, c]
            for depth in depths:
                profile = profiles.get((setting, method, depth))
                if profile is None:
                    continue
                layers = np.arange(1, len(profile.weight) + 1)
                ax.plot(layers, profile.weight, marker=".", color=colors[depth])
                if profile.attention is not None:
                    ax.plot(layers, profile.attention, linestyle="--", color=colors[depth])
            if ax.has_data():
                ax.set_yscale("log")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(f"{setting} — {method}", fontsize="medium")
            ax.set(xlabel="layer", ylabel="grad norm at init" if c == 0 else None)
            ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=colors[d], marker=".", label=f"depth {d}") for d in depths]
    if any(p.attention is not None for p in profiles.values()):
        handles += [Line2D([], [], color="black", label="weights"),
                    Line2D([], [], color="black", linestyle="--", label="attention parameters")]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 6),
               frameon=False, title="epoch 0, geometric mean over seeds")
    return fig


def plot_suite(records: List[Dict[str, Any]], out_dir: Path) -> List[Path]:
    """Write the suite's figures into ``out_dir`` (created) and return their paths.

    Returns [] when no record is usable; the accuracy figure is left out when the records
    span a single depth (nothing to plot against), the gradient figures when no record has
    epoch-0 diagnostics (or diagnostics at two epochs, for the history).
    """
    cells = {k: c for k, c in accuracy_cells(records).items() if c.n or c.diverged}
    if len({depth for _, _, depth in cells}) < 2:
        cells = {}
    profiles = init_grad_profiles(records)
    histories = grad_norm_histories(records)
    if not cells and not profiles:
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    if cells:
        paths.append(plot_accuracy(cells, _metric_names(records), out_dir / "accuracy_vs_depth.png"))
    if profiles:
        paths.append(plot_grad_norms(profiles, out_dir / "grad_norm_vs_layer.png"))
    if histories:
        paths.append(_save(grad_history_figure(histories), out_dir / "grad_norm_vs_epoch.png"))
    return paths
