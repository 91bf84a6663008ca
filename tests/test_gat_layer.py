"""GATLayer against dgl.nn.GATConv and its invariants, over the graph cases of graph_cases.py."""
import dgl
import dgl.function as fn
import pytest
import torch
import torch.nn.functional as F
from dgl.base import DGLError
from dgl.nn import GATConv

from dgl_ma.layers import GATLayer

from graph_cases import CASE_NAMES, make, permute_nodes

HEADS, OUT = 3, 4

# name: (in_feats, residual, bias, activation). "residual_identity" has in_feats == heads * out
# (identity skip); "residual_linear" projects the skip, where GATConv folds the bias into res_fc.
VARIANTS = {
    "plain": (5, False, True, None),
    "no_bias_elu": (5, False, False, F.elu),
    "residual_identity": (HEADS * OUT, True, True, None),
    "residual_linear": (5, True, True, None),
}


def randomize_(module: torch.nn.Module, seed: int) -> None:
    """Give every parameter (biases included, which start at zero) seeded random values."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters()):
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)


def make_pair(variant: str, seed: int = 0, **kwargs):
    """A GATConv with random weights and a GATLayer holding the same weights."""
    in_feats, residual, bias, activation = VARIANTS[variant]
    ref = GATConv(in_feats, OUT, HEADS, residual=residual, bias=bias, activation=activation,
                  allow_zero_in_degree=True, **kwargs)
    randomize_(ref, seed)
    ours = GATLayer(in_feats, OUT, HEADS, residual=residual, bias=bias, activation=activation, **kwargs)
    state = ref.state_dict()
    ours.load_state_dict(state, strict=True)
    return ref, ours


def param_grads(module, names):
    return {n: p.grad.clone() for n, p in module.named_parameters() if n in names}


def attention_sums(graph: dgl.DGLGraph, attn: torch.Tensor) -> torch.Tensor:
    """Sum of the attention weights over each node's incoming edges, (N, H, 1)."""
    with graph.local_scope():
        graph.edata["a"] = attn
        graph.update_all(fn.copy_e("a", "m"), fn.sum("m", "s"))
        return graph.ndata["s"]


@pytest.fixture(params=CASE_NAMES)
def case_name(request):
    return request.param


# --------------------------------------------------------------------------- equivalence


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_matches_gatconv_outputs_attention_and_grads(case_name, variant):
    in_feats = VARIANTS[variant][0]
    graph, feat = make(case_name, in_feats)
    ref, ours = make_pair(variant)

    feat_ref = feat.clone().requires_grad_()
    feat_ours = feat.clone().requires_grad_()
    out_ref, attn_ref = ref(graph, feat_ref, get_attention=True)
    out_ours, attn_ours = ours(graph, feat_ours, get_attention=True)

    torch.testing.assert_close(out_ours, out_ref)
    torch.testing.assert_close(attn_ours, attn_ref)

    proj = torch.randn(out_ref.shape, generator=torch.Generator().manual_seed(7))
    (out_ref * proj).sum().backward()
    (out_ours * proj).sum().backward()
    torch.testing.assert_close(feat_ours.grad, feat_ref.grad)
    shared = {"fc.weight", "attn_l", "attn_r", "res_fc.weight"}
    g_ref, g_ours = param_grads(ref, shared), param_grads(ours, shared)
    assert set(g_ref) == set(g_ours)
    for name in g_ref:
        torch.testing.assert_close(g_ours[name], g_ref[name], msg=f"gradient of {name}")


def test_strict_state_dict_roundtrip_both_ways():
    ref, ours = make_pair("plain")
    assert set(ref.state_dict()) == set(ours.state_dict()) == {"fc.weight", "attn_l", "attn_r", "bias"}
    back = GATConv(5, OUT, HEADS, allow_zero_in_degree=True)
    back.load_state_dict(ours.state_dict(), strict=True)
    graph, feat = make("homogeneous")
    torch.testing.assert_close(back(graph, feat), ours(graph, feat))


