"""Attention layers written with DGL message passing."""
from dgl_ma.layers.gat import GATLayer

__all__ = ["GATLayer"]
