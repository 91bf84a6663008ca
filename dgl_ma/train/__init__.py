"""Training: seeding and the engine shared by node and graph tasks.

``TrainConfig`` imports neither torch nor DGL; ``TrainResult``, ``fit`` and ``seed_everything``
load the engine (and torch, DGL) when first used.
"""
from dgl_ma.train.config import TrainConfig

__all__ = ["TrainConfig", "TrainResult", "fit", "seed_everything"]


def __getattr__(name: str):
    if name in ("TrainResult", "fit"):
        from dgl_ma.train import engine

        return getattr(engine, name)
    if name == "seed_everything":
        from dgl_ma.train.seeding import seed_everything

        return seed_everything
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
