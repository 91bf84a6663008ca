"""LipschitzNorm: the |e| <= 1/4 bound, equality with a dense per-head computation, the
public code's defects pinned as differences, gradients through the denominator, and the
transformer layer against a dense reference and PyG's TransformerConv."""
import math

import dgl
import pytest
import torch
import torch.nn.functional as F

import dgl_ma.layers.gat as gat_module
from dgl_ma.layers import GATLayer, GraphTransformerLayer
from dgl_ma.layers.lipschitz import gat_denominator
from dgl_ma.probes import capture


def random_graph(n: int, m: int, seed: int, self_loops: bool = True) -> dgl.DGLGraph:
    gen = torch.Generator().manual_seed(seed)
    g = dgl.graph((torch.randint(0, n, (m,), generator=gen), torch.randint(0, n, (m,), generator=gen)), num_nodes=n)
    g = dgl.to_simple(dgl.remove_self_loop(g))
    return dgl.add_self_loop(g) if self_loops else g


def random_layer(heads: int, norm: str, seed: int, scale: float = 1.0, in_feats: int = 6, out: int = 5) -> GATLayer:
    torch.manual_seed(seed)
    layer = GATLayer(in_feats, out, heads, attention_norm=norm)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn_like(p) * scale)
    return layer


def dense_gat(graph, x, layer, norm="lipschitz", per_head=False, source_norm=False, flat_index=False):
    """Direct per-node, per-head computation (no message passing). ``source_norm`` and
    ``flat_index`` reproduce the two defects of the authors' public code."""
    n, heads, c = x.shape[0], layer.num_heads, layer.out_feats
    z = (x @ layer.fc.weight.T).view(n, heads, c)
    al, ar = layer.attn_l[0], layer.attn_r[0]                                 # (H, C)
    src, dst = graph.edges()
    sq = z.pow(2).sum(-1)                                                     # (N, H)
    neigh_max = torch.zeros(n, heads)
    for i in range(n):
        nbrs = src[dst == i]
        if len(nbrs):
            neigh_max[i] = sq[nbrs].max(dim=0).values
    a_all = torch.cat([al, ar], dim=-1)                                       # (H, 2C)
    out = torch.zeros(n, heads, c)
    for h in range(heads):
        a_norm = a_all[h].norm() if per_head else a_all.norm()
        for i in range(n):
            nbrs = src[dst == i]
            if not len(nbrs):
                continue
            e = z[nbrs, h] @ al[h] + z[i, h] @ ar[h]                          # (k,)
            if norm == "lipschitz":
                m_i = neigh_max.reshape(-1)[i] if flat_index else neigh_max[i, h]
                own = sq[nbrs, h] if source_norm else sq[i, h]
                e = e / (4 * a_norm * torch.sqrt(own + m_i) + 1e-12)
            alpha = torch.softmax(F.leaky_relu(e, 0.2), dim=0)
            out[i, h] = alpha @ z[nbrs, h]
    return out + layer.bias.view(1, heads, c)


CASES = [(seed, heads, scale) for seed in range(4) for heads in (1, 3) for scale in (0.1, 1.0, 10.0)]


@pytest.mark.parametrize("per_head", [False, True])
@pytest.mark.parametrize("seed, heads, scale", CASES)
def test_normalised_scores_are_bounded_by_a_quarter(seed, heads, scale, per_head):
    graph = random_graph(25, 80, seed, self_loops=seed % 2 == 0)  # odd seeds: zero in-degree nodes
    x = torch.randn(25, 6, generator=torch.Generator().manual_seed(seed)) * scale
    layer = random_layer(heads, "lipschitz_per_head" if per_head else "lipschitz", seed, scale)
    with torch.no_grad():
        z = layer.fc(x).view(25, heads, -1)
        with graph.local_scope():
            graph.ndata.update({"el": (z * layer.attn_l).sum(-1, keepdim=True),
                                "er": (z * layer.attn_r).sum(-1, keepdim=True),
                                "den": gat_denominator(graph, z, layer.attn_l, layer.attn_r, per_head)})
            graph.apply_edges(dgl.function.u_add_v("el", "er", "e"))
            graph.apply_edges(dgl.function.e_div_v("e", "den", "e"))
            raw = graph.edata["e"]
        with capture(layer, names=("scores",)) as probes:
            layer(graph, x)
    assert raw.abs().max() <= 0.25 + 1e-6
    assert probes[("", "scores")].abs().max() <= 0.25 + 1e-6
    # without the norm the same weights give scores far beyond the bound (the test is not vacuous)
    if scale >= 1.0:
        plain = random_layer(heads, "none", seed, scale)
        with torch.no_grad(), capture(plain) as raw_probes:
            plain(graph, x)
        assert raw_probes[("", "scores")].abs().max() > 0.25


@pytest.mark.parametrize("per_head", [False, True])
@pytest.mark.parametrize("heads", [1, 3])
def test_multi_head_output_equals_dense_computation(heads, per_head):
    graph = random_graph(20, 60, seed=heads)
    x = torch.randn(20, 6, generator=torch.Generator().manual_seed(7))
    layer = random_layer(heads, "lipschitz_per_head" if per_head else "lipschitz", seed=11)
    torch.testing.assert_close(layer(graph, x), dense_gat(graph, x, layer, per_head=per_head), rtol=1e-5, atol=1e-5)


