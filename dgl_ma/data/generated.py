"""Datasets generated from a seed (no download): used by the quickstart suite and the tests."""
import dgl
import networkx as nx
import numpy as np
import torch
import torch.nn.functional as F
from dgl.data import MiniGCDataset

from dgl_ma.data.registry import DataConfig
from dgl_ma.data.splits import index_mask, stratified_split
from dgl_ma.data.task import GraphTask, NodeTask, TaskInfo

CSBM_CLASSES = 4
CSBM_FEATURES = 16
MAX_DEGREE_FEATURE = 8


def load_csbm(cfg: DataConfig, seed: int) -> NodeTask:
    """Contextual stochastic block model (Deshpande et al. 2018): 4 equal communities, mean
    degree about 8 with 5/8 of edges inside the community, and 16-d Gaussian features around a
    per-class mean too weak to classify alone, so that aggregating neighbours pays off.
    Split 60/20/20, stratified."""
    rng = np.random.default_rng(seed)
    n = cfg.num_nodes
    sizes = [n // CSBM_CLASSES + (1 if c < n % CSBM_CLASSES else 0) for c in range(CSBM_CLASSES)]
    block = n / CSBM_CLASSES
    p_in, p_out = 5.0 / block, 3.0 / (n - block)
    probs = [[p_in if a == b else p_out for b in range(CSBM_CLASSES)] for a in range(CSBM_CLASSES)]
    graph = dgl.from_networkx(nx.stochastic_block_model(sizes, probs, seed=seed))
    labels = np.repeat(np.arange(CSBM_CLASSES), sizes)
    means = rng.normal(size=(CSBM_CLASSES, CSBM_FEATURES)) * 0.35
    feat = means[labels] + rng.normal(size=(n, CSBM_FEATURES))
    graph.ndata["feat"] = torch.tensor(feat, dtype=torch.float32)
    graph.ndata["label"] = torch.as_tensor(labels)
    for name, index in zip(("train", "val", "test"), stratified_split(labels, seed)):
        graph.ndata[f"{name}_mask"] = index_mask(n, index)
    info = TaskInfo("node", CSBM_FEATURES, CSBM_CLASSES, "cross_entropy", "accuracy")
    return NodeTask(info, graph)


def degree_features(graph: dgl.DGLGraph) -> torch.Tensor:
    """One-hot in-degree, capped at :data:`MAX_DEGREE_FEATURE`."""
    return F.one_hot(graph.in_degrees().clamp(max=MAX_DEGREE_FEATURE), MAX_DEGREE_FEATURE + 1).float()


def load_minigc(cfg: DataConfig, seed: int) -> GraphTask:
    """DGL's ``MiniGCDataset``: 8 graph families (cycle, star, wheel, lollipop, hypercube, grid,
    clique, circular ladder) of 10–20 nodes; node feature = one-hot in-degree. Split 60/20/20,
    stratified."""
    data = MiniGCDataset(cfg.num_graphs, 10, 20, seed=seed, save_graph=False)
    samples = []
    for graph, label in data:
        graph.ndata["feat"] = degree_features(graph)
        samples.append((graph, label.long()))
    labels = np.array([int(label) for _, label in samples])
    train, val, test = ([samples[i] for i in index] for index in stratified_split(labels, seed))
    info = TaskInfo("graph", MAX_DEGREE_FEATURE + 1, data.num_classes, "cross_entropy", "accuracy")
    return GraphTask(info, train, val, test)
