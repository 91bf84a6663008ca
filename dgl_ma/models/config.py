"""Model hyper-parameters (:class:`ModelConfig`). Imports neither torch nor DGL, so that the
command line can check and list the configuration without loading them."""
from dataclasses import dataclass
from typing import Optional

from dgl_ma.errors import ConfigError, check_ranges


@dataclass
class ModelConfig:
    """Hyper-parameters shared by the attention models (nanoGPT-style: one flat dataclass).

    ``hidden`` is the width per head; a layer's output width is ``heads * hidden``.
    ``dropout``: inside the layers (GT, GraphiT, SAN: after the attention and inside the FFN;
    the deep stacks: before every layer); ``input_dropout``: on the input node embedding (GT,
    GraphiT and SAN: the authors' ``in_feat_dropout``, 0 in their configurations; the deep
    stacks: with ``dropout=0``, dropout before the first layer only).
    ``readout`` pools node states for graph-level tasks and is ignored for node tasks.
    ``norm`` selects attention and/or feature normalisation; each model lists its choices.
    ``pos_enc``: number of Laplacian eigenvectors used as positional encoding (0 = none).
    GraphiT: ``kernel`` (diffusion | random_walk) and ``shared_qk`` (keys tied to queries,
    symmetric attention; null = the reference's choice: tied in ``graphit`` as GraphiT's code,
    separate in ``graphit_sparse`` as the MA paper's).
    SAN: ``fake_edge_gamma``, the weight γ of attention over non-edges (real edges 1/(1+γ)).
    GT, GraphiT, SAN: ``ebt`` (none | gnn_ma | sink), the Explicit Bias Term, and ``use_bias``,
    the biases of the Q/K/V/edge projections — two separate switches.
    """

    name: str = "gat"
    layers: int = 2
    hidden: int = 8
    heads: int = 4
    dropout: float = 0.0
    input_dropout: float = 0.0
    attn_dropout: float = 0.0
    residual: bool = False
    readout: str = "mean"
    norm: str = "none"
    pos_enc: int = 0
    kernel: str = "random_walk"
    shared_qk: Optional[bool] = None
    fake_edge_gamma: float = 0.1
    ebt: str = "none"
    use_bias: bool = False

    def __post_init__(self):
        check_ranges("model", self, [
            ("layers", self.layers >= 1, "at least 1"),
            ("hidden", self.hidden >= 1, "at least 1 (features per head)"),
            ("heads", self.heads >= 1, "at least 1"),
            *((key, 0.0 <= getattr(self, key) < 1.0, "in [0, 1)") for key in ("dropout", "input_dropout", "attn_dropout")),
            ("fake_edge_gamma", self.fake_edge_gamma >= 0, ">= 0"),
            ("pos_enc", self.pos_enc >= 0, ">= 0 (0 = no positional encoding)"),
        ])
        if self.readout not in ("mean", "sum", "max"):
            raise ConfigError(f"model.readout must be one of mean, sum, max; got {self.readout!r}.")
