"""Mid-run checkpoints: everything the training loop carries from one epoch to the next, in one
file per run, written atomically, so that a run interrupted at any moment (Ctrl-C, SIGKILL, a
Slurm time limit, a dead node) resumes where its last checkpoint left it and finishes with the
record it would have had without the interruption (on CPU; timing fields aside).

A checkpoint holds the model, optimiser and scheduler states, the loop's bookkeeping (best epoch
and its scores, the best-state weights when they are kept, the early-stopping counter, history,
diagnostics, epoch, seconds spent) and the random-number states of Python, NumPy and torch (CPU,
CUDA, and the data loader's shuffle generator). DGL exposes no way to read its generator's state,
so the engine reseeds DGL at the start of every epoch from ``(seed, epoch)``: its draws are then
a function of the epoch, identical with and without an interruption.

Example::

    >>> ckpt = Checkpointer("results/quickstart/abc123.ckpt.pt", every=5)
    >>> result = fit(model, task, cfg, seed=0, checkpoint=ckpt)   # resumes if the file exists
"""
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np
import torch

FORMAT = 1


def rng_state(generator: Optional[torch.Generator] = None) -> Dict[str, Any]:
    """The states of every generator a training epoch draws from."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
             "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
             "loader": generator.get_state() if generator is not None else None}
    return state


def set_rng_state(state: Dict[str, Any], generator: Optional[torch.Generator] = None) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None and state["loader"] is not None:
        generator.set_state(state["loader"])


class Checkpointer:
    """One run's checkpoint file. ``every``: epochs between checkpoints (0 = never);
    ``min_seconds``: a due checkpoint is skipped when fewer seconds of training passed since the
    last one (short runs then write none; 0 = every ``every`` epochs strictly). ``force()`` makes
    the next epoch end write one whatever the interval (used by a preemption signal)."""

    def __init__(self, path: Union[str, Path], every: int = 5, min_seconds: float = 0.0):
        self.path = Path(path)
        self.every = every
        self.min_seconds = min_seconds
        self._last = time.perf_counter()
        self._forced = False
        self.resumed_from: Optional[int] = None   # the epoch a resumed run started after

    def force(self) -> None:
        self._forced = True

    def due(self, epoch: int) -> bool:
        if self._forced:
            return True
        if not self.every or epoch % self.every:
            return False
        return time.perf_counter() - self._last >= self.min_seconds

    def load(self, map_location: Union[str, torch.device] = "cpu") -> Optional[Dict[str, Any]]:
        """The saved state, or None when there is none. An unreadable file (a disk that filled up
        while it was written cannot produce one: writes are atomic) is reported, not ignored."""
        if not self.path.exists():
            return None
        state = torch.load(self.path, map_location=map_location, weights_only=False)
        if state.get("format") != FORMAT:
            raise ValueError(f"checkpoint {self.path} has format {state.get('format')}, expected {FORMAT}")
        self.resumed_from = state["loop"]["epoch"]
        return state

    def save(self, state: Dict[str, Any]) -> None:
        """Write ``state`` atomically (temporary file in the same folder, fsync, rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                torch.save({"format": FORMAT, **state}, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._last = time.perf_counter()
        self._forced = False

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
