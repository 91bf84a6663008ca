"""What each model reads and accepts, declared without importing it (no torch, no DGL), so that
``python -m benchmark list`` and ``show`` can describe and check a configuration in well under
the time of importing DGL.

Each built-in model has a :class:`ModelOptions` in :data:`OPTIONS` (next to its declaration in
:mod:`dgl_ma.models.catalog`); the model classes take their ``config_keys`` and their
``check_config`` from it, and the layer modules take their choice names from the tuples below,
so the declaration is the one source. A model registered from user code without options is
described by its class (``config_keys``, ``check_config``), imported on first use.
"""
from dataclasses import dataclass, fields
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from dgl_ma.errors import ConfigError
from dgl_ma.models.catalog import MODELS
from dgl_ma.models.config import ModelConfig

# The ModelConfig fields every model reads.
COMMON_KEYS = ("name", "layers", "hidden", "heads", "dropout", "readout", "norm")
# Names of the choices the layer modules implement (their tables are keyed by exactly these).
FEATURE_NORMS = ("pairnorm", "layernorm")                   # dgl_ma.layers.norms.FEATURE_NORMS
BLOCK_NORMS = ("batchnorm", "layernorm", "none")            # dgl_ma.layers.block.BLOCK_NORMS
EBT_FORMS = ("none", "gnn_ma", "sink")                      # dgl_ma.layers.bias.ExplicitBias
KERNELS = ("diffusion", "random_walk")                      # dgl_ma.models.graphit.KERNELS
READOUTS = ("mean", "sum", "max")                           # dgl_ma.models.heads.READOUTS


def allowed_norms(attention_norms: Sequence[str]) -> List[str]:
    """Every valid ``model.norm`` of a deep stack whose layer has these attention norms: one
    attention norm, one feature norm, or ``attention+feature``."""
    singles = ["none", *attention_norms, *FEATURE_NORMS]
    return singles + [f"{a}+{f}" for a in attention_norms for f in FEATURE_NORMS]


def split_norm(norm: str, model: str, attention_norms: Sequence[str]) -> Tuple[str, Optional[str]]:
    """``"lipschitz+layernorm"`` → ``("lipschitz", "layernorm")``; ``"none"`` → ``("none", None)``."""
    valid = allowed_norms(attention_norms)
    if norm not in valid:
        raise ConfigError(f"model.norm={norm!r} is not available for model {model!r}; choose one of {', '.join(valid)}.")
    attention, feature = "none", None
    for part in norm.split("+"):
        if part in attention_norms:
            attention = part
        elif part in FEATURE_NORMS:
            feature = part
    return attention, feature


@dataclass(frozen=True)
class ModelOptions:
    """``reads``: the ModelConfig fields the model reads (any other ``model.*`` value has no
    effect on it); ``norms``: its ``model.norm`` values; ``kernels``: its ``model.kernel`` values
    (empty: not read); ``ebt``: whether it takes ``model.ebt``."""

    reads: Tuple[str, ...]
    norms: Tuple[str, ...]
    kernels: Tuple[str, ...] = ()
    ebt: bool = False

    def check(self, cfg: ModelConfig) -> None:
        """Raise :class:`ConfigError` for a value this model does not accept (before any run)."""
        if cfg.norm not in self.norms:
            raise ConfigError(f"model.norm={cfg.norm!r} is not available for model {cfg.name!r}; "
                              f"choose one of {', '.join(self.norms)}.")
        if self.kernels and cfg.kernel not in self.kernels:
            raise ConfigError(f"model.kernel={cfg.kernel!r} is not a kernel of model {cfg.name!r}; "
                              f"choose one of {', '.join(self.kernels)}.")
        if self.ebt and cfg.ebt not in EBT_FORMS:
            raise ConfigError(f"model.ebt={cfg.ebt!r} is not an Explicit Bias Term form; choose one of "
                              f"{', '.join(EBT_FORMS)}.")


def _stack(attention_norms: Sequence[str], *extra: str) -> ModelOptions:
    return ModelOptions(COMMON_KEYS + ("residual", "input_dropout") + extra, tuple(allowed_norms(attention_norms)))


def _transformer(*extra: str, kernels: Tuple[str, ...] = ()) -> ModelOptions:
    return ModelOptions(COMMON_KEYS + ("input_dropout",) + extra + ("use_bias", "ebt"), BLOCK_NORMS, kernels, ebt=True)


GAT_ATTENTION_NORMS = ("lipschitz", "lipschitz_per_head")
UNIMP_ATTENTION_NORMS = ("lipschitz",)

OPTIONS: Dict[str, ModelOptions] = {
    "gat": _stack(GAT_ATTENTION_NORMS, "attn_dropout"),
    "unimp": _stack(UNIMP_ATTENTION_NORMS, "attn_dropout"),
    "gcn": _stack(()),
    "gt": _transformer("pos_enc"),
    "graphit": _transformer("kernel", "shared_qk", kernels=KERNELS),
    "graphit_sparse": _transformer("shared_qk"),
    "san": _transformer("pos_enc", "fake_edge_gamma"),
    "san_sparse": _transformer(),
}


class _FromClass:
    """The options of a model registered without a declaration: read off its class."""

    def __init__(self, cls):
        self.cls = cls
        self.reads = tuple(getattr(cls, "config_keys", COMMON_KEYS))

    def check(self, cfg: ModelConfig) -> None:
        check = getattr(self.cls, "check_config", None)
        if check is not None:
            check(cfg)


def model_options(name: str):
    """The options of model ``name`` (a :class:`ConfigError` for an unknown name)."""
    if name not in MODELS:
        raise ConfigError(MODELS.unknown_message(name))
    return OPTIONS[name] if name in OPTIONS else _FromClass(MODELS.get(name))


def readers(key: str) -> List[str]:
    """The registered models that read ``ModelConfig`` field ``key``."""
    return [name for name in MODELS.names() if key in model_options(name).reads]


def unread_keys(model: Mapping[str, object]) -> List[str]:
    """The fields of the ``model`` config group (a mapping, e.g. a record's ``config["model"]``)
    that are set away from their default but not read by model ``model["name"]``: they do not
    change what is trained. Empty for an unknown model name."""
    name = model.get("name")
    if name not in MODELS:
        return []
    reads = model_options(name).reads
    return [f.name for f in fields(ModelConfig)
            if f.name in model and f.name not in reads and model[f.name] != f.default]
