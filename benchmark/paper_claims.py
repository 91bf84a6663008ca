"""The published claims a suite tests: the ``claims:`` section of a suite file.

Each entry names one claim of a paper and how the suite's records answer it; ``python -m
benchmark verdicts`` (:mod:`benchmark.verdicts`) turns it into a row of statistics and a verdict::

    claims:
      - name: ln-beats-none-deep                  # letters, digits, '.', '_', '-'
        claim: LipschitzNorm beats no normalisation at depth 16 and 32
        source: Dasoulas et al. 2021, Table 2     # where the paper says it
        a: {model.norm: lipschitz}                # the runs of side A (every value must match)
        b: {model.norm: none}                     # side B; or, instead of b:
        # b_metric: ma_base_max_ratio             #   the same A runs, another column (pairs by run)
        # b_value: 1000                           #   a constant (a one-sample test)
        by: [data.name, model.layers]             # one row per group
        groups: {model.layers: [16, 32]}          # optional: the groups the claim is about
        contrast: {model.layers: [2, 32]}         # optional: per seed, the metric at the first value
                                                  #   minus at the second (e.g. the drop with depth)
        metric: test                              # a leaderboard column (benchmark.leaderboard)
        supports: A better                        # the row verdict that supports the claim (A/B better,
                                                  #   A/B higher for columns without a direction, differs)
        run: "model.hidden=8 train.min_lr=1e-8"   # overrides of `run suite=<this>` that make the runs
        paper_budget: 2 000 epochs per run, 64 features per head

``run`` may be a list of such strings when the study takes several invocations; the verdict
counts how many of their runs have finished, so a partly finished study says so. A claim tested
at several budgets names each (the first is the default; ``verdicts budget=NAME`` picks another)::

        run:
          short: "train.max_seconds=45"           # what fits this machine
          full: ""                                # the suite as shipped (the paper's budget)
"""
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmark.config import check_key, parse_overrides
from dgl_ma.errors import ConfigError

CLAIM_KEYS = ("name", "claim", "source", "a", "b", "b_metric", "b_value", "by", "groups", "contrast", "metric",
              "supports", "run", "paper_budget")
SUPPORTS = ("A better", "B better", "A higher", "B higher", "differs")   # differs: either direction


@dataclass
class PaperClaim:
    name: str
    claim: str
    source: str
    a: Dict[str, Any]
    b: Dict[str, Any] = field(default_factory=dict)
    b_metric: Optional[str] = None
    b_value: Optional[float] = None
    by: List[str] = field(default_factory=list)
    groups: Dict[str, List[Any]] = field(default_factory=dict)
    contrast: Optional[Dict[str, List[Any]]] = None
    metric: str = "test"
    supports: str = "A better"
    # budget name -> override strings, one per `run` invocation ("": a claim with one budget)
    run: Dict[str, List[str]] = field(default_factory=lambda: {"": []})
    paper_budget: str = ""

    @property
    def budgets(self) -> List[str]:
        return list(self.run)

    def _study(self, budget: Optional[str]) -> List[str]:
        return self.run[self.budgets[0] if budget is None else budget]

    def run_overrides(self, budget: Optional[str] = None) -> List[Dict[str, Any]]:
        """The overrides of each ``run`` invocation of a budget (default: the first; one empty
        mapping: the suite as shipped)."""
        return [parse_overrides(shlex.split(text)) for text in self._study(budget)] or [{}]

    def commands(self, suite: str, budget: Optional[str] = None) -> List[str]:
        return [f"python -m benchmark run suite={suite} {text}".rstrip() for text in self._study(budget)] or \
               [f"python -m benchmark run suite={suite}"]


def _selection(value: Any, what: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a mapping of config keys to values, e.g. {{model.norm: lipschitz}}; "
                          f"got {value!r}.")
    for key in value:
        check_key(str(key))
    return {str(k): v for k, v in value.items()}


def _lists(value: Any, what: str) -> Dict[str, List[Any]]:
    return {k: (v if isinstance(v, list) else [v]) for k, v in _selection(value, what).items()}


