"""Print the largest absolute difference between each core and its reference re-implementation
(tests/test_fidelity.py) over every graph case, float64 — the tolerances quoted in the README's
"Fidelity" section. Run: ``OMP_NUM_THREADS=1 python tests/fidelity_tolerances.py``."""
import sys
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

import test_fidelity as tf  # noqa: E402
from dgl_ma.layers.block import TransformerBlock  # noqa: E402
from dgl_ma.layers.edge_attention import EdgeAttention  # noqa: E402
from dgl_ma.models.full_graph import complete_graph  # noqa: E402
from dgl_ma.models.graphit import KernelAttention  # noqa: E402
from dgl_ma.models.san import SANAttention  # noqa: E402
from graph_cases import CASE_NAMES  # noqa: E402


def sparse_core(core_cls, ebt):
    worst = 0.0
    for name in CASE_NAMES:
        torch.manual_seed(0)
        g, h, e = tf.case(name)
        att = core_cls(tf.DIM, tf.HEADS, ebt=ebt).double()
        out, _ = att(g, h, e)
        src, dst = g.edges()
        bias = (att.bias.k_bias, att.bias.e_bias, att.bias.v_bias) if ebt == "gnn_ma" else None
        ref, _ = tf.reference_clamped_attention(src, dst, g.num_nodes(), tf.heads(att.query(h)), tf.heads(att.key(h)),
                                                tf.heads(att.value(h)), tf.heads(att.edge(e)), bias)
        worst = max(worst, float((out - ref).abs().max()) if out.numel() else 0.0)
    return worst


def san_full():
    worst = 0.0
    for name in CASE_NAMES:
        g, h, _ = tf.case(name)
        full = complete_graph(g, self_pairs=False)
        gen = torch.Generator().manual_seed(1)
        no_edge = tf.SCALE * torch.randn(tf.DIM, generator=gen, dtype=torch.float64)
        real = full.edata["real"]
        e = torch.where(real.unsqueeze(-1), tf.SCALE * torch.randn(full.num_edges(), tf.DIM, generator=gen,
                                                                    dtype=torch.float64), no_edge)
        torch.manual_seed(0)
        att = SANAttention(tf.DIM, tf.HEADS, gamma=0.3).double()
        out, _ = att(full, h, e, real)
        src, dst = full.edges()
        ref = tf.reference_san_attention(src, dst, real, g.num_nodes(), att, h, e, gamma=0.3)
        worst = max(worst, float((out - ref).abs().max()))
    return worst


def graphit_full():
    worst = 0.0
    for norm in ("layernorm", "batchnorm"):
        for name in CASE_NAMES:
            full, h, graphs, kernels, degrees = tf.graphit_case(name)
            torch.manual_seed(0)
            block = TransformerBlock(KernelAttention(tf.DIM, tf.HEADS, shared_qk=True), tf.DIM, 0.0, norm,
                                     out_bias=False).double()
            block.train(full.num_nodes() > 1)
            ours = block(full, h, None, full.edata["kernel"].double(), node_scale=full.ndata["degree_scale"].double())
            worst = max(worst, float((ours - tf.reference_graphit_layer(block, graphs, kernels, degrees)).abs().max()))
    return worst


@torch.no_grad()
def main():
    rows = [("graphit_sparse core vs gnn-ma graphit_gt_layer (ebt none)", sparse_core(KernelAttention, "none")),
            ("graphit_sparse core vs gnn-ma (ebt gnn_ma)", sparse_core(KernelAttention, "gnn_ma")),
            ("GT core vs gnn-ma / graphtransformer (ebt none)", sparse_core(EdgeAttention, "none")),
            ("GT core vs gnn-ma (ebt gnn_ma)", sparse_core(EdgeAttention, "gnn_ma")),
            ("full SAN attention vs DevinKreuzer/SAN", san_full()),
            ("full GraphiT layer vs inria-thoth/GraphiT", graphit_full())]
    for label, value in rows:
        print(f"{label:60s} {value:.1e}")
    print("(largest |difference|, float64, inputs x4, every case of tests/graph_cases.py)")


if __name__ == "__main__":
    main()
