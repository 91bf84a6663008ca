"""The training engine on predictions that become NaN/Inf: at initialisation a clear error (no
metric can be computed), after some training a diverged run that keeps its best epoch."""
import pytest
import torch

from dgl_ma.data import DataConfig, load_task
from dgl_ma.models import ModelConfig, build_model
from dgl_ma.train import TrainConfig, fit


class BreaksAfter(torch.nn.Module):
    """Wraps a model; in eval mode after ``n`` training calls its predictions are NaN."""

    def __init__(self, model, n: int):
        super().__init__()
        self.model, self.n, self.calls = model, n, 0

    def prepare_graph(self, graph):
        return self.model.prepare_graph(graph)

    def forward(self, graph, feat):
        out = self.model(graph, feat)
        if self.training:
            self.calls += 1
        elif self.calls >= self.n:
            out = out * float("nan")
        return out


@pytest.fixture(scope="module")
def task():
    return load_task(DataConfig(name="minigc", num_graphs=40), 0)


def model(task, n):
    torch.manual_seed(0)
    return BreaksAfter(build_model(ModelConfig(layers=1, hidden=4, heads=2), task.info), n)


def test_nan_predictions_after_training_mark_the_run_diverged(task):
    calls_per_epoch = -(-len(dict(task.splits())["train"]) // 8)
    result = fit(model(task, 2 * calls_per_epoch), task, TrainConfig(epochs=5, batch_size=8, patience=0), seed=0)
    assert result.status == "diverged" and result.diverged_epoch == 2
    assert result.best_epoch in (0, 1) and result.epochs_run == 2
    assert result.final["epoch"] == 1                 # the last finite epoch
    assert result.final["test"]["accuracy"] == result.history[1]["test_accuracy"]


def test_final_scores_are_the_last_epochs_next_to_the_best_validation_ones(task):
    cfg = TrainConfig(epochs=4, batch_size=8, patience=0, lr_patience=0)
    result = fit(model(task, 10**9), task, cfg, seed=0)
    last = result.history[-1]
    assert result.final == {"epoch": 4, "val": {"loss": last["val_loss"], "accuracy": last["val_accuracy"]},
                            "test": {"loss": last["test_loss"], "accuracy": last["test_accuracy"]}}
    best = result.history[result.best_epoch]
    assert result.test["accuracy"] == best["test_accuracy"]


def test_nan_predictions_at_initialisation_raise_a_clear_error(task):
    with pytest.raises(FloatingPointError, match="untrained model's outputs contain NaN"):
        fit(model(task, 0), task, TrainConfig(epochs=2, batch_size=8, patience=0), seed=0)
