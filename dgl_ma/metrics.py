"""Task metrics, kept apart from the models (as OGB keeps its evaluators apart).

Each metric takes the model's raw outputs and the targets (both CPU tensors) and returns a
float; ``higher_is_better`` tells model selection and leaderboards which way is better.
The arithmetic itself is scikit-learn's.
"""
from dataclasses import dataclass
from typing import Callable, Tuple

import torch
from sklearn.metrics import accuracy_score, mean_absolute_error

from dgl_ma.registry import Registry


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    compute: Callable[[torch.Tensor, torch.Tensor], float]
    bounds: Tuple[float, float] = (0.0, 1.0)   # the values the metric can take (plots clip bands to them)

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` is strictly better than ``b``."""
        return a > b if self.higher_is_better else a < b


METRICS: Registry[Metric] = Registry("metric")


def _accuracy(logits: torch.Tensor, target: torch.Tensor) -> float:
    return float(accuracy_score(target.numpy(), logits.argmax(dim=-1).numpy()))


def _mae(pred: torch.Tensor, target: torch.Tensor) -> float:
    return float(mean_absolute_error(target.reshape(-1).numpy(), pred.reshape(-1).numpy()))


def ogb_rocauc(name: str) -> Callable[[torch.Tensor, torch.Tensor], float]:
    """ROC-AUC averaged over tasks by OGB's own ``Evaluator(name)`` (graph or node property
    prediction, chosen by the ``ogbg-``/``ogbn-`` prefix; NaN = no label)."""

    def compute(logits: torch.Tensor, target: torch.Tensor) -> float:
        if name.startswith("ogbg-"):
            from ogb.graphproppred import Evaluator
        else:
            from ogb.nodeproppred import Evaluator
        result = Evaluator(name).eval({"y_true": target.numpy(), "y_pred": logits.numpy()})
        return float(result["rocauc"])

    return compute


METRICS.add("accuracy", Metric("accuracy", True, _accuracy), "fraction of correct argmax predictions")
METRICS.add("mae", Metric("mae", False, _mae, bounds=(0.0, float("inf"))), "mean absolute error of a scalar regression")
METRICS.add("ogbg-moltox21", Metric("rocauc", True, ogb_rocauc("ogbg-moltox21")),
            "ROC-AUC over the 12 TOX21 tasks, by OGB's Evaluator('ogbg-moltox21')")
METRICS.add("ogbn-proteins", Metric("rocauc", True, ogb_rocauc("ogbn-proteins")),
            "ROC-AUC over the 112 ogbn-proteins tasks, by OGB's Evaluator('ogbn-proteins')")


def metric_bounds(name: str) -> Tuple[float, float]:
    """The range of the metric a record names (``record["metric"]["name"]``, e.g. ``"rocauc"``);
    unbounded for a name no registered metric has."""
    for key in METRICS.names():
        if METRICS.get(key).name == name:
            return METRICS.get(key).bounds
    return (-float("inf"), float("inf"))
