"""Explicit Bias Term: attention (bias slot included) sums to 1 per node in every core, scores
keep their gradients (the reference code's SAN/GraphiT bias path made attention uniform and cut
them), the two forms match their formulas, and use_bias is a separate switch."""
import math

import dgl
import pytest
import torch

from dgl_ma.data.task import TaskInfo
from dgl_ma.errors import ConfigError
from dgl_ma.layers.edge_attention import EdgeAttention
from dgl_ma.models import ModelConfig, build_model
from dgl_ma.models.full_graph import complete_graph, random_walk_kernel
from dgl_ma.models.graphit import KernelAttention
from dgl_ma.models.san import SANAttention

DIM, HEADS = 8, 2


def small_graph(seed=0, n=7):
    gen = torch.Generator().manual_seed(seed)
    return dgl.to_bidirected(dgl.graph((torch.randint(0, n, (2 * n,), generator=gen),
                                        torch.randint(0, n, (2 * n,), generator=gen)), num_nodes=n))


def run_core(core: str, form: str, seed: int = 0):
    """(attention module, graph, outputs of forward with get_attention=True)."""
    torch.manual_seed(seed)
    g = small_graph(seed)
    h = torch.randn(g.num_nodes(), DIM, requires_grad=True)
    if core == "gt":
        att = EdgeAttention(DIM, HEADS, ebt=form)
        return att, g, att(g, h, torch.randn(g.num_edges(), DIM), get_attention=True)
    full = complete_graph(g)
    if core == "graphit":
        att = KernelAttention(DIM, HEADS, ebt=form)
        kernel = torch.as_tensor(random_walk_kernel(g), dtype=torch.float32).reshape(-1)
        return att, full, att(full, h, torch.randn(full.num_edges(), DIM), kernel, get_attention=True)
    att = SANAttention(DIM, HEADS, gamma=0.3, ebt=form)
    return att, full, att(full, h, torch.randn(full.num_edges(), DIM), full.edata["real"], get_attention=True)


@pytest.mark.parametrize("form", ["none", "gnn_ma", "sink"])
@pytest.mark.parametrize("core", ["gt", "graphit", "san"])
def test_attention_with_bias_slot_sums_to_one(core, form):
    _, g, (_, _, alpha, slot) = run_core(core, form)
    per_node = torch.zeros(g.num_nodes(), HEADS, 1).index_add_(0, g.edges()[1], alpha) + slot
    has_in = g.in_degrees() > 0
    torch.testing.assert_close(per_node[has_in], torch.ones(int(has_in.sum()), HEADS, 1), atol=1e-5, rtol=0)
    assert bool(slot.any()) == (form == "sink")


@pytest.mark.parametrize("form", ["gnn_ma", "sink"])
@pytest.mark.parametrize("core", ["gt", "graphit", "san"])
def test_scores_keep_gradients_and_attention_is_not_uniform(core, form):
    att, g, (out, scores, alpha, _) = run_core(core, form)
    out.pow(2).sum().backward()
    query = att.real["query"] if core == "san" else att.query
    key = att.real["key"] if core == "san" else att.key
    assert query.weight.grad.abs().sum() > 0 and key.weight.grad.abs().sum() > 0
    bias_params = [p for p in att.bias.parameters()]
    assert bias_params and all(p.grad is not None and p.grad.abs().sum() > 0 for p in bias_params)
    # attention over a node's real incoming edges is not uniform
    _, dst = g.edges()
    node = int(torch.bincount(dst).argmax())
    weights = alpha[dst == node, 0, 0]
    assert weights.std() > 1e-4


def test_gnn_ma_adjusts_scores_by_the_target_query():
    torch.manual_seed(0)
    g = small_graph(1)
    att = EdgeAttention(DIM, HEADS, ebt="gnn_ma")
    h, e = torch.randn(g.num_nodes(), DIM), torch.randn(g.num_edges(), DIM)
    _, adjusted = att(g, h, e)
    plain = EdgeAttention(DIM, HEADS)
    plain.load_state_dict(att.state_dict(), strict=False)
    _, raw = plain(g, h, e)
    q = att.query(h).view(-1, HEADS, DIM // HEADS)
    shift = torch.einsum("nhd,hdo->nho", q, att.bias.k_bias) / math.sqrt(DIM // HEADS)     # (N, H, 1)
    expected = raw + shift[g.edges()[1]] * att.bias.e_bias.transpose(0, 1)
    torch.testing.assert_close(adjusted, expected)


def test_sink_output_equals_direct_formula():
    torch.manual_seed(0)
    g = dgl.graph(([0, 1, 2, 0], [1, 2, 0, 2]), num_nodes=3)
    att = EdgeAttention(DIM, HEADS, ebt="sink")
    h, e = torch.randn(3, DIM), torch.randn(4, DIM)
    out, scores = att(g, h, e)
    shape = (-1, HEADS, DIM // HEADS)
    q, v = att.query(h).view(shape), att.value(h).view(shape)
    w = torch.exp(scores.sum(-1, keepdim=True).clamp(-5, 5))
    slot = torch.exp(((q * att.bias.k_sink).sum(-1, keepdim=True) / math.sqrt(DIM // HEADS)).clamp(-5, 5))
    src, dst = g.edges()
    for i in range(3):
        into = dst == i
        num = (w[into] * v[src[into]]).sum(0) + slot[i] * att.bias.v_sink
        torch.testing.assert_close(out[i], num / (w[into].sum(0) + slot[i] + 1e-6))


def test_use_bias_is_a_separate_switch_and_ebt_only_for_graph_transformers():
    task = TaskInfo("graph", 1, 1, "l1", "mae", node_vocab=6, edge_vocab=4)
    cfg = dict(name="gt", layers=1, hidden=4, heads=2, norm="batchnorm")
    names = lambda **kw: {n for n, _ in build_model(ModelConfig(**cfg, **kw), task).named_parameters()}  # noqa: E731
    plain, with_bias, with_ebt = names(), names(use_bias=True), names(ebt="sink")
    assert "layers.0.attention.query.bias" in with_bias - plain and not any("sink" in n for n in with_bias)
    assert {"layers.0.attention.bias.k_sink", "layers.0.attention.bias.v_sink"} == with_ebt - plain
    from pathlib import Path

    from benchmark.config import defaults, merge, to_run_config
    from benchmark.suites import Suite
    from benchmark.sweep import expand

    with pytest.raises(ConfigError, match="model.ebt has no effect here: it is read only by graphit, graphit_sparse, gt"):
        expand(Suite("t", Path("t.yaml"), config={"model.name": "gat", "model.ebt": "sink"}), {})
    with pytest.raises(ConfigError, match="Explicit Bias Term"):
        to_run_config(merge(defaults(), {"model.name": "gt", "model.norm": "batchnorm", "model.ebt": "both"}, "test"))
