"""Typed run configuration: defaults ← suite YAML ← command line, validated by OmegaConf.

The schema is :class:`RunConfig` (dataclasses, used as an OmegaConf structured config). Every
dotted key is checked against the schema before merging, so a typo names the valid keys; a wrong
type names the expected one; range checks live in each dataclass's ``__post_init__``.
"""
import dataclasses
import difflib
import functools
import re
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from dgl_ma.analysis.config import AnalysisConfig
from dgl_ma.data import DATASETS, DataConfig
from dgl_ma.errors import ConfigError
from dgl_ma.models import ModelConfig
from dgl_ma.models.options import model_options, unread_keys
from dgl_ma.train.config import TrainConfig


SAVE_MODEL = ("none", "best", "final", "both")
LAUNCHERS = ("local", "slurm", "ray")


@dataclass
class OutputConfig:
    """Records go to ``<dir>/<suite>/<run id>.json``. ``save_model`` keeps trained weights next to
    the record: ``<run id>.best.pt`` (best-validation epoch) and/or ``<run id>.final.pt``."""

    dir: str = "results"
    save_model: str = "none"

    def __post_init__(self):
        if self.save_model not in SAVE_MODEL:
            raise ConfigError(f"output.save_model={self.save_model!r}; choose one of {', '.join(SAVE_MODEL)}.")


@dataclass
class SlurmConfig:
    """Resources of each array task; ``time_min`` is its time limit in minutes, ``mem_gb`` its
    memory, ``gpus_per_task`` GPUs per task (0 = none); ``partition``, ``account``, ``qos`` and
    ``constraint`` go to sbatch as given (null = the cluster's default)."""

    partition: Optional[str] = None
    time_min: int = 60
    cpus_per_task: int = 1
    gpus_per_task: int = 0
    mem_gb: float = 4.0
    runs_per_job: int = 1
    account: Optional[str] = None
    qos: Optional[str] = None
    constraint: Optional[str] = None

    def __post_init__(self):
        if min(self.time_min, self.cpus_per_task, self.runs_per_job) < 1 or self.gpus_per_task < 0 or self.mem_gb <= 0:
            raise ConfigError("slurm.time_min, slurm.cpus_per_task and slurm.runs_per_job must be >= 1, "
                              "slurm.gpus_per_task >= 0 and slurm.mem_gb > 0.")


@dataclass
class RayConfig:
    """Ray resources of each run; ``address`` of the cluster (null = RAY_ADDRESS or a new local one)."""

    address: Optional[str] = None
    num_cpus: float = 1.0
    num_gpus: float = 0.0

    def __post_init__(self):
        if self.num_cpus <= 0 or self.num_gpus < 0:
            raise ConfigError(f"ray.num_cpus must be > 0 and ray.num_gpus >= 0, got {self.num_cpus} and {self.num_gpus}.")


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seeds: List[int] = field(default_factory=lambda: [0, 1, 2])
    output: OutputConfig = field(default_factory=OutputConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    # How the sweep executes (never part of a run's identity): see benchmark/launchers/.
    launcher: str = "local"     # local | slurm | ray
    workers: int = 1            # runs at once
    threads: int = 0            # torch threads per run; 0 = cores / workers (local), slurm.cpus_per_task, ray.num_cpus
    slurm: SlurmConfig = field(default_factory=SlurmConfig)
    ray: RayConfig = field(default_factory=RayConfig)

    def __post_init__(self):
        if self.launcher not in LAUNCHERS:
            raise ConfigError(f"launcher={self.launcher!r}; choose one of {', '.join(LAUNCHERS)}.")
        if self.workers < 1 or self.threads < 0:
            raise ConfigError(f"workers must be >= 1 and threads >= 0 (0 = automatic), got workers={self.workers}, "
                              f"threads={self.threads}.")
        if not self.seeds:
            raise ConfigError("seeds is empty; give at least one, e.g. seeds=[0,1,2].")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds contains duplicates: {self.seeds}.")
        bad = [s for s in self.seeds if not 0 <= s < 2**32]
        if bad:
            raise ConfigError(f"seeds must lie in 0..{2**32 - 1} (the range numpy and scikit-learn accept); "
                              f"got {bad[0]} in seeds={self.seeds}.")
        if not re.fullmatch(r"cpu|cuda(:\d+)?", self.train.device):
            raise ConfigError(f"train.device={self.train.device!r} is not supported: DGL runs on cpu or cuda "
                              f"(cuda:N for the N-th GPU).")
        model_options(self.model.name).check(self.model)
        if self.data.name not in DATASETS:
            raise ConfigError(DATASETS.unknown_message(self.data.name))
        DATASETS.get(self.data.name).check(self.data)


# Keys that say where files live or how the sweep executes, not what is computed: they never
# change a run's identity (nor do the groups in EXECUTION_GROUPS).
LOCATION_KEYS = ("data.root", "data.mirror", "data.download", "output.dir", "seeds", "launcher", "workers",
                 "threads", "train.checkpoint_every", "train.checkpoint_seconds")
EXECUTION_GROUPS = ("output.", "slurm.", "ray.")


def parse_value(text: str) -> Any:
    """A command-line value with OmegaConf's YAML grammar: ``8`` → int, ``[0,1]`` → list, ``null`` → None."""
    try:
        return OmegaConf.to_container(OmegaConf.from_dotlist([f"v={text}"]))["v"]
    except (OmegaConfBaseException, yaml.YAMLError) as err:
        reason = " ".join(str(err).split())
        raise ConfigError(f"Cannot parse the value {text!r} ({reason}). Close every bracket, e.g. [2,4]; "
                          f"quote strings that contain brackets or commas.") from None


def parse_overrides(args: Iterable[str]) -> Dict[str, Any]:
    """``["model.layers=4", "seeds=[0,1]"]`` → ``{"model.layers": 4, "seeds": [0, 1]}``."""
    out: Dict[str, Any] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"Expected key=value, got {arg!r}. Example: python -m benchmark run suite=quickstart model.layers=4"
            )
        out[key.strip()] = parse_value(value)
    return out


