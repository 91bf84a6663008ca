"""Generated long-range node tasks: the answer sits several hops away from the node asking.

Each task is one DGL graph, the disjoint union of ``cfg.num_graphs`` small graphs (graph ``g``
holds nodes ``g*n … g*n+n-1``; built by index arithmetic as a plain, unbatched graph). Every
small graph has one *query* node; only query nodes are in ``train_mask``/``val_mask``/
``test_mask`` (split 60/20/20 by graph, stratified on the query labels when every class is
frequent enough). The other nodes carry label 0, which no mask covers.

Example:
    >>> from dgl_ma.data import DataConfig, load_task
    >>> task = load_task(DataConfig(name="ring_transfer", ring_size=6, num_graphs=10), seed=0)
    >>> task.graph.num_nodes(), task.graph.num_edges(), task.info.in_dim, task.info.out_dim
    (60, 120, 6, 5)
"""
from typing import Tuple

import dgl
import numpy as np
import torch

from dgl_ma.data.registry import DataConfig
from dgl_ma.data.splits import index_mask, stratified_split
from dgl_ma.data.task import NodeTask, TaskInfo

RING_CLASSES = 5


def disjoint_union(src: np.ndarray, dst: np.ndarray, nodes: int, copies: int) -> dgl.DGLGraph:
    """``copies`` copies of the graph ``(src, dst)`` on ``nodes`` nodes, as one plain graph.

    Shapes: ``src``/``dst`` ``(E,)`` → a graph with ``copies*nodes`` nodes, ``copies*E`` edges.
    """
    offsets = np.arange(copies)[:, None] * nodes
    return dgl.graph(
        (torch.as_tensor((src[None] + offsets).ravel()), torch.as_tensor((dst[None] + offsets).ravel())),
        num_nodes=copies * nodes,
    )


def query_split(labels: np.ndarray, seed: int) -> Tuple[np.ndarray, ...]:
    """60/20/20 split of the query nodes, stratified on ``labels``; a plain seeded random split
    when some class is too rare to stratify (e.g. 256 classes of ``tree_depth=8``)."""
    try:
        return stratified_split(labels, seed)
    except ValueError:  # scikit-learn: a class with < 2 members, or fewer test items than classes
        return stratified_split(np.zeros(len(labels), dtype=np.int64), seed)


def node_task(graph: dgl.DGLGraph, feat: np.ndarray, query: np.ndarray, query_labels: np.ndarray,
              num_classes: int, seed: int) -> NodeTask:
    """Attach ``feat`` ``(N, F)``, labels (``query_labels`` ``(G,)`` on the ``query`` node ids,
    0 elsewhere) and masks over the query nodes to ``graph``."""
    n = graph.num_nodes()
    label = np.zeros(n, dtype=np.int64)
    label[query] = query_labels
    graph.ndata["feat"] = torch.as_tensor(feat, dtype=torch.float32)
    graph.ndata["label"] = torch.as_tensor(label)
    for name, index in zip(("train", "val", "test"), query_split(query_labels, seed)):
        graph.ndata[f"{name}_mask"] = index_mask(n, query[index])
    return NodeTask(TaskInfo("node", feat.shape[1], num_classes, "cross_entropy", "accuracy"), graph)


def load_ring_transfer(cfg: DataConfig, seed: int) -> NodeTask:
    """RingTransfer (Bodnar et al. 2021): ``num_graphs`` undirected rings of ``n = ring_size``
    nodes (both edge directions, ``2n`` edges each). Source node 0 holds a one-hot class among
    :data:`RING_CLASSES` in its first 5 dims; the target node ``n // 2``, ``floor(n/2)`` hops away,
    holds a 1 in the query dim 5 and must predict the source's class. Classes are balanced.

    Shapes: ``feat`` ``(num_graphs*n, 6)``; 5 classes; one query node per ring.
    """
    rng = np.random.default_rng(seed)
    n, copies, c = cfg.ring_size, cfg.num_graphs, RING_CLASSES
    ring = np.arange(n)
    graph = disjoint_union(np.concatenate([ring, (ring + 1) % n]), np.concatenate([(ring + 1) % n, ring]), n, copies)
    classes = rng.permutation(np.arange(copies) % c)
    feat = np.zeros((copies, n, c + 1), dtype=np.float32)
    feat[np.arange(copies), 0, classes] = 1.0
    feat[:, n // 2, c] = 1.0
    query = np.arange(copies) * n + n // 2
    return node_task(graph, feat.reshape(copies * n, c + 1), query, classes, c, seed)


def load_tree_neighbors_match(cfg: DataConfig, seed: int) -> NodeTask:
    """Tree-NeighborsMatch (Alon & Yahav 2021): ``num_graphs`` complete binary trees of depth
    ``r = tree_depth`` (``2^(r+1)-1`` nodes in heap order: root 0, parent of ``i`` is
    ``(i-1)//2``), edges directed child → parent as in the original. Each of the ``L = 2^r``
    leaves has a distinct key (a permutation of ``0..L-1``) and a random value in ``0..L-1``;
    the root holds one leaf's key and must predict that leaf's value, ``r`` hops away.

    Features: one-hot key (dims ``0..L-1``) and one-hot value (dims ``L..2L-1``) on leaves, the
    key alone on the root, zeros on internal nodes.

    Shapes: ``feat`` ``(num_graphs*(2L-1), 2L)``; ``L`` classes; the roots are the query nodes.
    """
    rng = np.random.default_rng(seed)
    leaves, copies = 2 ** cfg.tree_depth, cfg.num_graphs
    n = 2 * leaves - 1
    child = np.arange(1, n)
    graph = disjoint_union(child, (child - 1) // 2, n, copies)
    keys = rng.permuted(np.tile(np.arange(leaves), (copies, 1)), axis=1)     # (G, L)
    values = rng.integers(leaves, size=(copies, leaves))                     # (G, L)
    asked = rng.integers(leaves, size=copies)                                # (G,) leaf index
    rows = np.arange(copies)
    feat = np.zeros((copies, n, 2 * leaves), dtype=np.float32)
    leaf_ids = np.arange(leaves - 1, n)
    feat[rows[:, None], leaf_ids[None], keys] = 1.0
    feat[rows[:, None], leaf_ids[None], leaves + values] = 1.0
    feat[rows, 0, keys[rows, asked]] = 1.0
    query = rows * n
    return node_task(graph, feat.reshape(copies * n, 2 * leaves), query, values[rows, asked], leaves, seed)
