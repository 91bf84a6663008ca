"""Errors a user can cause. The CLI turns each into one paragraph on stderr and exit code 2.
:func:`warn` reports a problem that does not stop the command."""
import sys

_warned = set()


class UserError(Exception):
    """Something the user can fix: a bad name, value, file or missing data."""

    exit_code = 2


class ConfigError(UserError):
    """An unknown key, a wrong type or an out-of-range value in a configuration."""


class DataError(UserError):
    """A dataset that is missing, incomplete or unreadable."""


def check_ranges(group: str, config: object, rules) -> None:
    """Raise a :class:`ConfigError` naming the first ``(field, ok, rule)`` of ``rules`` whose
    ``ok`` is false, with the key and its value: ``train.max_seconds=-1 is out of range: it must
    be >= 0 (0 = no budget).``"""
    for name, ok, rule in rules:
        if not ok:
            value = getattr(config, name)
            if isinstance(value, float) and value.is_integer():
                value = int(value)          # -1 given for a float field reads back as the user wrote it
            raise ConfigError(f"{group}.{name}={value!r} is out of range: it must be {rule}.")


def warn(message: str) -> None:
    """One line ``warning: …`` on stderr, once per distinct message and process."""
    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr)