def _field_types(cls) -> Dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _type_name(tp: Any) -> str:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) is typing.Union and len(args) == 1:
        return f"{_type_name(args[0])} or null"
    if typing.get_origin(tp) in (list, List):
        return f"list of {_type_name(args[0])}"
    return getattr(tp, "__name__", str(tp))


def check_key(key: str, schema=RunConfig) -> Any:
    """Return the type of dotted ``key`` in ``schema``; a :class:`ConfigError` naming the valid
    keys if it does not exist."""
    node, prefix = schema, ""
    parts = key.split(".")
    for i, part in enumerate(parts):
        types = _field_types(node)
        if part not in types:
            valid = [prefix + name for name in types]
            close = difflib.get_close_matches(prefix + part, valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"Unknown config key {key!r}.{hint} Valid keys here: {', '.join(valid)}.")
        tp = types[part]
        if i < len(parts) - 1:
            if not dataclasses.is_dataclass(tp):
                raise ConfigError(f"Config key {prefix + part!r} is a {_type_name(tp)}, it has no sub-key {key!r}.")
            node, prefix = tp, prefix + part + "."
    return tp


def valid_keys(schema=RunConfig, prefix: str = "") -> List[Tuple[str, str, Any]]:
    """Every leaf key of the schema with its type name and default."""
    rows = []
    defaults = {f.name: f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
                for f in dataclasses.fields(schema)}  # not schema(): RunConfig() would check (import) the model
    for name, tp in _field_types(schema).items():
        if dataclasses.is_dataclass(tp):
            rows += valid_keys(tp, prefix + name + ".")
        else:
            rows.append((prefix + name, _type_name(tp), defaults[name]))
    return rows


def _nest(flat: Mapping[str, Any]) -> Dict[str, Any]:
    nested: Dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def flatten(tree: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """``{"model": {"layers": 2}}`` → ``{"model.layers": 2}`` (lists stay values)."""
    flat: Dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def merge(base: DictConfig, flat: Mapping[str, Any], source: str) -> DictConfig:
    """Merge dotted ``flat`` values from ``source`` (for messages) into ``base``. A mapping value
    for a group key (``model: {name: gcn, norm: none}``) counts as its dotted sub-keys."""
    flat = {k: v for key, value in flat.items()
            for k, v in (flatten(value, f"{key}.") if isinstance(value, Mapping) else {key: value}).items()}
    for key in flat:
        check_key(key)
    try:
        return OmegaConf.merge(base, OmegaConf.create(_nest(flat)))
    except OmegaConfBaseException as err:
        key = re.sub(r"\[\d+\]$", "", getattr(err, "full_key", "") or "")  # seeds[0] -> seeds
        if key not in flat:
            raise ConfigError(f"Invalid value from {source}: {err}") from None
        raise ConfigError(
            f"Config key {key!r} from {source} expects {_type_name(check_key(key))}, got {flat[key]!r}. "
            f"Fix the value (e.g. {key}=...) and run again."
        ) from None


def defaults() -> DictConfig:
    return OmegaConf.structured(RunConfig)


@functools.lru_cache(maxsize=None)
def _flat_defaults() -> Dict[str, Any]:
    return flatten(OmegaConf.to_container(defaults()))


def flat_defaults() -> Dict[str, Any]:
    """The schema defaults as one flat ``{dotted key: value}`` dict (built once per process)."""
    return dict(_flat_defaults())


def to_run_config(cfg: DictConfig) -> RunConfig:
    """Instantiate the dataclasses, which runs every ``__post_init__`` range check."""
    try:
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as err:
        raise ConfigError(f"Invalid configuration: {err}") from None


# Bump when the meaning of an existing key or default changes: every run id changes with it.
# 2: model.shared_qk defaults to the reference's choice (tied in graphit), model.dropout no longer
#    drops the input embedding (model.input_dropout does), MA statistics with the reference's
#    median / eps / gamma sample (issue 11).
IDENTITY_SCHEMA = 2


def identity(cfg: Mapping[str, Any]) -> Dict[str, Any]:
    """What determines a run's result: the resolved configuration's values that differ from the
    schema defaults, minus :data:`LOCATION_KEYS` and the ``model.*`` keys the model does not read
    (:func:`dgl_ma.models.options.unread_keys`), tagged with :data:`IDENTITY_SCHEMA`.

    Leaving defaults out means that adding an option whose default keeps the old behaviour does
    not change the ids of existing runs (their records stay "finished"); leaving unread keys out
    means that ``model.kernel=diffusion`` does not rerun an identical gat."""

    container = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    flat = flatten(container)
    default = flat_defaults()
    unread = {f"model.{key}" for key in unread_keys(container.get("model") or {})}
    kept = {k: v for k, v in sorted(flat.items())
            if k not in LOCATION_KEYS and not k.startswith(EXECUTION_GROUPS) and k not in unread
            and (k not in default or default[k] != v)}
    return {"_schema": IDENTITY_SCHEMA, **kept}
