"""The massive-activation analysis of one trained run: activations of three model states on the
test split (base = the run's own initialisation, final, best-validation), their per-layer
report, and the adversarial attack on the best-validation model."""
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from dgl_ma.analysis.attack import SIGMAS, attack
from dgl_ma.analysis.capture import collect, report_states, save
from dgl_ma.analysis.massive import REL_THRESHOLD
from dgl_ma.errors import ConfigError
from dgl_ma.train.engine import TrainConfig, split_batches, task_loss


@dataclass
class AnalysisConfig:
    """``massive``: capture each attention layer's ``S`` on the test split (at most ``cap_edges``
    edges) for the base, final and best-validation states, store them next to the record
    (``<run id>.<state>.npz``) and summarise them in the record. ``gamma_elements``: 0 fits the
    gamma law to every finite ratio of the captured edges, as the reference (≈ 70 s per layer
    and state for 50 000 edges × 64 features on one CPU thread); N > 0 to a seeded random
    subsample of N (≈ 1 s for 50 000). ``attack``: run the adversarial
    noise attack (``sigmas``, ``attack_steps`` Adam steps, on the first ``attack_batches`` test
    batches, 0 = all) on the best-validation model."""

    massive: bool = False
    cap_edges: int = 50_000
    rel_threshold: float = REL_THRESHOLD
    abs_threshold: Optional[float] = None
    gamma_elements: int = 0
    attack: bool = False
    sigmas: List[float] = field(default_factory=lambda: list(SIGMAS))
    attack_steps: int = 10
    attack_batches: int = 4

    def __post_init__(self):
        if self.cap_edges < 1 or min(self.attack_steps, self.attack_batches, self.gamma_elements) < 0:
            raise ConfigError("analysis.cap_edges must be >= 1; analysis.attack_steps, attack_batches and "
                              "gamma_elements >= 0.")
        if self.rel_threshold <= 1 or any(s < 0 for s in self.sigmas):
            raise ConfigError("analysis.rel_threshold must exceed 1 and analysis.sigmas must be >= 0.")

    @property
    def enabled(self) -> bool:
        return self.massive or self.attack


def analyse(model: torch.nn.Module, task, cfg: AnalysisConfig, train: TrainConfig, seed: int,
            base_state: Dict[str, torch.Tensor], best_state: Dict[str, torch.Tensor],
            artifacts: Path) -> Dict[str, Any]:
    """Return the record fields ``massive`` / ``massive_files`` / ``attack``; ``artifacts`` is the
    path prefix of the activation files. The model ends with its final weights again."""
    final_state = copy.deepcopy(model.state_dict())
    batches = split_batches(model, task, "test", train)
    out: Dict[str, Any] = {}
    try:
        if cfg.massive:
            acts, files = {}, {}
            for name, state in (("base", base_state), ("final", final_state), ("best", best_state)):
                model.load_state_dict(state)
                acts[name] = collect(model, batches, cfg.cap_edges)
                files[name] = artifacts.with_name(f"{artifacts.name}.{name}.npz")
                save(files[name], acts[name], cfg.cap_edges)
            out["massive"] = report_states(acts, "base", cfg.rel_threshold, cfg.abs_threshold, cfg.gamma_elements)
            out["massive_files"] = {name: path.name for name, path in files.items()}
        if cfg.attack:
            model.load_state_dict(best_state)
            chosen = batches[: cfg.attack_batches] if cfg.attack_batches else batches
            loss_fn = lambda out, target: task_loss(task.info, out, target)  # noqa: E731
            # node tasks: outputs for every node of a batch graph, the loss on the split's nodes
            mask_key = "test_mask" if task.info.level == "node" else None
            results = attack(model, chosen, loss_fn, cfg.sigmas, cfg.attack_steps, seed=seed, mask_key=mask_key)
            out["attack"] = [{**r.__dict__, "gain": r.gain} for r in results]
    finally:
        model.load_state_dict(final_state)
    return out