def parse_claims(raw: Any, path: Path) -> List[PaperClaim]:
    """Validate a suite file's ``claims:`` list (keys, metric columns, overrides) into :class:`PaperClaim`."""
    from benchmark.leaderboard import check_metric_columns

    if not isinstance(raw, list):
        raise ConfigError(f"Suite file {path}: claims must be a list of mappings (see benchmark/paper_claims.py).")
    claims, names = [], set()
    for i, entry in enumerate(raw):
        where = f"Suite file {path}: claims[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a mapping, got {entry!r}.")
        unknown = sorted(set(entry) - set(CLAIM_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown keys {unknown}; allowed: {', '.join(CLAIM_KEYS)}.")
        for required in ("name", "claim", "a"):
            if required not in entry:
                raise ConfigError(f"{where} needs {required}:.")
        name = str(entry["name"])
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name) or name in names:
            raise ConfigError(f"{where}: name {name!r} must be unique and use letters, digits, '.', '_', '-' only.")
        names.add(name)
        if any("|" in str(entry.get(k, "")) for k in ("claim", "source", "paper_budget")):
            raise ConfigError(f"{where} ({name}): claim, source and paper_budget go into Markdown tables, where '|' "
                              f"ends a cell; write it another way (e.g. 'abs(S)').")
        sides = [k for k in ("b", "b_metric", "b_value") if entry.get(k) is not None]
        if len(sides) != 1:
            raise ConfigError(f"{where} ({name}) needs exactly one of b:, b_metric:, b_value:; got {sides or 'none'}.")
        supports = str(entry.get("supports", "A better"))
        if supports not in SUPPORTS:
            raise ConfigError(f"{where} ({name}): supports must be one of {', '.join(SUPPORTS)}; got {supports!r}.")
        runs = entry.get("run") or []
        runs = runs if isinstance(runs, dict) and runs else {"": runs}
        runs = {str(budget): [texts] if isinstance(texts, str) else texts for budget, texts in runs.items()}
        if not all(isinstance(t, list) and all(isinstance(r, str) for r in t) for t in runs.values()) or \
                not all(re.fullmatch(r"[A-Za-z0-9_-]*", b) for b in runs):
            raise ConfigError(f"{where} ({name}): run must be a string of overrides, a list of them, or a mapping of "
                              f"budget names (letters, digits, '_', '-') to either.")
        claim = PaperClaim(
            name=name, claim=str(entry["claim"]), source=str(entry.get("source", "")),
            a=_selection(entry["a"], f"{where}.a"), b=_selection(entry.get("b") or {}, f"{where}.b"),
            b_metric=entry.get("b_metric"), b_value=entry.get("b_value"),
            by=[str(k) for k in entry.get("by") or []], groups=_lists(entry.get("groups") or {}, f"{where}.groups"),
            contrast=_lists(entry["contrast"], f"{where}.contrast") if entry.get("contrast") else None,
            metric=str(entry.get("metric", "test")), supports=supports, run=runs,
            paper_budget=str(entry.get("paper_budget", "")))
        for key in claim.by:
            check_key(key)
        check_metric_columns([claim.metric] + ([claim.b_metric] if claim.b_metric else []), f"{where} ({name})")
        if claim.b_value is not None and not isinstance(claim.b_value, (int, float)):
            raise ConfigError(f"{where} ({name}): b_value must be a number, got {claim.b_value!r}.")
        if claim.contrast is not None and (len(claim.contrast) != 1 or len(next(iter(claim.contrast.values()))) != 2):
            raise ConfigError(f"{where} ({name}): contrast takes one key and two values, e.g. "
                              f"{{model.layers: [2, 32]}}.")
        if claim.contrast and set(claim.contrast) & set(claim.groups):
            raise ConfigError(f"{where} ({name}): the contrast key {next(iter(claim.contrast))} cannot also be "
                              f"restricted by groups:; both of its values are needed.")
        for budget in claim.budgets:  # a typo in a key fails here, not at `verdicts` time
            for overrides in claim.run_overrides(budget):
                for key in overrides:
                    check_key(key)
        claims.append(claim)
    return claims
