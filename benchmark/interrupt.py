"""Ctrl-C and SIGTERM at any moment of a command, start-up included: one line on stderr and
the shell's usual exit code (130, 143), never a traceback. Records already written stay: a
record is renamed into place only when complete (see :mod:`benchmark.results`)."""
import signal
import sys
from typing import Callable

INTERRUPTED_EXIT = 130  # 128 + SIGINT
TERMINATED_EXIT = 143   # 128 + SIGTERM
KEPT = "Records already written are kept; re-run the same command to finish a sweep."


class Terminated(SystemExit):
    """Raised in the main thread by the SIGTERM handler, so that ``finally`` blocks run."""


def _on_sigterm(signum, frame):
    raise Terminated(TERMINATED_EXIT)


def install() -> None:
    """Turn SIGTERM into :class:`Terminated` (the default would end the process silently)."""
    signal.signal(signal.SIGTERM, _on_sigterm)


def guarded(command: Callable[[], int]) -> int:
    """Run ``command``; Ctrl-C → message and 130, SIGTERM (after :func:`install`) → message and 143."""
    try:
        return command()
    except KeyboardInterrupt:
        print(f"\ninterrupted (Ctrl-C). {KEPT}", file=sys.stderr)
        return INTERRUPTED_EXIT
    except Terminated:
        print(f"\nterminated (SIGTERM). {KEPT}", file=sys.stderr)
        return TERMINATED_EXIT
