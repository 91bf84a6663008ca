"""The model registry and the built-in models, declared by name, class path and description.

Declaring imports nothing: ``python -m benchmark list`` and ``show`` read the names and
descriptions without loading torch or DGL, and a model's module is imported when the model is
first checked or built. To add a model, write a :class:`~dgl_ma.models.base.GraphModel` subclass
and declare it here (or ``MODELS.register(name, description)`` it from your own code).
"""
from dgl_ma.registry import Registry

MODELS = Registry("model")   # name -> builder: (ModelConfig, TaskInfo) -> GraphModel

MODELS.declare("gat", "dgl_ma.models.stack:GATNet",
               "GAT (Veličković et al. 2018): multi-head additive attention, self-loops, ELU; norm: lipschitz, "
               "lipschitz_per_head, pairnorm, layernorm")
MODELS.declare("unimp", "dgl_ma.models.stack:UniMPNet",
               "UniMP graph transformer (Shi et al. 2021, TransformerConv) with root weight; norm: lipschitz, "
               "layernorm, lipschitz+layernorm, pairnorm")
MODELS.declare("gcn", "dgl_ma.models.stack:GCNNet",
               "GCN baseline with mean aggregation (dgl.nn.GraphConv, norm='right', self-loops), width "
               "heads·hidden; norm: pairnorm, layernorm")
MODELS.declare("gt", "dgl_ma.models.graph_transformer:GraphTransformerNet",
               "GraphTransformer (Dwivedi & Bresson 2021): sparse attention gated by edge features, edge stream;"
               " norm: batchnorm, layernorm, none; model.pos_enc=k Laplacian PE")
MODELS.declare("graphit_sparse", "dgl_ma.models.graphit:SparseGraphiTNet",
               "GraphiT restricted to real edges, no kernel (the variant of the MA paper)")
MODELS.declare("graphit", "dgl_ma.models.graphit:GraphiTNet",
               "GraphiT (Mialon et al. 2021): attention over all node pairs re-weighted by a graph kernel "
               "(model.kernel: diffusion, random_walk); norm: batchnorm, layernorm, none")
MODELS.declare("san_sparse", "dgl_ma.models.san:SparseSANNet",
               "SAN on real edges only (γ = 0), no LPE (the variant of the MA paper)")
MODELS.declare("san", "dgl_ma.models.san:SANNet",
               "SAN (Kreuzer et al. 2021): real/fake-edge attention over all node pairs (model.fake_edge_gamma),"
               " learned Laplacian PE (model.pos_enc = eigen-pairs)")
