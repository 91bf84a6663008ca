"""Missing features (SSNC-MV, Zhao & Akoglu 2020 "PairNorm"): zero the feature rows of a share of
the nodes outside the training set.

The mask depends on ``(dataset, rate, seed)`` only, never on the model, so every method in a
comparison sees the same missing nodes.

Example:
    >>> import dgl, torch
    >>> from dgl_ma.data.task import NodeTask, TaskInfo
    >>> g = dgl.graph(([0, 1, 2, 3], [1, 2, 3, 0]))
    >>> g.ndata["feat"] = torch.ones(4, 2)
    >>> g.ndata["train_mask"] = torch.tensor([True, False, False, False])
    >>> task = NodeTask(TaskInfo("node", 2, 2, "cross_entropy", "accuracy"), g)
    >>> out = apply_missing_features(task, "toy", 100, seed=0)
    >>> out.graph.ndata["feat"].sum(1).tolist(), task.graph.ndata["feat"].sum().item()
    ([2.0, 0.0, 0.0, 0.0], 8.0)
"""
import math
import zlib

import numpy as np
import torch

from dgl_ma.data.task import NodeTask
from dgl_ma.errors import ConfigError


def missing_count(rate: float, pool_size: int) -> int:
    """``floor(rate / 100 * pool_size)``; multiplying first keeps integer rates exact
    (``29 / 100 * 100`` is ``28.999…`` in floating point, ``29 * 100 / 100`` is ``29``)."""
    return math.floor(rate * pool_size / 100)


def missing_nodes(train_mask: torch.Tensor, dataset: str, rate: float, seed: int) -> np.ndarray:
    """Sorted ids of the nodes whose features go missing.

    The pool is every node with ``train_mask`` False; :func:`missing_count` of them are drawn
    without replacement by a generator seeded from ``(seed, rate, crc32(dataset))``.

    Shapes: ``train_mask`` ``(N,)`` bool → ``(k,)`` int64 with ``k = floor(rate/100 * |pool|)``.
    """
    if not 0.0 <= rate <= 100.0:
        raise ConfigError(f"The missing-feature rate is a percentage and must lie in [0, 100], got {rate}.")
    pool = np.flatnonzero(~train_mask.cpu().numpy())
    rng = np.random.default_rng([seed, round(rate * 1000), zlib.crc32(dataset.encode("utf-8"))])
    chosen = rng.choice(pool, size=missing_count(rate, len(pool)), replace=False)
    return np.sort(chosen)


def apply_missing_features(task: NodeTask, dataset: str, rate: float, seed: int) -> NodeTask:
    """A copy of ``task`` whose graph has the feature rows of :func:`missing_nodes` set to zero.

    Training nodes always keep their features; ``rate == 0`` returns ``task`` itself. The input
    task is never changed (callers cache it): the new graph is a shallow clone with a fresh
    ``feat`` tensor, sharing structure, labels and masks.

    Shapes: ``graph.ndata["feat"]`` ``(N, F)`` → ``(N, F)``, same dtype.
    """
    if rate == 0:
        return task
    graph = task.graph
    chosen = missing_nodes(graph.ndata["train_mask"], dataset, rate, seed)
    feat = graph.ndata["feat"].clone()
    feat[torch.as_tensor(chosen, dtype=torch.long, device=feat.device)] = 0
    out = graph.clone()
    out.ndata["feat"] = feat
    return NodeTask(task.info, out)
