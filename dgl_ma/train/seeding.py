"""One call that seeds every random number generator a run touches."""
import random

import dgl
import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, PyTorch (CPU and CUDA) and DGL's own generator."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    dgl.seed(seed)
