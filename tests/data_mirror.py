"""The offline data mirror for real-data tests (``DGL_MA_MIRROR``, laid out like ``shared/data``).

``MIRROR`` is read once, at import: some fixtures unset the variable to make a load hermetic and
then pass the mirror explicitly. :func:`real_mirror` skips the calling test, with the reason,
when the mirror is not set or lacks one of the paths the test needs.
"""
import os
from pathlib import Path

import pytest

MIRROR = os.environ.get("DGL_MA_MIRROR")


def real_mirror(*needed: str) -> Path:
    """The mirror's root; skips the test when it is not set or lacks any of ``needed``
    (paths relative to the root)."""
    if not MIRROR:
        pytest.skip("DGL_MA_MIRROR is not set: no offline data mirror to load the real datasets from")
    for rel in needed:
        if not (Path(MIRROR) / rel).exists():
            pytest.skip(f"the mirror {MIRROR} has no {rel}")
    return Path(MIRROR)
