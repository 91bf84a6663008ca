"""dgl-ma: attention GNN layers, models, datasets and training for the dgl-ma benchmark suite.

Importing this package selects DGL's PyTorch backend (``DGLBACKEND=pytorch``) unless the
environment already chose one, so DGL never has to guess and write ``~/.dgl/config.json``.
"""
import os

os.environ.setdefault("DGLBACKEND", "pytorch")

__version__ = "0.1.0"
