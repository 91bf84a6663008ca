"""The massive-activation analysis of one trained run: activations of three model states on the
test split (base = the run's own initialisation, final, best-validation), their per-layer
report, and the adversarial attack on the best-validation model."""
import copy
from pathlib import Path
from typing import Any, Dict

import torch

from dgl_ma.analysis.attack import attack
from dgl_ma.analysis.capture import collect, report_states, save
from dgl_ma.analysis.config import AnalysisConfig
from dgl_ma.train.engine import TrainConfig, split_batches, task_loss


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
