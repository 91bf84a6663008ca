"""Figures of the report, regenerated from the records on every build (matplotlib, Agg, PNG).

* Suite figures: exactly those of ``python -m benchmark plot`` (:func:`benchmark.plots.plot_suite`
  and :func:`benchmark.ma_plots.plot_massive`), written into the suite's page folder.
* Run figures: the per-epoch curves of one record (:class:`CurvePlotter`: loss of train / val /
  test and the val / test metric, the best-validation epoch marked), and for a run with
  ``analysis.massive`` its ratio curves and, when it has massive activations, their bond-type
  counts (the MA figures of ``ma_plots`` on that one record; the gamma-fit figure, seconds per
  run, stays on the suite page).

A run page is made for every record of a sweep, so the curves reuse one figure (only the lines
and limits change between runs; a new figure per run costs several times more) and are saved as
256-colour PNGs (about 13 kB instead of 50 kB for a noisy 100-epoch history).
"""
import math
from pathlib import Path
from typing import Any, Dict, List, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from PIL import Image  # noqa: E402

from benchmark.ma_plots import _Loader, bond_counts, plot_bond_heatmap, plot_ratio_curves, plot_massive, variant_of  # noqa: E402
from benchmark.plots import DPI, plot_suite  # noqa: E402

CURVE_DPI = 80  # small pages for large sweeps; the suite figures keep plots.DPI


def suite_figures(records: List[Dict[str, Any]], folder: Path, out_dir: Path) -> List[Path]:
    """The figures of ``python -m benchmark plot`` for these records, written into ``out_dir``."""
    return plot_suite(records, out_dir) + plot_massive(records, folder, out_dir)


def run_ma_figures(record: Dict[str, Any], folder: Path, prefix: Path) -> List[Path]:
    """Ratio curves and bond-type counts of one MA record (``<prefix>.ma_*.png``); [] without
    massive data. The ratio figure needs the record's activation files in ``folder``."""
    if not record.get("massive"):
        return []
    paths = [plot_ratio_curves({variant_of(record): [record]}, _Loader(folder), Path(f"{prefix}.ma_ratio_curves.png"))]
    if bond_counts([record])[2].sum() > 0:  # the run page says "no massive activation" in its tables
        paths.append(plot_bond_heatmap([record], Path(f"{prefix}.ma_bond_heatmap.png")))
    return [p for p in paths if p is not None]


def _series(history: List[Dict[str, Any]], key: str) -> tuple:
    """(epochs, values) of ``key`` in a record's history, non-finite values left out."""
    points = [(h["epoch"], h[key]) for h in history
              if isinstance(h.get(key), (int, float)) and math.isfinite(h[key]) and "epoch" in h]
    return tuple(zip(*points)) if points else ((), ())


class CurvePlotter:
    """Loss and metric against epoch for one record at a time, on one reused figure: the lines,
    markers and legends are made once and only their data change between runs."""

    SPLITS = (("train", "C0"), ("val", "C1"), ("test", "C2"))

    def __init__(self):
        self.fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.0), dpi=CURVE_DPI)
        self.fig.subplots_adjust(left=0.07, right=0.84, bottom=0.17, top=0.88, wspace=0.22)
        self.axes = dict(zip(("loss", "metric"), axes))
        self.lines, self.marks = {}, []
        for panel, ax in self.axes.items():
            for split, color in self.SPLITS[(panel == "metric"):]:
                self.lines[(panel, split)], = ax.plot([], [], color=color, linewidth=1.2, label=split)
            best = ax.axvline(0, color="grey", linestyle=":", linewidth=1, label="best val epoch")
            diverged = ax.axvline(0, color="C3", linewidth=1, label="diverged")
            self.marks.append((best, diverged))
            ax.grid(alpha=0.3)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        handles = [self.lines[("loss", split)] for split, _ in self.SPLITS] + list(self.marks[0])
        self.fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.855, 0.5), fontsize="small", frameon=False)

    def plot(self, record: Dict[str, Any], path: Path) -> Optional[Path]:
        """Write the curves of ``record`` to ``path``; None when it has no per-epoch history."""
        history = record.get("history") or []
        if not history:
            return None
        metric = (record.get("metric") or {}).get("name") or "metric"
        for (panel, split), line in self.lines.items():
            epochs, values = _series(history, f"{split}_{'loss' if panel == 'loss' else metric}")
            line.set_data(epochs, values)
            line.set_marker("." if len(epochs) <= 30 else "None")  # a point per epoch while they can be told apart
        for best, diverged in self.marks:
            for mark, key in ((best, "best_epoch"), (diverged, "diverged_epoch")):
                value = record.get(key)
                mark.set_visible(isinstance(value, (int, float)))
                mark.set_xdata([value, value] if mark.get_visible() else [0, 0])
        for panel, ax in self.axes.items():
            title = "loss" if panel == "loss" else metric
            if ax.get_title() != title:  # setting a title costs as much as the rest of the figure
                ax.set_title(title, fontsize="medium")
            ax.relim(visible_only=True)
            ax.autoscale_view()
        # a 256-colour PNG of the drawn canvas: a third of savefig's size, and faster to encode
        self.fig.canvas.draw()
        width, height = self.fig.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(path)
        return path

    def close(self) -> None:
        plt.close(self.fig)


__all__ = ["CurvePlotter", "DPI", "run_ma_figures", "suite_figures"]
