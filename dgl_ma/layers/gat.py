"""Graph attention layer (Veličković et al., 2018) written with DGL message passing."""
from typing import Callable, Optional, Tuple, Union

import dgl
import dgl.function as fn
import torch
from dgl.nn.functional import edge_softmax
from torch import nn

from dgl_ma.layers.lipschitz import gat_denominator
from dgl_ma.probes import Probed

ATTENTION_NORMS = ("none", "lipschitz", "lipschitz_per_head")


class GATLayer(Probed, nn.Module):
    r"""Multi-head graph attention.

    For an edge :math:`j \to i` and head :math:`h`:

    .. math::
        z_k = W x_k, \qquad
        e_{ij}^h = \mathrm{LeakyReLU}_{0.2}\left(\langle a_l^h, z_j^h\rangle
                                                + \langle a_r^h, z_i^h\rangle\right)

        \alpha_{ij}^h = \frac{\exp e_{ij}^h}{\sum_{k \in \mathcal{N}(i)} \exp e_{ik}^h}, \qquad
        x_i'^h = \sum_{j \in \mathcal{N}(i)} \alpha_{ij}^h z_j^h + b^h

    With ``attention_norm="lipschitz"`` the raw score :math:`\langle a_l, z_j\rangle +
    \langle a_r, z_i\rangle` is divided by :math:`4\|[a_l|a_r]\| \sqrt{\|z_i\|^2 +
    \max_{k \in \mathcal{N}(i)} \|z_k\|^2}` before the LeakyReLU (LipschitzNorm,
    :mod:`dgl_ma.layers.lipschitz`); ``"lipschitz_per_head"`` uses one :math:`\|a\|` per head.

    :math:`\mathcal{N}(i)` are the sources of ``i``'s incoming edges; add self-loops to the graph
    (``dgl.add_self_loop``) to include ``i`` itself. Unlike ``dgl.nn.GATConv`` a node with no
    incoming edge is allowed: its output is the bias (plus the residual when enabled). The
    parameters (``fc``, ``attn_l``, ``attn_r``, ``bias``, and ``res_fc``, which holds the bias
    when the residual projects) and their initialisation are those of ``dgl.nn.GATConv``, so a
    state dict copied from one gives the other the same outputs.

    Args:
        in_feats: input feature size :math:`F_{in}`.
        out_feats: output size per head :math:`C`.
        num_heads: number of heads :math:`H`.
        feat_drop: dropout on the input features.
        attn_drop: dropout on the attention weights :math:`\alpha`.
        negative_slope: LeakyReLU slope.
        residual: add a (projected, if sizes differ) copy of the input to the output.
        bias: learnable bias :math:`b` per head and channel.
        activation: applied to the output, e.g. ``torch.nn.functional.elu``.
        attention_norm: ``"none"``, ``"lipschitz"`` or ``"lipschitz_per_head"``.

    Probe points (:mod:`dgl_ma.probes`): ``"scores"``, the pre-softmax scores :math:`e_{ij}`
    :math:`(E, H, 1)`; ``"output"``, :math:`(N, H, C)`.

    Shapes:
        - input: graph with :math:`N` nodes and :math:`E` edges, ``feat`` :math:`(N, F_{in})`
        - output: :math:`(N, H, C)`; with ``get_attention=True`` also :math:`\alpha`, :math:`(E, H, 1)`

    Example:
        >>> import dgl, torch
        >>> g = dgl.add_self_loop(dgl.graph(([0, 1, 2], [1, 2, 0])))
        >>> layer = GATLayer(in_feats=5, out_feats=4, num_heads=2)
        >>> out, attn = layer(g, torch.randn(3, 5), get_attention=True)
        >>> tuple(out.shape), tuple(attn.shape)
        ((3, 2, 4), (6, 2, 1))
    """

    def __init__(
        self,
        in_feats: int,
        out_feats: int,
        num_heads: int = 1,
        feat_drop: float = 0.0,
        attn_drop: float = 0.0,
        negative_slope: float = 0.2,
        residual: bool = False,
        bias: bool = True,
        activation: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
        attention_norm: str = "none",
    ):
        super().__init__()
        if attention_norm not in ATTENTION_NORMS:
            raise ValueError(f"attention_norm must be one of {ATTENTION_NORMS}, got {attention_norm!r}")
        self.attention_norm = attention_norm
        self.num_heads = num_heads
        self.out_feats = out_feats
        self.fc = nn.Linear(in_feats, out_feats * num_heads, bias=False)
        self.attn_l = nn.Parameter(torch.empty(1, num_heads, out_feats))
        self.attn_r = nn.Parameter(torch.empty(1, num_heads, out_feats))
        self.feat_drop = nn.Dropout(feat_drop)
        self.attn_drop = nn.Dropout(attn_drop)
        self.leaky_relu = nn.LeakyReLU(negative_slope)
        # GATConv's layout: a projecting residual carries the bias; otherwise a separate one.
        project = residual and in_feats != out_feats * num_heads
        self.res_fc: Optional[nn.Module] = None
        if residual:
            self.res_fc = nn.Linear(in_feats, out_feats * num_heads, bias=bias) if project else nn.Identity()
        self.bias = nn.Parameter(torch.empty(num_heads * out_feats)) if bias and not project else None
        self.activation = activation
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-normal weights with the ReLU gain and a zero bias, as ``dgl.nn.GATConv``."""
        gain = nn.init.calculate_gain("relu")
        nn.init.xavier_normal_(self.fc.weight, gain=gain)
        nn.init.xavier_normal_(self.attn_l, gain=gain)
        nn.init.xavier_normal_(self.attn_r, gain=gain)
        if isinstance(self.res_fc, nn.Linear):
            nn.init.xavier_normal_(self.res_fc.weight, gain=gain)
            if self.res_fc.bias is not None:
                nn.init.zeros_(self.res_fc.bias)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(
        self, graph: dgl.DGLGraph, feat: torch.Tensor, get_attention: bool = False
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        with graph.local_scope():
            h = self.feat_drop(feat)                                             # (N, F_in)
            z = self.fc(h).view(-1, self.num_heads, self.out_feats)              # (N, H, C)
            graph.ndata["z"] = z
            graph.ndata["el"] = (z * self.attn_l).sum(dim=-1, keepdim=True)      # (N, H, 1)
            graph.ndata["er"] = (z * self.attn_r).sum(dim=-1, keepdim=True)      # (N, H, 1)
            graph.apply_edges(fn.u_add_v("el", "er", "e"))                     # (E, H, 1)
            if self.attention_norm != "none":
                per_head = self.attention_norm == "lipschitz_per_head"
                graph.ndata["den"] = gat_denominator(graph, z, self.attn_l, self.attn_r, per_head)
                graph.apply_edges(fn.e_div_v("e", "den", "e"))                 # |e| <= 1/4
            scores = self.leaky_relu(graph.edata.pop("e"))                       # (E, H, 1)
            self.record("scores", scores)
            graph.edata["a"] = self.attn_drop(edge_softmax(graph, scores))       # (E, H, 1)
            graph.update_all(fn.u_mul_e("z", "a", "m"), fn.sum("m", "out"))
            out = graph.ndata["out"]                                             # (N, H, C)
            if self.res_fc is not None:
                out = out + self.res_fc(h).view(-1, self.num_heads, self.out_feats)
            if self.bias is not None:
                out = out + self.bias.view(1, self.num_heads, self.out_feats)
            if self.activation is not None:
                out = self.activation(out)
            self.record("output", out)
            if get_attention:
                return out, graph.edata["a"]
            return out
