"""Attention layers written with DGL message passing."""
from dgl_ma.layers.gat import GATLayer
from dgl_ma.layers.transformer import GraphTransformerLayer

__all__ = ["GATLayer", "GraphTransformerLayer"]
