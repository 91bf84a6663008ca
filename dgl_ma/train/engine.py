"""Training engine: full-batch node tasks and mini-batched graph tasks, one protocol for both.

Adam, ``ReduceLROnPlateau`` on the validation loss, early stopping on the validation loss,
stop when the learning rate falls below ``min_lr`` or the time budget is spent, and the test
metric reported at the epoch with the best validation metric (OGB's protocol). A NaN or Inf
training loss or prediction ends the run as ``diverged`` with its epoch.
"""
import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import dgl
import torch
import torch.nn.functional as F
from dgl.dataloading import GraphDataLoader

from dgl_ma.data.task import GraphTask, NodeTask, TaskInfo
from dgl_ma.errors import ConfigError
from dgl_ma.metrics import METRICS, Metric
from dgl_ma.models.base import GraphModel
from dgl_ma.train.checkpoint import Checkpointer, rng_state, set_rng_state
from dgl_ma.train.config import TrainConfig
from dgl_ma.train.diagnostics import layer_diagnostics
from dgl_ma.train.sampled import SampledNodeRunner


@dataclass
class TrainResult:
    status: str                      # "ok" or "diverged"
    best_epoch: Optional[int]        # epoch (1-based) of the best validation metric; 0 = initialisation
    val: Dict[str, float]            # loss and metric at best_epoch
    test: Dict[str, float]
    epochs_run: int
    seconds_per_epoch: Optional[float]
    stop_reason: str
    diverged_epoch: Optional[int] = None
    history: List[Dict[str, float]] = field(default_factory=list)
    diagnostics: List[Dict[str, Any]] = field(default_factory=list)
    best_state: Optional[Dict[str, torch.Tensor]] = None   # with keep_best_state: weights at best_epoch
    final: Dict[str, Any] = field(default_factory=dict)    # {"epoch", "val", "test"} of the last finite epoch


def resolve_device(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device={name!r} is not a device name; use cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name!r} but PyTorch sees no CUDA device here; use train.device=cpu.")
    return device


