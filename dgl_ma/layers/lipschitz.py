r"""LipschitzNorm (Dasoulas, Scaman & Virmaux, ICML 2021): divide pre-softmax attention scores
by a bound on their magnitude, computed per *target* node, so that every attention layer is
Lipschitz. No learnable parameters; gradients flow through the denominators (no detach).

Both functions return a per-target-node denominator of shape ``(N, H, 1)``; the layer divides
each edge score by its target's value with ``fn.e_div_v``. Differences from the authors' public
code (PyG 1.6), which this module deliberately does not reproduce:

* the neighbour maximum is read per node and per head (their ``max_norm.view(-1,1)[index]``
  mixes nodes and heads whenever ``H > 1``);
* GAT uses the **target's** ``||z_i||²`` in :math:`D_i`, which the Cauchy–Schwarz bound needs
  (their code uses the source's ``||z_j||²``);
* the transformer's ``u`` is per graph, not over the per-edge queries of the whole batch
  (see :func:`transformer_denominator`).
"""
import dgl
import dgl.function as fn
import torch

EPS = 1e-12
TINY = 1e-20  # floor under square roots: sqrt has an infinite derivative at 0


def safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(max(x, 1e-20))``: finite gradients where a node and its neighbours are all zero."""
    return torch.sqrt(x.clamp_min(TINY))


def safe_norm(x: torch.Tensor) -> torch.Tensor:
    """Euclidean norm over the last dimension, kept as ``(..., 1)``, with a finite gradient at 0."""
    return safe_sqrt(x.pow(2).sum(dim=-1, keepdim=True))


def neighbour_max(graph: dgl.DGLGraph, values: torch.Tensor) -> torch.Tensor:
    """``out[i] = max_{j -> i} values[j]`` per head; 0 for a node without incoming edges.

    Shapes: ``values`` ``(N, H, 1)`` → ``(N, H, 1)``.
    """
    with graph.local_scope():
        graph.ndata["val"] = values
        graph.update_all(fn.copy_u("val", "m"), fn.max("m", "out"))
        return graph.ndata["out"]


def gat_denominator(
    graph: dgl.DGLGraph, z: torch.Tensor, attn_l: torch.Tensor, attn_r: torch.Tensor, per_head: bool = False
) -> torch.Tensor:
    r"""GAT: :math:`A \cdot D_i + \epsilon` with

    .. math::
        M_i = \max_{k \in N(i)} \|z_k\|^2, \quad D_i = \sqrt{\|z_i\|^2 + M_i}, \quad
        A = 4 \|[a_l \,|\, a_r]\|

    ``A`` is one norm over all heads, or one per head with ``per_head=True``. With self-loops in
    the graph, :math:`N(i)` includes ``i``. By Cauchy–Schwarz every normalised score satisfies
    :math:`|e_{ij} / (A D_i)| \le 1/4`.

    Shapes: ``z`` ``(N, H, C)``, ``attn_l``/``attn_r`` ``(1, H, C)`` → ``(N, H, 1)``.
    """
    sq_norm = z.pow(2).sum(dim=-1, keepdim=True)                           # (N, H, 1)
    d = safe_sqrt(sq_norm + neighbour_max(graph, sq_norm))                 # (N, H, 1)
    a = torch.cat([attn_l, attn_r], dim=-1)                                # (1, H, 2C)
    if per_head:
        a_norm = safe_norm(a)                                              # (1, H, 1)
    else:
        a_norm = safe_sqrt(a.pow(2).sum())                                 # scalar
    return 4.0 * a_norm * d + EPS


def transformer_denominator(graph: dgl.DGLGraph, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    r"""Dot-product attention: :math:`\max\{u v_i, u w_i, v_i w_i\} + \epsilon` with
    :math:`u = \|Q_{:,h,:}\|_F`, :math:`v_i = \max_{j \in N(i)} \|k_j\|` and
    :math:`w_i = \max_{j \in N(i)} \|v_j\|`, per head.

    :math:`u` is taken over the nodes of each graph of a batch (over the whole graph for a
    single graph), so that batching graphs does not couple their outputs. A listed deviation:
    the authors' ``Quadratic_LipschitzNorm`` takes it over the queries as its message function
    sees them, ``q_i`` repeated once per incoming edge, across the whole batch (equal for a single
    graph whose nodes all have in-degree 1; pinned by
    ``tests/test_fidelity.py::test_unimp_lipschitz_u_is_per_graph_a_listed_deviation``).

    Shapes: ``q``, ``k``, ``v`` ``(N, H, C)`` → ``(N, H, 1)``.
    """
    with graph.local_scope():
        graph.ndata["q2"] = q.pow(2).sum(dim=-1, keepdim=True)                 # (N, H, 1)
        u = safe_sqrt(dgl.broadcast_nodes(graph, dgl.sum_nodes(graph, "q2")))  # (N, H, 1)
    k_max = neighbour_max(graph, safe_norm(k))                             # (N, H, 1)
    v_max = neighbour_max(graph, safe_norm(v))                             # (N, H, 1)
    bound = torch.maximum(torch.maximum(u * k_max, u * v_max), k_max * v_max)
    return bound + EPS
