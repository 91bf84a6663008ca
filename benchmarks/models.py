"""Each model of ``benchmarks.cases.MODELS``: forward+backward on both graphs, a forward with
activation probes (``dgl_ma.probes.capture``) off vs on, and the memory of a training step.

Model shape: 4 layers, 4 heads × 16 channels (width 64), no dropout, plus the case's config
overrides; a graph task as ZINC (atom and bond type embeddings, mean readout, MLP head, L1 loss
against one target per molecule) on the 128-molecule batch and a 7-class node task
(cross-entropy on the 140 training nodes) on the Cora-sized graph. The graph goes through the
model's ``prepare_graph`` (self-loops, complete graph, kernels, positional encodings) once, in
``setup``. Full-graph models (``ModelCase.full_graph``) are skipped on the Cora-sized graph.
"""
import dgl
import torch
import torch.nn.functional as F

from benchmarks.cases import MODELS
from benchmarks.common import (CORA_TASK, GRAPHS, MOLECULE_TASK, Inputs, Timing, cora_graph, device, molecule_list,
                               seed_all, sync)
from dgl_ma.models import ModelConfig, build_model
from dgl_ma.probes import capture

LAYERS, HIDDEN, HEADS = 4, 16, 4


def _config(model_name: str) -> ModelConfig:
    return ModelConfig(**{"name": model_name, "layers": LAYERS, "hidden": HIDDEN, "heads": HEADS,
                          **MODELS[model_name].config})


def _runs(model_name: str, graph_name: str) -> bool:
    return graph_name == "molecules" or not MODELS[model_name].full_graph


def prepared_graphs():
    """``{(model, graph): graph prepared by that model}`` on the CPU for every case that runs
    (part of ``Inputs.setup_cache``)."""
    raw = {"molecules": dgl.batch([g for g, _ in molecule_list()]), "cora": cora_graph()}
    tasks = {"molecules": MOLECULE_TASK, "cora": CORA_TASK}
    prepared = {}
    for model_name in MODELS:
        for graph_name in GRAPHS:
            if _runs(model_name, graph_name):
                model = build_model(_config(model_name), tasks[graph_name])
                prepared[(model_name, graph_name)] = model.prepare_graph(raw[graph_name])
    return prepared


class _ModelCase(Inputs):
    """Base: ``build`` makes the seeded model on the device, with the graph its
    ``prepare_graph`` made in ``setup_cache``. A full-graph model on the Cora-sized graph raises
    ``NotImplementedError``, which asv reports as skipped."""

    timeout = 180

    def build(self, cache, model_name: str, graph_name: str):
        if not _runs(model_name, graph_name):
            raise NotImplementedError(f"{model_name} attends over all node pairs: molecules only")
        self.dev = device()
        seed_all()
        task = MOLECULE_TASK if graph_name == "molecules" else CORA_TASK
        self.model = build_model(_config(model_name), task).to(self.dev)
        self.graph = cache["prepared"][(model_name, graph_name)].to(self.dev)
        self.feat = self.graph.ndata["feat"]
        if graph_name == "molecules":
            target = cache["targets"].to(self.dev)
            self.loss_fn = lambda out: F.l1_loss(out.reshape(-1), target)
        else:
            mask, label = self.graph.ndata["train_mask"], self.graph.ndata["label"]
            self.loss_fn = lambda out: F.cross_entropy(out[mask], label[mask])


class ModelForwardBackward(_ModelCase, Timing):
    params = (list(MODELS), list(GRAPHS))
    param_names = ["model", "graph"]

    def setup(self, cache, model, graph):
        self.build(cache, model, graph)
        self.model.train()
        self.time_forward_backward(cache, model, graph)       # first call: lazy init, warm-up

    def time_forward_backward(self, cache, model, graph):
        self.model.zero_grad(set_to_none=True)
        self.loss_fn(self.model(self.graph, self.feat)).backward()
        sync(self.dev)


class Probes(_ModelCase, Timing):
    """Evaluation-mode forward under ``torch.no_grad()`` (how the probes are used: reading the
    activations of a trained model), with ``capture(model)`` entered around each forward when on."""

    params = ([name for name, case in MODELS.items() if case.probed], list(GRAPHS), ["off", "on"])
    param_names = ["model", "graph", "probes"]

    def setup(self, cache, model, graph, probes):
        self.build(cache, model, graph)
        self.model.eval()
        self.time_forward(cache, model, graph, probes)

    def forward(self, probes: str) -> None:
        with torch.no_grad():
            if probes == "on":
                with capture(self.model) as recorded:
                    self.model(self.graph, self.feat)
                assert recorded, "no probe recorded anything"
            else:
                self.model(self.graph, self.feat)
        sync(self.dev)

    def time_forward(self, cache, model, graph, probes):
        self.forward(probes)


class _TrainStep(_ModelCase):
    """One training step: forward, backward, Adam step."""

    params = (list(MODELS), list(GRAPHS))
    param_names = ["model", "graph"]

    def setup(self, cache, model, graph):
        self.build(cache, model, graph)
        self.model.train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)

    def _step(self):
        self.optimizer.zero_grad(set_to_none=True)
        self.loss_fn(self.model(self.graph, self.feat)).backward()
        self.optimizer.step()
        sync(self.dev)


class ModelMemory(_TrainStep):
    """Memory of one training step.

    ``peakmem_train_step``: asv's peak resident set size of the benchmark process (it includes
    the imported libraries and the inputs, so compare models, not absolute numbers).
    ``track_saved_activation_bytes``: the bytes of the tensors autograd saves for the backward
    pass (distinct storages, parameters excluded): exact, and the same on every device.
    """

    def peakmem_train_step(self, cache, model, graph):
        self._step()

    def track_saved_activation_bytes(self, cache, model, graph):
        storages = {}

        def pack(tensor):
            storage = tensor.untyped_storage()
            storages[(tensor.device, storage.data_ptr())] = storage.nbytes()
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            loss = self.loss_fn(self.model(self.graph, self.feat))
        params = {(p.device, p.untyped_storage().data_ptr()) for p in self.model.parameters()}
        del loss
        return sum(n for key, n in storages.items() if key not in params)

    track_saved_activation_bytes.unit = "bytes"


class CudaMemory(_TrainStep):
    """``track_cuda_peak_bytes``: ``torch.cuda.max_memory_allocated`` over one training step
    after a first one (Adam's state allocated); skipped unless the run's device is CUDA."""

    def setup(self, cache, model, graph):
        if device().type != "cuda":
            raise NotImplementedError("CUDA only: set DGL_MA_BENCH_DEVICE=cuda")
        super().setup(cache, model, graph)

    def track_cuda_peak_bytes(self, cache, model, graph):
        self._step()
        torch.cuda.reset_peak_memory_stats(self.dev)
        self._step()
        return torch.cuda.max_memory_allocated(self.dev)

    track_cuda_peak_bytes.unit = "bytes"
