"""Mini-batch training of a node task on sampled neighbourhoods (``train.fanouts``), with the
interface of the engine's other runners (:mod:`dgl_ma.train.engine`)."""
from typing import Callable, Dict, List, Tuple

import dgl
import torch

from dgl_ma.data.sampling import sample_subgraph
from dgl_ma.data.task import NodeTask
from dgl_ma.models.base import GraphModel


class SampledNodeRunner:
    """Mini-batches of seed nodes, each run on its sampled neighbourhood (seeds first); the
    loss and metrics on the seeds. Neighbourhoods are drawn anew every pass from DGL's seeded
    generator; the split's nodes are shuffled (training) with ``seed``."""

    def __init__(self, model: GraphModel, task: NodeTask, device: torch.device, batch_size: int,
                 fanouts: List[int], seed: int, loss: Callable):
        self.info, self.model, self.device, self.loss = task.info, model, device, loss
        self.graph, self.batch_size, self.fanouts = task.graph, batch_size, fanouts
        self.label = task.graph.ndata["label"]
        self.nodes = {s: torch.nonzero(task.graph.ndata[f"{s}_mask"]).reshape(-1) for s in ("train", "val", "test")}
        self.shuffle_rng = torch.Generator().manual_seed(seed)
        self.fixed = self._batch(self.nodes["train"][:batch_size], "train")

    def _batch(self, seeds: torch.Tensor, split: str) -> Tuple[dgl.DGLGraph, torch.Tensor]:
        graph = self.model.prepare_graph(sample_subgraph(self.graph, seeds, self.fanouts))
        graph.ndata[f"{split}_mask"] = graph.ndata["seed"]
        return graph.to(self.device), self.label[seeds].to(self.device)

    def _batches(self, split: str, shuffle: bool = False):
        nodes = self.nodes[split]
        if shuffle:
            nodes = nodes[torch.randperm(len(nodes), generator=self.shuffle_rng)]
        for start in range(0, len(nodes), self.batch_size):
            yield self._batch(nodes[start:start + self.batch_size], split)

    def train_loss(self, model) -> torch.Tensor:
        graph, target = self.fixed
        return self.loss(self.info, model(graph, graph.ndata["feat"])[: len(target)], target)

    def train_epoch(self, model, optimizer) -> float:
        """The mean loss per seed; summed on the device and read once per epoch, as the graph
        runner's (a NaN/Inf batch loss makes the epoch's loss NaN/Inf: the run diverges there)."""
        model.train()
        total, count = torch.zeros((), dtype=torch.float64, device=self.device), 0
        for graph, target in self._batches("train", shuffle=True):
            optimizer.zero_grad()
            loss = self.loss(self.info, model(graph, graph.ndata["feat"])[: len(target)], target)
            loss.backward()
            optimizer.step()
            total += loss.detach().double() * len(target)
            count += len(target)
        return float(total) / max(count, 1)

    def batches(self, split: str):
        """``[(sampled neighbourhood, targets of its seeds), ...]`` over the split's nodes, in order."""
        return list(self._batches(split))

    @torch.no_grad()
    def evaluate(self, model) -> Dict[str, Tuple[torch.Tensor, torch.Tensor]]:
        model.eval()
        result = {}
        for split in ("val", "test"):
            outs, targets = [], []
            for graph, target in self._batches(split):
                outs.append(model(graph, graph.ndata["feat"])[: len(target)].cpu())
                targets.append(target.cpu())
            result[split] = (torch.cat(outs), torch.cat(targets))
        return result