def test_norm_off_equals_dense_plain_gat():
    graph = random_graph(20, 60, seed=5)
    x = torch.randn(20, 6)
    layer = random_layer(3, "none", seed=2)
    torch.testing.assert_close(layer(graph, x), dense_gat(graph, x, layer, norm="none"), rtol=1e-5, atol=1e-5)


def test_public_code_neighbour_max_indexing_is_wrong_only_with_several_heads():
    graph = random_graph(20, 60, seed=3)
    x = torch.randn(20, 6, generator=torch.Generator().manual_seed(3))
    one = random_layer(1, "lipschitz", seed=4)
    torch.testing.assert_close(one(graph, x), dense_gat(graph, x, one, flat_index=True), rtol=1e-5, atol=1e-5)
    three = random_layer(3, "lipschitz", seed=4)
    assert not torch.allclose(three(graph, x), dense_gat(graph, x, three, flat_index=True), atol=1e-4)


def test_public_code_source_norm_differs_from_target_norm():
    graph = random_graph(20, 60, seed=8)
    x = torch.randn(20, 6, generator=torch.Generator().manual_seed(8))
    layer = random_layer(2, "lipschitz", seed=9)
    assert not torch.allclose(layer(graph, x), dense_gat(graph, x, layer, source_norm=True), atol=1e-4)


def test_gradient_flows_through_the_denominator(monkeypatch):
    graph = random_graph(20, 60, seed=1)
    x = torch.randn(20, 6, generator=torch.Generator().manual_seed(1))

    def grads():
        layer = random_layer(2, "lipschitz", seed=3)
        layer(graph, x).pow(2).sum().backward()
        return layer.fc.weight.grad.clone(), layer.attn_l.grad.clone()

    with_grad = grads()
    real = gat_module.gat_denominator
    monkeypatch.setattr(gat_module, "gat_denominator", lambda *a, **k: real(*a, **k).detach())
    detached = grads()
    assert not torch.allclose(with_grad[0], detached[0]) and not torch.allclose(with_grad[1], detached[1])


def test_unknown_attention_norm_is_rejected():
    with pytest.raises(ValueError, match="attention_norm"):
        GATLayer(4, 2, 2, attention_norm="maxnorm")  # the option name the public sweep script passed
    with pytest.raises(ValueError, match="attention_norm"):
        GraphTransformerLayer(4, 2, 2, attention_norm="lipschitz_per_head")


# ------------------------------------------------------------------------------ transformer


def dense_transformer(graph, x, layer, norm):
    n, heads, c = x.shape[0], layer.num_heads, layer.out_feats
    q, k, v = (lin(x).view(n, heads, c) for lin in (layer.lin_query, layer.lin_key, layer.lin_value))
    src, dst = graph.edges()
    out = torch.zeros(n, heads, c)
    for h in range(heads):
        u = q[:, h].norm()
        for i in range(n):
            nbrs = src[dst == i]
            if not len(nbrs):
                continue
            s = k[nbrs, h] @ q[i, h] / math.sqrt(c)
            if norm == "lipschitz":
                vi, wi = k[nbrs, h].norm(dim=-1).max(), v[nbrs, h].norm(dim=-1).max()
                s = s / (torch.max(torch.stack([u * vi, u * wi, vi * wi])) + 1e-12)
            out[i, h] = torch.softmax(s, 0) @ v[nbrs, h]
    return out.flatten(1) + layer.lin_skip(x)


@pytest.mark.parametrize("norm", ["none", "lipschitz"])
def test_transformer_equals_dense_computation(norm):
    graph = random_graph(18, 50, seed=2, self_loops=False)
    x = torch.randn(18, 6, generator=torch.Generator().manual_seed(2)) * 3
    torch.manual_seed(0)
    layer = GraphTransformerLayer(6, 4, num_heads=3, attention_norm=norm)
    torch.testing.assert_close(layer(graph, x), dense_transformer(graph, x, layer, norm), rtol=1e-5, atol=1e-5)


def test_transformer_norm_off_equals_pyg_transformerconv():
    pyg = pytest.importorskip("torch_geometric.nn", reason="torch-geometric (extra 'dev') is not installed")
    graph = random_graph(18, 50, seed=4, self_loops=False)
    x = torch.randn(18, 6, generator=torch.Generator().manual_seed(4))
    torch.manual_seed(0)
    ref = pyg.TransformerConv(6, 4, heads=3)
    ours = GraphTransformerLayer(6, 4, num_heads=3)
    ours.load_state_dict(ref.state_dict(), strict=True)
    src, dst = graph.edges()
    torch.testing.assert_close(ours(graph, x), ref(x, torch.stack([src, dst])), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm", ["lipschitz", "lipschitz_per_head"])
def test_all_zero_neighbourhood_keeps_gradients_finite(norm):
    """A node whose own and neighbours' features are zero (dropout can do this) must not
    produce NaN gradients through sqrt(0)."""
    graph = dgl.add_self_loop(dgl.graph(([0, 1], [1, 0]), num_nodes=4))    # nodes 2, 3: self-loop only
    x = torch.randn(4, 6)
    x[2:] = 0.0
    x.requires_grad_(True)
    layer = random_layer(2, norm, seed=0)
    layer(graph, x).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
    assert torch.isfinite(x.grad).all()
    torch.manual_seed(0)
    transformer = GraphTransformerLayer(6, 3, num_heads=2, attention_norm="lipschitz")
    transformer(graph, x).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in transformer.parameters())
