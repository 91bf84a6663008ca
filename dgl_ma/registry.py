"""Named registries (models, datasets, metrics) with one-line descriptions.

A registry maps a name to an object and a description, so that ``python -m benchmark list``
can show what exists and a typo produces an error that names the valid choices. Built-in entries
are *declared* by import path (``"package.module:attribute"``): listing, describing and checking
names imports nothing, and the module (with torch and DGL) is imported by the first ``get``.

Example:
    >>> from dgl_ma.registry import Registry
    >>> shapes = Registry("shape")
    >>> @shapes.register("square", "four equal sides")
    ... def square(a):
    ...     return a * a
    >>> shapes.get("square")(3)
    9
    >>> shapes.declare("sqrt", "math:sqrt", "square root, imported on first use")
    >>> shapes.get("sqrt")(9)
    3.0
"""
import difflib
import importlib
from typing import Callable, Dict, Generic, List, Tuple, TypeVar, Union

from dgl_ma.errors import ConfigError

T = TypeVar("T")


class _Declared(str):
    """An entry not imported yet: its ``"module:attribute"`` path."""


def import_target(path: str):
    """The attribute a ``"package.module:attribute"`` path names (importing its module)."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: Dict[str, Tuple[Union[T, _Declared], str]] = {}

    def register(self, name: str, description: str) -> Callable[[T], T]:
        """Decorator that registers its target under ``name``."""

        def wrap(obj: T) -> T:
            self.add(name, obj, description)
            return obj

        return wrap

    def add(self, name: str, obj: T, description: str) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = (obj, description)

    def declare(self, name: str, target: str, description: str) -> None:
        """Register ``target`` (``"package.module:attribute"``) under ``name`` without importing it."""
        if ":" not in target:
            raise ValueError(f"{self.kind} {name!r}: target {target!r} is not 'module:attribute'")
        self.add(name, _Declared(target), description)

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise ConfigError(self.unknown_message(name))
        obj, description = self._entries[name]
        if isinstance(obj, _Declared):
            obj = import_target(obj)
            self._entries[name] = (obj, description)
        return obj

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(str(name), self.names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return (
            f"Unknown {self.kind} {name!r}.{hint} Valid {self.kind}s: {', '.join(self.names())}. "
            f"`python -m benchmark list` describes each."
        )

    def names(self) -> List[str]:
        return sorted(self._entries)

    def describe(self) -> List[Tuple[str, str]]:
        return [(name, self._entries[name][1]) for name in self.names()]

    def __contains__(self, name: str) -> bool:
        return name in self._entries