def test_strict_load_of_gatconv_with_projecting_residual():
    """Same layout as GATConv: a projecting residual carries the bias, no separate one."""
    ref = GATConv(5, OUT, HEADS, residual=True, allow_zero_in_degree=True)
    ours = GATLayer(5, OUT, HEADS, residual=True)
    assert set(ours.state_dict()) == set(ref.state_dict()) == {"fc.weight", "attn_l", "attn_r", "res_fc.weight", "res_fc.bias"}
    ours.load_state_dict(ref.state_dict(), strict=True)


def test_gatconv_rejects_zero_in_degree_but_gatlayer_accepts():
    graph, feat = make("zero_in_degree")
    with pytest.raises(DGLError):
        GATConv(5, OUT, HEADS)(graph, feat)
    out = GATLayer(5, OUT, HEADS)(graph, feat)
    assert torch.isfinite(out).all()


# --------------------------------------------------------------------------- invariants


def test_output_and_attention_shapes(case_name):
    graph, feat = make(case_name)
    out, attn = GATLayer(5, OUT, HEADS)(graph, feat, get_attention=True)
    assert out.shape == (graph.num_nodes(), HEADS, OUT)
    assert attn.shape == (graph.num_edges(), HEADS, 1)
    assert out.dtype == attn.dtype == torch.float32
    assert GATLayer(5, OUT, HEADS)(graph, feat).shape == (graph.num_nodes(), HEADS, OUT)


def test_attention_normalised_and_zero_in_degree_gets_bias(case_name):
    graph, feat = make(case_name)
    layer = GATLayer(5, OUT, HEADS)
    randomize_(layer, seed=3)
    out, attn = layer(graph, feat, get_attention=True)

    assert (attn >= 0).all()
    sums = attention_sums(graph, attn)                                   # (N, H, 1)
    has_in = graph.in_degrees() > 0
    torch.testing.assert_close(sums[has_in], torch.ones_like(sums[has_in]))
    assert torch.equal(sums[~has_in], torch.zeros_like(sums[~has_in]))

    bias = layer.bias.detach().view(1, HEADS, OUT).expand(int((~has_in).sum()), HEADS, OUT)
    assert torch.equal(out[~has_in].detach(), bias)
    if case_name == "zero_in_degree":
        assert (~has_in).sum() == 4  # the case really exercises the path


def test_zero_in_degree_with_residual_gets_skip_plus_bias():
    graph, feat = make("zero_in_degree", HEADS * OUT)
    layer = GATLayer(HEADS * OUT, OUT, HEADS, residual=True)
    randomize_(layer, seed=4)
    out = layer(graph, feat).detach()
    none_in = graph.in_degrees() == 0
    expected = feat[none_in].view(-1, HEADS, OUT) + layer.bias.detach().view(1, HEADS, OUT)
    torch.testing.assert_close(out[none_in], expected)


def test_permutation_equivariance(case_name):
    graph, feat = make(case_name)
    layer = GATLayer(5, OUT, HEADS)
    randomize_(layer, seed=5)
    perm = torch.randperm(graph.num_nodes(), generator=torch.Generator().manual_seed(11))
    if graph.num_nodes() > 1:
        assert not torch.equal(perm, torch.arange(graph.num_nodes()))
    out, attn = layer(graph, feat, get_attention=True)
    out_p, attn_p = layer(permute_nodes(graph, perm), feat[perm], get_attention=True)
    torch.testing.assert_close(out_p, out[perm])
    torch.testing.assert_close(attn_p, attn)  # edge order is kept by permute_nodes


def test_permutation_with_dgl_reorder_graph():
    graph, feat = make("homogeneous")
    graph.ndata["feat"] = feat
    layer = GATLayer(5, OUT, HEADS)
    randomize_(layer, seed=6)
    perm = torch.randperm(graph.num_nodes(), generator=torch.Generator().manual_seed(12))
    reordered = dgl.reorder_graph(graph, node_permute_algo="custom", edge_permute_algo="src",
                                  permute_config={"nodes_perm": perm})
    old_nid = reordered.ndata[dgl.NID]
    torch.testing.assert_close(reordered.ndata["feat"], feat[old_nid])
    out = layer(graph, feat)
    torch.testing.assert_close(layer(reordered, reordered.ndata["feat"]), out[old_nid])


