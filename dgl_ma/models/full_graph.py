"""Full-graph attention support: the complete graph of each molecule (real edges marked) and
GraphiT's positive-definite graph kernels, computed once per graph in ``prepare_graph``."""
import dgl
import numpy as np
import scipy.linalg
import scipy.sparse.csgraph
import torch


def normalized_laplacian(graph: dgl.DGLGraph) -> np.ndarray:
    """Dense ``I - D^-1/2 A D^-1/2`` of the graph (symmetrised), by scipy's ``csgraph.laplacian``."""
    adj = graph.adj_external(scipy_fmt="csr").astype(float)
    adj = ((adj + adj.T) > 0).astype(float)
    return scipy.sparse.csgraph.laplacian(adj, normed=True).toarray()


def diffusion_kernel(graph: dgl.DGLGraph, beta: float = 1.0) -> np.ndarray:
    """``exp(-beta L)`` (entrywise non-negative: ``-L`` is a Metzler matrix)."""
    return scipy.linalg.expm(-beta * normalized_laplacian(graph))


def random_walk_kernel(graph: dgl.DGLGraph, gamma: float = 0.25, steps: int = 16) -> np.ndarray:
    """The p-step random-walk kernel ``(I - gamma L)^p`` (non-negative for ``gamma <= 1``)."""
    lap = normalized_laplacian(graph)
    return np.linalg.matrix_power(np.eye(len(lap)) - gamma * lap, steps)


def complete_graph(graph: dgl.DGLGraph, self_pairs: bool = True) -> dgl.DGLGraph:
    """All ordered node pairs of ``graph``, in the order ``i*n + j`` for ``i → j``: the ``n²``
    pairs of GraphiT's dense attention, or with ``self_pairs=False`` the ``n(n−1)`` pairs of
    SAN's complete graph (``nx.complete_graph`` in DevinKreuzer/SAN; a self-loop that is an
    edge of ``graph`` is kept).

    ``edata['real']`` marks the pairs that are edges of ``graph`` (parallel edges become one
    pair); their ``edata['feat']`` (when present) is copied, other pairs get zeros. Node data is
    shared. A batched graph is handled graph by graph.
    """
    if graph.batch_size > 1:
        return dgl.batch([complete_graph(g, self_pairs) for g in dgl.unbatch(graph)])
    n, device = graph.num_nodes(), graph.device
    src = torch.arange(n, device=device).repeat_interleave(n)
    dst = torch.arange(n, device=device).repeat(n)
    u, v = graph.edges()
    pair = u * n + v
    real = torch.zeros(n * n, dtype=torch.bool, device=device)
    real[pair] = True
    keep = torch.ones(n * n, dtype=torch.bool, device=device) if self_pairs else (src != dst) | real
    full = dgl.graph((src[keep], dst[keep]), num_nodes=n, device=device)
    for key, value in graph.ndata.items():
        full.ndata[key] = value
    full.edata["real"] = real[keep]
    if "feat" in graph.edata:
        feat = graph.edata["feat"]
        full_feat = torch.zeros((n * n, *feat.shape[1:]), dtype=feat.dtype, device=device)
        full_feat[pair] = feat
        full.edata["feat"] = full_feat[keep]
    return full
