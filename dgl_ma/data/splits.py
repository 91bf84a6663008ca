"""Seeded stratified splits (scikit-learn) and boolean split masks."""
from typing import Tuple

import numpy as np
import torch
from sklearn.model_selection import train_test_split


def stratified_split(labels: np.ndarray, seed: int, val: float = 0.2, test: float = 0.2) -> Tuple[np.ndarray, ...]:
    """Indices ``(train, val, test)`` with class proportions kept, reproducible from ``seed``."""
    index = np.arange(len(labels))
    rest, test_idx = train_test_split(index, test_size=test, stratify=labels, random_state=seed)
    train_idx, val_idx = train_test_split(
        rest, test_size=val / (1.0 - test), stratify=labels[rest], random_state=seed
    )
    return np.sort(train_idx), np.sort(val_idx), np.sort(test_idx)


def index_mask(n: int, index: np.ndarray) -> torch.Tensor:
    mask = torch.zeros(n, dtype=torch.bool)
    mask[torch.as_tensor(index)] = True
    return mask
