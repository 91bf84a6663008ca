"""Graph batching and loading for graph tasks, on ZINC-sized molecules: what the training engine
does per mini-batch (``GraphDataLoader`` collation, ``dgl.batch``) and once per dataset (a
model's ``prepare_graph`` on a batch)."""
import dgl
import torch
from dgl.dataloading import GraphDataLoader

from benchmarks.common import MOLECULE_TASK, MOLECULES, Inputs, Timing
from dgl_ma.models import ModelConfig, build_model


class Batching(Inputs, Timing):
    def setup(self, inputs):
        self.batched = inputs["graphs"]["molecules"]
        self.graphs = dgl.unbatch(self.batched)
        self.model = build_model(ModelConfig(name="gat"), MOLECULE_TASK)

    def time_batch_128(self, inputs):
        """``dgl.batch`` of 128 molecules (one mini-batch's collation)."""
        dgl.batch(self.graphs)

    def time_unbatch_128(self, inputs):
        dgl.unbatch(self.batched)

    def time_prepare_batch_128(self, inputs):
        """GAT's ``prepare_graph`` on a batch of 128: self-loops graph by graph, re-batched."""
        self.model.prepare_graph(self.batched)


class DataLoaderEpoch(Inputs, Timing):
    """One pass of ``dgl.dataloading.GraphDataLoader`` (batch size 128, shuffled, as the
    engine's training loader) over 1024 (molecule, target) pairs."""

    def setup(self, inputs):
        batch, targets = inputs["loader"]
        self.loader = GraphDataLoader(list(zip(dgl.unbatch(batch), targets)), batch_size=MOLECULES, shuffle=True,
                                      generator=torch.Generator().manual_seed(0))

    def time_iterate(self, inputs):
        for graph, target in self.loader:
            pass
