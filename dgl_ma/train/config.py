"""The optimisation protocol (:class:`TrainConfig`). Imports neither torch nor DGL, so that the
command line can check and list the configuration without loading them."""
from dataclasses import dataclass, field
from typing import List

from dgl_ma.errors import ConfigError


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
        if self.epochs < 0:
            raise ConfigError(f"train.epochs must be >= 0, got {self.epochs}.")
        if self.lr <= 0 or self.weight_decay < 0 or self.min_lr < 0:
            raise ConfigError("train.lr must be > 0 and train.weight_decay, train.min_lr >= 0.")
        if self.batch_size < 1 or min(self.patience, self.lr_patience, self.max_seconds, self.diagnostics_every) < 0:
            raise ConfigError("train.batch_size must be >= 1; train.patience, lr_patience, max_seconds and "
                              "diagnostics_every >= 0.")
        if self.checkpoint_every < 0 or self.checkpoint_seconds < 0:
            raise ConfigError(f"train.checkpoint_every and train.checkpoint_seconds must be >= 0, got "
                              f"{self.checkpoint_every} and {self.checkpoint_seconds}.")
        if not 0.0 < self.lr_factor < 1.0:
            raise ConfigError(f"train.lr_factor must lie in (0, 1), got {self.lr_factor}.")
        if any(f == 0 or f < -1 for f in self.fanouts):
            raise ConfigError(f"train.fanouts are edges sampled per node and hop: positive, or -1 for all; got {self.fanouts}.")
