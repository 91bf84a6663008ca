"""Suite definitions: YAML files in ``suites/`` (or any path given as ``suite=path.yaml``).

A suite file has these top-level keys (``claims`` optional, see :mod:`benchmark.paper_claims`)::

    description: one line shown by `python -m benchmark list`
    config:        # overrides of the defaults, nested like the schema
      model: {name: gat, hidden: 8}
      seeds: [0, 1, 2]
    grid:          # dotted key -> list of values; the runs are the cartesian product × seeds
      model.layers: [2, 4]
      data.name: [csbm, minigc]
      model:       # a group key takes mappings: values that only make sense together
        - {name: gat, norm: lipschitz}
        - {name: gcn, norm: none}
      depth:       # a linked axis (any name that is not a config key): mappings of dotted keys
        - {model.layers: 2, train.epochs: 1000}     # of any groups, set together
        - {model.layers: 8, train.epochs: 2500}
    leaderboard:
      metrics: [test, val]   # first one sorts the table; see benchmark.leaderboard.METRIC_COLUMNS
      aggregate_over: [data.fold]   # optional: keys averaged like seeds (cross-validation folds)
      pivot: [model.layers]         # optional: pivot views (that key's values as columns) in the report
    claims:        # optional: the papers' claims these runs test, for `python -m benchmark verdicts`
      - {name: ln-deep, claim: ..., a: {model.norm: lipschitz}, b: {model.norm: none}, by: [model.layers]}
"""
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from benchmark.config import check_key, flatten
from dgl_ma.errors import ConfigError, warn

SUITES_ENV = "DGL_MA_SUITES"
SUITE_KEYS = ("description", "config", "grid", "leaderboard", "claims")
DEFAULT_METRICS = ("test", "val")   # the leaderboard columns of a suite that names none
LEADERBOARD_KEYS = ("metrics", "aggregate_over", "pivot")


@dataclass
class Suite:
    name: str
    path: Path
    description: str = ""
    config: Dict[str, Any] = field(default_factory=dict)   # flat dotted keys
    grid: Dict[str, List[Any]] = field(default_factory=dict)
    linked: List[str] = field(default_factory=list)         # grid axes of dotted-key mappings
    metrics: List[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    aggregate_over: List[str] = field(default_factory=list)
    pivot: List[str] = field(default_factory=list)          # keys the report shows as pivot views
    claims: List[Any] = field(default_factory=list)         # benchmark.paper_claims.PaperClaim


class OfSuite:
    """For a results folder read with its suite definition when there is one (``self.suite``,
    None when its suite file is not known here): the leaderboard columns and the keys averaged
    like seeds, the defaults without a definition."""

    suite: Optional[Suite]

    @property
    def metrics(self) -> List[str]:
        return self.suite.metrics if self.suite else list(DEFAULT_METRICS)

    @property
    def over(self) -> List[str]:
        return self.suite.aggregate_over if self.suite else []


def suites_dir() -> Path:
    """``$DGL_MA_SUITES``, else the ``suites/`` folder of this repository."""
    env = os.environ.get(SUITES_ENV)
    return Path(env) if env else Path(__file__).resolve().parent.parent / "suites"


def suite_names() -> List[str]:
    return sorted(p.stem for p in suites_dir().glob("*.yaml"))


def load_suite(name: str) -> Suite:
    """Load a suite by name (``suites/<name>.yaml``) or by path to a YAML file."""
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        path = suites_dir() / f"{name}.yaml"
        if not path.exists():
            raise ConfigError(
                f"Unknown suite {name!r}. Available suites: {', '.join(suite_names()) or 'none'} "
                f"(in {suites_dir()}). Pass suite=NAME, or suite=path/to/file.yaml for your own."
            )
    elif not path.exists():
        raise ConfigError(f"Suite file {path} does not exist.")
    elif path.stem in suite_names() and path.resolve() != (suites_dir() / f"{path.stem}.yaml").resolve():
        warn(f"the suite file {path} is named like the built-in suite {path.stem!r}: its records go to the same "
             f"folder <output.dir>/{path.stem} and mix with the built-in suite's. Rename the file to keep them apart.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"Suite file {path} is not valid YAML: {err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"Suite file {path} is not UTF-8 text ({err.reason} at byte {err.start}); "
                          f"save it as UTF-8.") from None
    except OSError as err:
        what = "is a directory, not a YAML file" if path.is_dir() else f"cannot be read ({err.strerror})"
        raise ConfigError(f"Suite file {path} {what}. Pass suite=NAME or suite=path/to/file.yaml.") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"Suite file {path} must be a mapping with keys {', '.join(SUITE_KEYS)}.")
    unknown = set(raw) - set(SUITE_KEYS)
    if unknown:
        raise ConfigError(f"Suite file {path}: unknown top-level keys {sorted(unknown)}; allowed: {', '.join(SUITE_KEYS)}.")
    suite = Suite(name=path.stem, path=path, description=str(raw.get("description", "")))
    suite.config = flatten(_mapping(raw, "config", path))
    for key in suite.config:
        check_key(key)
    for key, values in _mapping(raw, "grid", path).items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"Suite file {path}: grid.{key} must be a non-empty list, got {values!r}.")
        if _is_linked_axis(key, values):
            for entry in values:
                for inner in entry:
                    check_key(inner)
            suite.linked.append(key)
        else:
            check_key(key)
        suite.grid[key] = values
    board = _mapping(raw, "leaderboard", path)
    if set(board) - set(LEADERBOARD_KEYS):
        raise ConfigError(f"Suite file {path}: leaderboard allows only {', '.join(LEADERBOARD_KEYS)}.")
    if "metrics" in board:
        from benchmark.leaderboard import check_metric_columns

        suite.metrics = check_metric_columns(board["metrics"], str(path))
    for key in board.get("aggregate_over") or []:
        check_key(key)
        suite.aggregate_over.append(key)
    pivots = board.get("pivot") or []
    if not isinstance(pivots, list):
        raise ConfigError(f"Suite file {path}: leaderboard.pivot must be a list of config keys, e.g. [model.layers].")
    for key in pivots:
        check_key(key)
        suite.pivot.append(key)
    if raw.get("claims") is not None:
        from benchmark.paper_claims import parse_claims

        suite.claims = parse_claims(raw["claims"], path)
    return suite


def _is_linked_axis(key: str, values: List[Any]) -> bool:
    """A grid axis whose name is not a config key and whose values are all mappings of dotted
    keys (``{model.layers: 8, train.epochs: 2500}``): the keys of one entry are set together."""
    try:
        check_key(key)
        return False
    except ConfigError:
        return all(isinstance(v, dict) and v and all("." in str(k) for k in v) for v in values)


def _mapping(raw: Dict[str, Any], key: str, path: Path) -> Dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"Suite file {path}: {key!r} must be a mapping, got {value!r}.")
    return value