def task_loss(info: TaskInfo, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if info.loss == "cross_entropy":
        return F.cross_entropy(out, target)
    if info.loss == "l1":
        return F.l1_loss(out.reshape(-1), target.reshape(-1).float())
    if info.loss == "bce_masked":  # mean over the labelled entries, without out[mask] (a host sync on the GPU)
        labelled = ~torch.isnan(target)                                       # (B, T)
        per_entry = F.binary_cross_entropy_with_logits(out, torch.nan_to_num(target.float()), reduction="none")
        return torch.where(labelled, per_entry, 0.0).sum() / labelled.sum()
    raise ValueError(f"unknown loss {info.loss!r}")


class _NodeRunner:
    """Full-batch steps on one graph."""

    def __init__(self, model: GraphModel, task: NodeTask, device: torch.device):
        self.info = task.info
        self.device = device
        self.graph = model.prepare_graph(task.graph).to(device)
        self.feat = self.graph.ndata["feat"]
        self.label = self.graph.ndata["label"]
        self.masks = {s: self.graph.ndata[f"{s}_mask"] for s in ("train", "val", "test")}

    def train_loss(self, model) -> torch.Tensor:
        out = model(self.graph, self.feat)                                   # (N, out)
        mask = self.masks["train"]
        return task_loss(self.info, out[mask], self.label[mask])

    def train_epoch(self, model, optimizer) -> float:
        model.train()
        optimizer.zero_grad()
        loss = self.train_loss(model)
        if torch.isfinite(loss):
            loss.backward()
            optimizer.step()
        return float(loss.detach())

    def batches(self, split: str):
        """The whole graph with the split's targets (node outputs are selected by the mask)."""
        return [(self.graph, self.label[self.masks[split]])]

    @torch.no_grad()
    def evaluate(self, model) -> Dict[str, Tuple[torch.Tensor, torch.Tensor]]:
        model.eval()
        out = model(self.graph, self.feat)
        return {s: (out[self.masks[s]].cpu(), self.label[self.masks[s]].cpu()) for s in ("val", "test")}


def _graph_loader(model: GraphModel, samples, batch_size: int,
                  generator: Optional[torch.Generator] = None) -> GraphDataLoader:
    """``(graph, target)`` samples, each graph prepared by the model, in batches; shuffled with
    ``generator`` when one is given."""
    return GraphDataLoader([(model.prepare_graph(g), y) for g, y in samples], batch_size=batch_size,
                           shuffle=generator is not None, generator=generator)


class _GraphRunner:
    """Mini-batched steps over lists of graphs with DGL's ``GraphDataLoader``."""

    def __init__(self, model: GraphModel, task: GraphTask, device: torch.device, batch_size: int, seed: int):
        self.info = task.info
        self.device = device
        self.shuffle_rng = torch.Generator().manual_seed(seed)   # its state is part of a checkpoint
        self.loaders = {name: _graph_loader(model, samples, batch_size, self.shuffle_rng if name == "train" else None)
                        for name, samples in task.splits()}
        first = self.loaders["train"].dataset[:batch_size]
        self.fixed_batch = dgl.batch([g for g, _ in first]).to(device)
        self.fixed_target = torch.stack([y for _, y in first]).to(device)

    def train_loss(self, model) -> torch.Tensor:
        """Loss on a fixed first training batch (used by the diagnostics)."""
        return task_loss(self.info, model(self.fixed_batch, self.fixed_batch.ndata["feat"]), self.fixed_target)

    def train_epoch(self, model, optimizer) -> float:
        """One pass over the training batches; the mean loss per target. The sum stays on the
        device, read once per epoch (a per-batch ``.item()`` or finiteness test would stall the
        GPU every batch). A NaN/Inf batch loss makes the epoch's loss NaN/Inf, and ``fit`` ends
        the run as diverged at this epoch (the steps after that batch run on NaN weights)."""
        model.train()
        total, count = torch.zeros((), dtype=torch.float64, device=self.device), 0   # float64: as a Python sum
        for graph, target in self.loaders["train"]:
            graph, target = graph.to(self.device), target.to(self.device)
            optimizer.zero_grad()
            loss = task_loss(self.info, model(graph, graph.ndata["feat"]), target)
            loss.backward()
            optimizer.step()
            total += loss.detach().double() * len(target)
            count += len(target)
        return float(total) / max(count, 1)

    @torch.no_grad()
    def evaluate(self, model) -> Dict[str, Tuple[torch.Tensor, torch.Tensor]]:
        model.eval()
        result = {}
        for split in ("val", "test"):
            outs, targets = [], []
            for graph, target in self.loaders[split]:
                graph = graph.to(self.device)
                outs.append(model(graph, graph.ndata["feat"]).cpu())
                targets.append(target)
            result[split] = (torch.cat(outs), torch.cat(targets))
        return result


def _finite(outputs: Dict[str, Tuple[torch.Tensor, torch.Tensor]]) -> bool:
    return all(bool(torch.isfinite(out).all()) for out, _ in outputs.values())


def _scores(info: TaskInfo, metric: Metric, outputs) -> Dict[str, Dict[str, float]]:
    return {
        split: {"loss": float(task_loss(info, out, target)), metric.name: metric.compute(out, target)}
        for split, (out, target) in outputs.items()
    }


def _runner(model: GraphModel, task, cfg: TrainConfig, seed: int):
    device = resolve_device(cfg.device)
    model.to(device)
    if isinstance(task, NodeTask):
        if cfg.fanouts:
            return SampledNodeRunner(model, task, device, cfg.batch_size, cfg.fanouts, seed, task_loss)
        return _NodeRunner(model, task, device)
    if cfg.fanouts:
        raise ConfigError("train.fanouts samples neighbourhoods of a node task; this dataset is a graph task "
                          "(mini-batches of whole graphs, train.batch_size). Remove train.fanouts.")
    return _GraphRunner(model, task, device, cfg.batch_size, seed)


def split_batches(model: GraphModel, task, split: str, cfg: TrainConfig):
    """``[(prepared graph batch, targets), ...]`` of one split, in order, as the engine feeds
    them to the model (for analyses of a trained model: activation capture, attacks). Only that
    split is prepared."""
    device = resolve_device(cfg.device)
    model.to(device)
    if isinstance(task, NodeTask):
        if cfg.fanouts:
            return SampledNodeRunner(model, task, device, cfg.batch_size, cfg.fanouts, 0, task_loss).batches(split)
        return _NodeRunner(model, task, device).batches(split)
    loader = _graph_loader(model, dict(task.splits())[split], cfg.batch_size)
    return [(graph.to(device), target.to(device)) for graph, target in loader]


@dataclass
class _Loop:
    """What the training loop carries from epoch to epoch (and what a checkpoint restores)."""

    epoch: int
    best_epoch: int
    best_scores: Dict[str, Dict[str, float]]
    best_state: Optional[Dict[str, torch.Tensor]]
    best_loss: float
    since_best_loss: int = 0
    history: List[Dict[str, float]] = field(default_factory=list)
    diagnostics: List[Dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0
    elapsed: float = 0.0              # wall seconds of training so far (the time budget counts it)
    stop_reason: Optional[str] = None  # set once the loop has ended (a checkpoint of a finished run)
    final: Dict[str, Any] = field(default_factory=dict)   # epoch, val, test of the last finite epoch


def _dgl_epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % 2**31


def fit(
    model: GraphModel,
    task,
    cfg: TrainConfig,
    seed: int,
    on_epoch: Optional[Callable[[Dict[str, float]], None]] = None,
    keep_best_state: bool = False,
    checkpoint: Optional[Checkpointer] = None,
) -> TrainResult:
    """Train ``model`` on ``task`` (a :class:`NodeTask` or :class:`GraphTask`) and return the
    scores at the best-validation epoch (and, as ``final``, those of the last finite epoch: the
    protocol of papers that report the final model). Epoch 0 is the untrained model, so ``epochs=0``
    evaluates the initialisation. ``keep_best_state`` also returns a copy of the weights at the
    best-validation epoch (the model itself ends with the final weights).

    With a ``checkpoint``, the loop resumes from its file when one exists (the model must have
    been built as for the original run), writes it every ``checkpoint.every`` epochs and once
    more when training ends, so that a run whose record could not be written is not retrained."""
    runner = _runner(model, task, cfg, seed)
    metric = METRICS.get(task.info.metric)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=cfg.lr_factor, patience=max(cfg.lr_patience, 1)
    )
    generator = getattr(runner, "shuffle_rng", None)

    def diagnose(epoch: int) -> None:
        if cfg.diagnostics_every and hasattr(model, "layers") and epoch % cfg.diagnostics_every == 0:
            loop.diagnostics.append({"epoch": epoch, "layers": layer_diagnostics(model, runner.train_loss)})

    saved = checkpoint.load(map_location=runner.device) if checkpoint is not None else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        loop = _Loop(**saved["loop"])
        set_rng_state(saved["rng"], generator)
    else:
        outputs = runner.evaluate(model)
        if not _finite(outputs):
            raise FloatingPointError(
                "the untrained model's outputs contain NaN/Inf on the validation or test split (epoch 0), so no "
                "metric can be computed: the model breaks on some input graph of this dataset (for example a node "
                "without incoming edges, or an empty graph). Check the model on such a graph."
            )
        scores = _scores(task.info, metric, outputs)
        loop = _Loop(epoch=0, best_epoch=0, best_scores=scores, final={"epoch": 0, **scores},
                     best_state=copy.deepcopy(model.state_dict()) if keep_best_state else None,
                     best_loss=scores["val"]["loss"],
                     history=[{"epoch": 0, "train_loss": math.nan, "lr": cfg.lr, "seconds": 0.0,
                               **{f"{s}_{k}": v for s, d in scores.items() for k, v in d.items()}}])
        diagnose(0)

    def save_checkpoint() -> None:
        checkpoint.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict(), "loop": asdict(loop), "rng": rng_state(generator)})

    status, diverged_epoch = "ok", None
    start = time.perf_counter() - loop.elapsed
    while loop.stop_reason is None:
        epoch = loop.epoch + 1
        if epoch > cfg.epochs:
            loop.stop_reason = "max_epochs"
            break
        dgl.seed(_dgl_epoch_seed(seed, epoch))
        tick = time.perf_counter()
        train_loss = runner.train_epoch(model, optimizer)
        loop.train_seconds += time.perf_counter() - tick
        loop.epoch = epoch
        outputs = runner.evaluate(model) if math.isfinite(train_loss) else None
        if outputs is None or not _finite(outputs):  # NaN/Inf loss or predictions; the best epoch is kept
            status, loop.stop_reason, diverged_epoch = "diverged", "diverged", epoch
            loop.history.append({"epoch": epoch, "train_loss": train_loss, "lr": optimizer.param_groups[0]["lr"]})
            break
        scores = _scores(task.info, metric, outputs)
        loop.final = {"epoch": epoch, "val": scores["val"], "test": scores["test"]}
        lr = optimizer.param_groups[0]["lr"]
        entry = {"epoch": epoch, "train_loss": train_loss, "lr": lr, "seconds": time.perf_counter() - tick,
                 **{f"{s}_{k}": v for s, d in scores.items() for k, v in d.items()}}
        loop.history.append(entry)
        if on_epoch is not None:
            on_epoch(entry)
        diagnose(epoch)
        if metric.better(scores["val"][metric.name], loop.best_scores["val"][metric.name]):
            loop.best_epoch, loop.best_scores = epoch, scores
            if keep_best_state:
                loop.best_state = copy.deepcopy(model.state_dict())
        val_loss = scores["val"]["loss"]
        if val_loss < loop.best_loss:
            loop.best_loss, loop.since_best_loss = val_loss, 0
        else:
            loop.since_best_loss += 1
        loop.elapsed = time.perf_counter() - start
        if cfg.patience and loop.since_best_loss >= cfg.patience:
            loop.stop_reason = "early_stopping"
        elif cfg.lr_patience:
            scheduler.step(val_loss)
            if optimizer.param_groups[0]["lr"] < cfg.min_lr:
                loop.stop_reason = "min_lr"
        if loop.stop_reason is None and cfg.max_seconds and loop.elapsed > cfg.max_seconds:
            loop.stop_reason = "time_budget"
        if checkpoint is not None and loop.stop_reason is None and checkpoint.due(epoch):
            save_checkpoint()
    if checkpoint is not None and status == "ok" and checkpoint.every:
        save_checkpoint()  # the finished state: a retry after a failed record write trains nothing
    epochs_run = loop.epoch
    trained = epochs_run - (1 if status == "diverged" else 0)
    return TrainResult(
        status=status,
        best_epoch=loop.best_epoch,
        val=loop.best_scores["val"],
        test=loop.best_scores["test"],
        epochs_run=epochs_run,
        seconds_per_epoch=loop.train_seconds / trained if trained > 0 else None,
        stop_reason=loop.stop_reason,
        diverged_epoch=diverged_epoch,
        history=loop.history,
        diagnostics=loop.diagnostics,
        best_state=loop.best_state,
        final=loop.final,
    )
