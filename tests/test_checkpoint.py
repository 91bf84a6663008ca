"""Mid-run checkpoints in the engine: a run stopped after any checkpoint and resumed from it in a
fresh model ends with the record of the uninterrupted run (history, best epoch, val/test,
diagnostics; timing fields aside), for a full-batch node task and a shuffled, mini-batched graph
task with dropout."""
import json

import pytest
import torch

from dgl_ma.data import DataConfig, load_task
from dgl_ma.models import ModelConfig, build_model
from dgl_ma.train import TrainConfig, fit, seed_everything
from dgl_ma.train.checkpoint import Checkpointer

CASES = {
    "node": (DataConfig(name="csbm", num_nodes=60), ModelConfig(name="gat", layers=2, hidden=4, heads=2, dropout=0.5)),
    "graph": (DataConfig(name="minigc", num_graphs=40), ModelConfig(name="gat", layers=2, hidden=4, heads=2, dropout=0.3)),
}
TIMING = ("seconds",)


class Interrupt(Exception):
    pass


def train(case, cfg, checkpoint=None, stop_at=None):
    data, model_cfg = CASES[case]
    task = load_task(data, seed=0)
    seed_everything(0)
    model = build_model(model_cfg, task.info)

    def on_epoch(entry):
        if stop_at is not None and entry["epoch"] == stop_at:
            raise Interrupt

    return fit(model, task, cfg, seed=0, on_epoch=on_epoch, keep_best_state=True, checkpoint=checkpoint)


def strip(history):
    return [{k: v for k, v in e.items() if k not in TIMING} for e in history]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("stop_at", [4, 7])
def test_resumed_run_equals_uninterrupted(case, stop_at, tmp_path):
    cfg = TrainConfig(epochs=12, patience=0, lr_patience=2, lr_factor=0.5, checkpoint_every=3, checkpoint_seconds=0,
                      diagnostics_every=2, batch_size=8)
    full = train(case, cfg)
    ckpt = Checkpointer(tmp_path / "run.ckpt.pt", every=3)
    with pytest.raises(Interrupt):
        train(case, cfg, ckpt, stop_at=stop_at)
    assert torch.load(ckpt.path, weights_only=False)["loop"]["epoch"] == 3 * (stop_at // 3)
    resumed_ckpt = Checkpointer(tmp_path / "run.ckpt.pt", every=3)
    resumed = train(case, cfg, resumed_ckpt)
    assert resumed_ckpt.resumed_from == 3 * (stop_at // 3)
    assert len(resumed.history) == 13
    assert json.dumps(strip(full.history)) == json.dumps(strip(resumed.history))   # NaN (epoch 0) compares equal
    assert (full.best_epoch, full.val, full.test, full.stop_reason) == (resumed.best_epoch, resumed.val, resumed.test,
                                                                         resumed.stop_reason)
    assert full.diagnostics == resumed.diagnostics
    assert all(torch.equal(full.best_state[k], resumed.best_state[k]) for k in full.best_state)


def test_finished_checkpoint_trains_nothing(tmp_path):
    """The checkpoint written when training ends lets a retry (after a failed record write)
    return the same result without another epoch."""
    cfg = TrainConfig(epochs=5, patience=0, checkpoint_every=50, checkpoint_seconds=0)
    first = train("node", cfg, Checkpointer(tmp_path / "c.pt", every=50))
    again = train("node", cfg, Checkpointer(tmp_path / "c.pt", every=50), stop_at=1)  # any epoch would raise
    assert again.epochs_run == first.epochs_run == 5 and again.test == first.test
    assert json.dumps(strip(again.history)) == json.dumps(strip(first.history))


def test_checkpoint_interval_and_seconds(tmp_path):
    ckpt = Checkpointer(tmp_path / "c.pt", every=5, min_seconds=3600)
    assert not ckpt.due(5)            # fewer than min_seconds since the start
    ckpt = Checkpointer(tmp_path / "c.pt", every=5)
    assert [e for e in range(1, 16) if ckpt.due(e)] == [5, 10, 15]
    ckpt.force()
    assert ckpt.due(1)
    assert not Checkpointer(tmp_path / "c.pt", every=0).due(5)
