"""What the analysis of a trained run computes (:class:`AnalysisConfig`) and its published
defaults. Imports neither torch nor DGL, so that the command line can check and list the
configuration without loading them."""
from dataclasses import dataclass, field
from typing import List, Optional

from dgl_ma.errors import ConfigError

# Bini et al. 2024: an attention score is massive when |S| exceeds 1000 × its graph's median |S|;
# the adversarial attack adds Gaussian noise of these standard deviations to the node features.
REL_THRESHOLD = 1000.0
SIGMAS = (0.01, 0.0316, 0.1)


@dataclass
class AnalysisConfig:
    """``massive``: capture each attention layer's ``S`` on the test split (at most ``cap_edges``
    edges) for the base, final and best-validation states, store them next to the record
    (``<run id>.<state>.npz``) and summarise them in the record. ``gamma_elements``: 0 fits the
    gamma law to every finite ratio of the captured edges, as the reference (≈ 70 s per layer
    and state for 50 000 edges × 64 features on one CPU thread); N > 0 to a seeded random
    subsample of N (≈ 1 s for 50 000). ``attack``: run the adversarial
    noise attack (``sigmas``, ``attack_steps`` Adam steps, on the first ``attack_batches`` test
    batches, 0 = all) on the best-validation model."""

    massive: bool = False
    cap_edges: int = 50_000
    rel_threshold: float = REL_THRESHOLD
    abs_threshold: Optional[float] = None
    gamma_elements: int = 0
    attack: bool = False
    sigmas: List[float] = field(default_factory=lambda: list(SIGMAS))
    attack_steps: int = 10
    attack_batches: int = 4

    def __post_init__(self):
        if self.cap_edges < 1 or min(self.attack_steps, self.attack_batches, self.gamma_elements) < 0:
            raise ConfigError("analysis.cap_edges must be >= 1; analysis.attack_steps, attack_batches and "
                              "gamma_elements >= 0.")
        if self.rel_threshold <= 1 or any(s < 0 for s in self.sigmas):
            raise ConfigError("analysis.rel_threshold must exceed 1 and analysis.sigmas must be >= 0.")

    @property
    def enabled(self) -> bool:
        return self.massive or self.attack
