"""What the analysis of a trained run computes (:class:`AnalysisConfig`) and its published
defaults. Imports neither torch nor DGL, so that the command line can check and list the
configuration without loading them."""
from dataclasses import dataclass, field
from typing import List, Optional

from dgl_ma.errors import check_ranges

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
        check_ranges("analysis", self, [
            ("cap_edges", self.cap_edges >= 1, ">= 1"),
            ("attack_steps", self.attack_steps >= 0, ">= 0"),
            ("attack_batches", self.attack_batches >= 0, ">= 0"),
            ("gamma_elements", self.gamma_elements >= 0, ">= 0 (0 = every finite element)"),
            ("rel_threshold", self.rel_threshold > 1, "> 1"),
            ("sigmas", all(s >= 0 for s in self.sigmas), "a list of values >= 0"),
        ])

    @property
    def enabled(self) -> bool:
        return self.massive or self.attack
