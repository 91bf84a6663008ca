"""Expand a suite and command-line overrides into the list of runs, each with a stable id.

A run is one grid point and one seed. Its id is a hash of the resolved configuration that
determines the result (see :func:`benchmark.config.identity`) and the seed, so the same
command finds the same ids again (resume) and any change of a value gives a new id.
"""
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

from omegaconf import DictConfig, OmegaConf

from benchmark.config import RunConfig, defaults, identity, merge, to_run_config
from benchmark.suites import Suite
from dgl_ma.errors import ConfigError
from dgl_ma.models.options import readers, unread_keys


def stable_hash(obj: Any, length: int = 12) -> str:
    """Hex digest of the canonical JSON of ``obj`` (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


@dataclass
class Run:
    run_id: str
    config_id: str
    seed: int
    point: Dict[str, Any]          # the grid values of this run
    config: RunConfig               # instantiated, validated
    resolved: Dict[str, Any]        # full nested config (what is stored in the record)


@dataclass
class Plan:
    suite: Suite
    base: DictConfig
    grid: Dict[str, List[Any]]
    runs: List[Run]
    output_dir: Path


def record_ids(record: Dict[str, Any]) -> "tuple[str, str]":
    """``(run_id, config_id)`` of a stored record under the current identity scheme."""
    ident = identity(record["config"])
    return stable_hash({"config": ident, "seed": record["seed"]}), stable_hash(ident)


def _select_linked(axis: str, entries: List[Dict[str, Any]], fixed: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The entries of a linked axis that match the command-line values of their keys (a list
    value: any of its values); with no match, one empty entry when the command line sets every
    key that varies along the axis (its values then apply), else a :class:`ConfigError`. Keys
    given as lists are consumed here (removed from ``fixed``)."""
    keys = [k for k in fixed if any(k in entry for entry in entries)]
    if not keys:
        return entries
    wanted = {k: fixed[k] if isinstance(fixed[k], list) else [fixed[k]] for k in keys}
    chosen = [e for e in entries if all(k not in e or e[k] in wanted[k] for k in keys)]
    if chosen:
        for k in keys:
            if isinstance(fixed[k], list):
                del fixed[k]
        return chosen
    varying = {k for entry in entries for k in entry if len({json.dumps(e.get(k), default=str) for e in entries}) > 1}
    if varying <= set(keys) and not any(isinstance(fixed[k], list) for k in keys):
        return [{}]
    values = ", ".join(sorted({str(e.get(keys[0])) for e in entries}))
    raise ConfigError(
        f"{keys[0]}={fixed[keys[0]]!r} matches no entry of the suite's linked grid axis {axis!r} ({keys[0]}: {values}); "
        f"its entries set {', '.join(sorted(varying))} together. Pick listed values, or give every one of those keys "
        f"on the command line.")


def expand(suite: Suite, overrides: Dict[str, Any]) -> Plan:
    """defaults ← suite config ← grid point ← command line, for every grid point × seed.

    A command-line value for a key that the grid sweeps replaces that axis (a list sets the
    axis values, a scalar fixes it); any other command-line value wins over the grid's values,
    including keys inside a group axis (``model.norm=lipschitz`` when the grid sweeps ``model``).
    A command-line value for a key of a linked axis (``depth: [{model.layers: 2, train.epochs:
    1000}, ...]``) selects the entries with that value (``model.layers=8`` runs depth 8 with its
    own epochs)."""

    grid = dict(suite.grid)
    fixed = {}
    for key, value in overrides.items():
        if key in grid and key not in suite.linked:
            grid[key] = value if isinstance(value, list) else [value]
            for item in grid[key]:
                merge(defaults(), {key: item}, "the command line")
        else:
            fixed[key] = value
    for axis in suite.linked:
        grid[axis] = _select_linked(axis, grid[axis], fixed)
    for key, values in grid.items():
        if not values:
            raise ConfigError(f"{key}=[] leaves the grid axis {key} without values, so nothing would run. "
                              f"Give at least one value, e.g. {key}={suite.grid[key][:1]}.")
    suite_base = merge(defaults(), suite.config, f"suite {suite.name}")
    base = merge(suite_base, fixed, "the command line")  # validated as part of each grid point below
    runs: Dict[str, Run] = {}  # keyed by id: a value listed twice in the grid runs once
    unread_everywhere = None  # model keys set away from their default that no run's model reads
    for values in itertools.product(*grid.values()):
        point = {}
        for key, value in zip(grid.keys(), values):
            point.update(value if key in suite.linked else {key: value})   # linked axes: their dotted keys
        cfg = merge(merge(suite_base, point, f"the grid of suite {suite.name}"), fixed, "the command line")
        run_config = to_run_config(cfg)
        ident = identity(cfg)
        config_id = stable_hash(ident)
        resolved = OmegaConf.to_container(cfg, resolve=True)
        unread = set(unread_keys(resolved["model"]))
        unread_everywhere = unread if unread_everywhere is None else unread_everywhere & unread
        for seed in run_config.seeds:
            run_id = stable_hash({"config": ident, "seed": seed})
            runs.setdefault(run_id, Run(run_id, config_id, seed, point, run_config, resolved))
    if unread_everywhere:
        key = sorted(unread_everywhere)[0]
        models = sorted({run.config.model.name for run in runs.values()})
        raise ConfigError(f"model.{key} has no effect here: it is read only by {', '.join(readers(key))}, and this "
                          f"plan trains {', '.join(models)}. Remove model.{key}, or choose a model that reads it.")
    output_dir = Path(str(base.output.dir)) / suite.name
    return Plan(suite, base, grid, list(runs.values()), output_dir)
