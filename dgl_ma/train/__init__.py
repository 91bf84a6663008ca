"""Training: seeding and the engine shared by node and graph tasks."""
from dgl_ma.train.engine import TrainConfig, TrainResult, fit
from dgl_ma.train.seeding import seed_everything

__all__ = ["TrainConfig", "TrainResult", "fit", "seed_everything"]
