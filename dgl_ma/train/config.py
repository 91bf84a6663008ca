"""The optimisation protocol (:class:`TrainConfig`). Imports neither torch nor DGL, so that the
command line can check and list the configuration without loading them."""
from dataclasses import dataclass, field
from typing import List

from dgl_ma.errors import check_ranges


@dataclass
class TrainConfig:
    """Optimisation protocol. ``patience``/``lr_patience`` count epochs without a lower
    validation loss (0 disables early stopping; ``lr_patience`` 0 also switches the scheduler
    off); ``max_seconds`` is a wall-clock budget (0 = none); ``batch_size``: graphs per batch
    of a graph task, or seed nodes per batch of a node task with ``fanouts``;
    ``fanouts``: node tasks train and evaluate on sampled neighbourhoods
    (:func:`dgl_ma.data.sampling.sample_subgraph`, DGL ``NeighborSampler`` order) instead of
    the full graph (empty = full batch); ``diagnostics_every`` records per-layer gradient norms
    and score ranges at initialisation and every k epochs (0 = off).

    ``checkpoint_every``: epochs between mid-run checkpoints (0 = none), skipped while fewer than
    ``checkpoint_seconds`` of training passed since the last one, so that runs of a few seconds
    write none. Neither changes what a run computes (they are not part of its identity)."""

    epochs: int = 200
    lr: float = 0.005
    weight_decay: float = 5e-4
    batch_size: int = 64
    patience: int = 50
    lr_factor: float = 0.5
    lr_patience: int = 20
    min_lr: float = 1e-6
    max_seconds: float = 0.0
    device: str = "cpu"
    diagnostics_every: int = 0
    fanouts: List[int] = field(default_factory=list)
    checkpoint_every: int = 5
    checkpoint_seconds: float = 30.0

    def __post_init__(self):
        check_ranges("train", self, [
            ("epochs", self.epochs >= 0, ">= 0"),
            ("lr", self.lr > 0, "> 0"),
            ("weight_decay", self.weight_decay >= 0, ">= 0"),
            ("min_lr", self.min_lr >= 0, ">= 0"),
            ("batch_size", self.batch_size >= 1, ">= 1"),
            ("patience", self.patience >= 0, ">= 0 (0 = no early stopping)"),
            ("lr_patience", self.lr_patience >= 0, ">= 0 (0 = constant learning rate)"),
            ("lr_factor", 0.0 < self.lr_factor < 1.0, "in (0, 1)"),
            ("max_seconds", self.max_seconds >= 0, ">= 0 (0 = no budget)"),
            ("diagnostics_every", self.diagnostics_every >= 0, ">= 0 (0 = off)"),
            ("checkpoint_every", self.checkpoint_every >= 0, ">= 0 (0 = no checkpoints)"),
            ("checkpoint_seconds", self.checkpoint_seconds >= 0, ">= 0"),
            ("fanouts", all(f > 0 or f == -1 for f in self.fanouts),
             "edges sampled per node and hop: positive, or -1 for all"),
        ])
