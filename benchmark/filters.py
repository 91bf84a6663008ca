"""``where=KEY=VALUE`` filters over run records, shared by ``leaderboard``, ``plot``, ``export``
and ``compare``.

KEY is a dotted config key (checked against the schema like any override, so a typo names the
valid keys); VALUE is parsed with the command line's YAML grammar and typed by the schema, so
``where=train.lr=5e-3`` matches a record whose ``train.lr`` is 0.005. A list value matches any of
its items (``where=model.layers=[2,4]``). Several ``where=`` are combined with AND; give each key
once. A record written before a key existed has that key's default.

Example:
    >>> from benchmark.filters import parse_where, select
    >>> where = parse_where(["model.name=gat", "model.layers=[2,4]"])
    >>> where
    {'model.name': ['gat'], 'model.layers': [2, 4]}
    >>> rec = {"config": {"model": {"name": "gat", "layers": 4}}}
    >>> [r is rec for r in select([rec], where)]
    [True]
"""
import dataclasses
import typing
from typing import Any, Dict, Iterable, List, Mapping, Tuple

from omegaconf import OmegaConf

from benchmark.config import check_key, defaults, flat_defaults, flatten, merge, parse_value
from dgl_ma.errors import ConfigError

PREFIX = "where="


def split_where(args: Iterable[str]) -> Tuple[List[str], List[str]]:
    """Command-line words → ``(other words, [KEY=VALUE of each where=])``."""
    rest, where = [], []
    for arg in args:
        if arg.startswith(PREFIX):
            where.append(arg[len(PREFIX):])
        else:
            rest.append(arg)
    return rest, where


def _typed(key: str, value: Any) -> Any:
    """``value`` converted to the schema type of ``key`` (a ConfigError naming both when it cannot be)."""
    node = OmegaConf.select(merge(defaults(), {key: value}, f"where={key}=..."), key)
    return OmegaConf.to_container(node) if OmegaConf.is_config(node) else node


def parse_where(texts: Iterable[str]) -> Dict[str, List[Any]]:
    """``["model.name=gat", "model.layers=[2,4]"]`` → ``{"model.name": ["gat"], "model.layers": [2, 4]}``:
    each key checked against the schema, each value typed by it."""
    where: Dict[str, List[Any]] = {}
    for text in texts:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"where= takes KEY=VALUE, e.g. where=model.name=gat; got where={text}.")
        tp = check_key(key)
        if dataclasses.is_dataclass(tp):
            raise ConfigError(f"where={text}: {key!r} is a group of keys; name one of them, e.g. where={key}.name=...")
        if key in where:
            raise ConfigError(f"where= names {key} twice; give it once, with a list for several values "
                              f"(where={key}=[a,b]).")
        value = parse_value(raw)
        is_list_key = typing.get_origin(tp) in (list, List)
        values = value if isinstance(value, list) and not is_list_key else [value]
        where[key] = [_typed(key, v) for v in values]
    return where


def matches(record: Mapping[str, Any], where: Mapping[str, List[Any]]) -> bool:
    """Whether the record's config (defaults filled in) has one of the values of every key."""
    if not where:
        return True
    flat = {**flat_defaults(), **flatten(record.get("config") or {})}
    return all(flat.get(key) in values for key, values in where.items())


def select(records: Iterable[Dict[str, Any]], where: Mapping[str, List[Any]]) -> List[Dict[str, Any]]:
    """The records that match every ``where`` key (all of them when ``where`` is empty)."""
    return [record for record in records if matches(record, where)]


def describe(where: Mapping[str, List[Any]]) -> str:
    """``"model.name=gat, model.layers in [2, 4]"`` for messages and headings."""
    return ", ".join(f"{k}={v[0]}" if len(v) == 1 else f"{k} in {v}" for k, v in where.items())
