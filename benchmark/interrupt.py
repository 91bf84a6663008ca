"""Ctrl-C and SIGTERM at any moment of a command, start-up included: one line on stderr and
the shell's usual exit code (130, 143), never a traceback. (From the first line of
``benchmark/__main__.py`` on; in the first few hundredths of a second Python itself is still
starting and answers Ctrl-C with its own traceback.) Records already written stay: a
record is renamed into place only when complete (see :mod:`benchmark.results`)."""
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, List

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


@contextmanager
def held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while the block runs, then deliver them to their usual handlers.

    For imports of compiled extensions (torch, DGL): torch runs Python code from C++ (pybind11)
    while it imports, and a ``KeyboardInterrupt`` raised there either aborts the process
    (``std::terminate``, exit -6) or leaves CPython's "unhandled Ctrl-C" mark set, so that the
    process kills itself with SIGINT (exit -2) whatever it returns. Held, the signal only sets a
    flag; after the block it is re-raised and becomes the usual ``KeyboardInterrupt`` or
    :class:`Terminated` at a point where Python code runs. Signals can only be caught in the main
    thread; elsewhere the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: List[int] = []
    kinds = (signal.SIGINT, signal.SIGTERM)
    previous = {kind: signal.signal(kind, lambda signum, frame: caught.append(signum)) for kind in kinds}
    try:
        yield
    finally:
        for kind, handler in previous.items():
            signal.signal(kind, handler)
        for kind in dict.fromkeys(caught):
            signal.raise_signal(kind)


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
