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


def warn(message: str) -> None:
    """One line ``warning: …`` on stderr, once per distinct message and process."""
    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr)
