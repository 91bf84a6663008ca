"""One full-batch training epoch of deep GAT on the Cora-sized graph, LipschitzNorm off and on.

The epoch is the training engine's own (``dgl_ma.train.engine._NodeRunner.train_epoch``, what
``fit`` runs every epoch): zero the gradients, forward, cross-entropy on the training nodes,
backward, Adam step. Model as in ``suites/deep_gat.yaml``: 4 heads × 8 channels, dropout 0.6,
attention dropout 0.3, lr 0.005, weight decay 5e-4.
"""
import torch

from benchmarks.common import CORA_TASK, Inputs, Timing, device, seed_all, sync
from dgl_ma.data.task import NodeTask
from dgl_ma.models import ModelConfig, build_model
from dgl_ma.train.engine import _NodeRunner


class DeepGATEpoch(Inputs, Timing):
    params = ([2, 8, 32], ["none", "lipschitz"])
    param_names = ["layers", "norm"]
    repeat = (2, 6, 4.0)
    warmup_time = 0.0          # setup already ran one epoch

    def setup(self, inputs, layers, norm):
        self.dev = device()
        seed_all()
        cfg = ModelConfig(name="gat", layers=layers, hidden=8, heads=4, dropout=0.6, attn_dropout=0.3, norm=norm)
        task = NodeTask(CORA_TASK, inputs["graphs"]["cora"])
        self.model = build_model(cfg, task.info).to(self.dev)
        self.runner = _NodeRunner(self.model, task, self.dev)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=0.005, weight_decay=5e-4)
        self.time_epoch(inputs, layers, norm)

    def time_epoch(self, inputs, layers, norm):
        self.runner.train_epoch(self.model, self.optimizer)
        sync(self.dev)
