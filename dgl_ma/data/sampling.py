"""Sampled neighbourhoods for mini-batch training on a large graph (ogbn-proteins in the MA
study): the seed nodes of a batch, their sampled in-neighbours, theirs, and so on, as one small
homogeneous graph every model runs on unchanged.

The reference (msorbi/gnn-ma ``main_OGBN_node_classification.py``) feeds DGL's
``NeighborSampler([5, 10, 15, 1])`` message-flow blocks to its layers. Here the hops sampled by
``dgl.sampling.sample_neighbors`` (the same sampler) are merged into one subgraph, so a layer
sees every sampled edge among the reached nodes; fanouts follow ``NeighborSampler``'s order
(``fanouts[-1]`` in-edges per seed, ``fanouts[-2]`` per node one hop out, ...).
"""
from typing import Sequence

import dgl
import torch


def sample_subgraph(graph: dgl.DGLGraph, seeds: torch.Tensor, fanouts: Sequence[int]) -> dgl.DGLGraph:
    """The sampled ``len(fanouts)``-hop in-neighbourhood of ``seeds``. Each reached node's
    incoming edges are sampled once (``fanout`` of them, without replacement; -1 = all), from
    DGL's random generator (``dgl.seed``). Nodes are renumbered with the seeds first, in the
    given order (``ndata['seed']`` marks them); node and edge data are copied, the original ids
    kept in ``ndata[dgl.NID]`` / ``edata[dgl.EID]``.

    Shapes: ``seeds`` ``(B,)`` → a graph with ``B + reached`` nodes and the sampled edges.
    """
    device = graph.device
    seeds = torch.as_tensor(seeds, dtype=graph.idtype, device=device)
    position = torch.full((graph.num_nodes(),), -1, dtype=torch.long, device=device)
    position[seeds] = torch.arange(len(seeds), device=device)
    nodes, frontier, edge_ids = [seeds], seeds, []
    for fanout in reversed(list(fanouts)):
        if len(frontier) == 0:
            break
        sampled = dgl.sampling.sample_neighbors(graph, frontier, int(fanout))    # edges into the frontier
        eid = sampled.edata[dgl.EID]
        edge_ids.append(eid)
        src = torch.unique(graph.find_edges(eid)[0])
        frontier = src[position[src] < 0]                                        # nodes reached for the first time
        position[frontier] = torch.arange(len(frontier), device=device) + sum(len(n) for n in nodes)
        nodes.append(frontier)
    nodes = torch.cat(nodes)
    eid = torch.cat(edge_ids) if edge_ids else torch.zeros(0, dtype=graph.idtype, device=device)
    src, dst = graph.find_edges(eid)
    sub = dgl.graph((position[src], position[dst]), num_nodes=len(nodes), idtype=graph.idtype)
    for key, value in graph.ndata.items():
        sub.ndata[key] = value[nodes]
    for key, value in graph.edata.items():
        sub.edata[key] = value[eid]
    sub.ndata[dgl.NID], sub.edata[dgl.EID] = nodes, eid
    sub.ndata["seed"] = torch.arange(len(nodes), device=device) < len(seeds)
    return sub