def test_batching_equivalence(case_name):
    parts = [make(case_name)[0], make("homogeneous")[0], make("single_node")[0], make(case_name)[0]]
    feats = [torch.randn(g.num_nodes(), 5, generator=torch.Generator().manual_seed(20 + i))
             for i, g in enumerate(parts)]
    layer = GATLayer(5, OUT, HEADS, residual=True)
    randomize_(layer, seed=7)
    outs, attns = zip(*(layer(g, x, get_attention=True) for g, x in zip(parts, feats)))
    out_b, attn_b = layer(dgl.batch(parts), torch.cat(feats), get_attention=True)
    torch.testing.assert_close(out_b, torch.cat(outs))
    torch.testing.assert_close(attn_b, torch.cat(attns))


def test_batched_case_equals_its_unbatched_parts():
    graph, feat = make("batched")
    assert graph.batch_size == 3
    layer = GATLayer(5, OUT, HEADS)
    randomize_(layer, seed=8)
    parts = dgl.unbatch(graph)
    assert len({g.num_nodes() for g in parts}) == 3
    feats = torch.split(feat, graph.batch_num_nodes().tolist())
    out = layer(graph, feat)
    torch.testing.assert_close(out, torch.cat([layer(g, x) for g, x in zip(parts, feats)]))


@pytest.mark.parametrize("get_attention", [False, True])
def test_forward_leaves_graph_data_unchanged(case_name, get_attention):
    graph, feat = make(case_name)
    graph.ndata["feat"] = feat
    graph.ndata["tag"] = torch.arange(graph.num_nodes())
    graph.edata["w"] = torch.rand(graph.num_edges())
    before_n = {k: v.clone() for k, v in graph.ndata.items()}
    before_e = {k: v.clone() for k, v in graph.edata.items()}
    num_edges = graph.num_edges()

    layer = GATLayer(5, OUT, HEADS, feat_drop=0.2, attn_drop=0.2, residual=True).train()
    result = layer(graph, graph.ndata["feat"], get_attention=get_attention)
    out = result[0] if get_attention else result
    out.sum().backward()

    assert set(graph.ndata.keys()) == set(before_n)
    assert set(graph.edata.keys()) == set(before_e)
    for k, v in before_n.items():
        assert torch.equal(graph.ndata[k], v), k
    for k, v in before_e.items():
        assert torch.equal(graph.edata[k], v), k
    assert graph.num_edges() == num_edges


def test_eval_mode_dropout_is_identity(case_name):
    graph, feat = make(case_name)
    dropped = GATLayer(5, OUT, HEADS, feat_drop=0.5, attn_drop=0.5)
    randomize_(dropped, seed=9)
    plain = GATLayer(5, OUT, HEADS)
    plain.load_state_dict(dropped.state_dict(), strict=True)
    dropped.eval()
    plain.eval()
    out1, attn1 = dropped(graph, feat, get_attention=True)
    out2, attn2 = dropped(graph, feat, get_attention=True)
    out_plain, attn_plain = plain(graph, feat, get_attention=True)
    assert torch.equal(out1, out2) and torch.equal(attn1, attn2)
    assert torch.equal(out1, out_plain) and torch.equal(attn1, attn_plain)


def test_train_mode_dropout_is_applied():
    graph, feat = make("homogeneous")
    torch.manual_seed(0)
    layer = GATLayer(5, OUT, HEADS, feat_drop=0.5)
    randomize_(layer, seed=10)
    assert not torch.equal(layer.train()(graph, feat), layer.eval()(graph, feat))

    # Attention dropout alone: each weight is either dropped or scaled by 1 / (1 - p).
    layer = GATLayer(5, OUT, HEADS, attn_drop=0.5)
    randomize_(layer, seed=10)
    _, attn_eval = layer.eval()(graph, feat, get_attention=True)
    _, attn_train = layer.train()(graph, feat, get_attention=True)
    dropped = attn_train == 0
    assert dropped.any() and (~dropped).any()
    torch.testing.assert_close(attn_train[~dropped], 2 * attn_eval[~dropped])
