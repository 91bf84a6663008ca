"""A/B comparison of two sets of runs of one suite, with a statistical verdict per group.

``a=`` and ``b=`` select runs by configuration values (``model.norm=lipschitz``); ``by=`` keys
(``data.name``, ``model.layers``) split them into groups, one row each. Within a group A and B
runs are paired by seed (and ``data.fold``): with at least two pairs, a paired t-test
(``scipy.stats.ttest_rel``) and a Wilcoxon signed-rank test (``scipy.stats.wilcoxon``) on the
pairs; otherwise Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``) on all runs. Each row
also gets a seeded percentile bootstrap 95 % CI of the mean difference A − B
(``scipy.stats.bootstrap``) and an effect size (Cohen's d_z for pairs, d with the pooled sample
standard deviation otherwise). The t-test p-values of one comparison are adjusted with Holm's
step-down method and the verdict reads the adjusted p in the metric's direction.

Holm's adjustment is written out (:func:`holm`): scipy.stats has none (``false_discovery_control``
is Benjamini–Hochberg) and statsmodels is not a dependency of this project.
"""
import csv
import io
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import stats
from tabulate import tabulate

from benchmark.config import LOCATION_KEYS, check_key, flatten, parse_value
from benchmark.leaderboard import (DEFAULTS, FORMATS, METRIC_COLUMNS, Stat, _column_name, check_format,
                                   check_metric_columns, group_key, higher_is_better)
from dgl_ma.errors import ConfigError, UserError

ALPHA = 0.05
UNIT_KEYS = ("data.fold",)   # with the seed: what makes an A run and a B run a pair
BOOTSTRAP_SEED = 0           # the CI is the same on every invocation
BOOTSTRAP_RESAMPLES = 9999
OPTIONS = ("suite", "a", "b", "by", "metric", "format", "output.dir", "name", "alpha")


@dataclass
class Request:
    """What ``python -m benchmark compare`` was asked for."""

    suite: str
    a: Dict[str, Any]                 # dotted key -> value every A run has
    b: Dict[str, Any]
    by: List[str] = field(default_factory=list)
    metric: str = "test"
    fmt: str = "github"
    out_dir: Path = Path("results")
    name: Optional[str] = None
    alpha: float = ALPHA

    @property
    def folder(self) -> Path:
        return self.out_dir / Path(self.suite).stem

    def table_name(self) -> str:
        """``compare-<name>`` for the files under ``tables/`` (default: from a, b, by, metric)."""
        if self.name:
            return f"compare-{self.name}"
        short = lambda sel: "-".join(f"{k.split('.')[-1]}-{v}" for k, v in sel.items())  # noqa: E731
        name = f"{short(self.a)}-vs-{short(self.b)}"
        name += f"-by-{'-'.join(k.split('.')[-1] for k in self.by)}" if self.by else ""
        name += f"-{self.metric}" if self.metric != "test" else ""
        return "compare-" + re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _split_top_level(text: str) -> List[str]:
    """Split at commas outside brackets: ``a=1,b=[2,3]`` → ``["a=1", "b=[2,3]"]``."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [p.strip() for p in parts + [text[start:]] if p.strip()]


def parse_selection(text: str, label: str) -> Dict[str, Any]:
    """``model.norm=lipschitz,model.layers=2`` → ``{"model.norm": "lipschitz", "model.layers": 2}``;
    every key is checked against the config schema."""
    selection: Dict[str, Any] = {}
    for part in _split_top_level(text):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{label}= takes KEY=VALUE pairs joined by commas, e.g. "
                              f"{label}=model.norm=lipschitz,model.layers=2; got {text!r}.")
        check_key(key.strip())
        selection[key.strip()] = parse_value(value)
    if not selection:
        raise ConfigError(f"{label}= is empty; give KEY=VALUE, e.g. {label}=model.norm=lipschitz.")
    return selection


def parse_request(args: Sequence[str]) -> Request:
    """The command line of ``compare``: ``suite= a= b= [by= ...] [metric=] [format=] [output.dir=]
    [name=] [alpha=]``; ``by=`` may repeat or list keys (``by=data.name,model.layers``)."""
    given: Dict[str, str] = {}
    by: List[str] = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or key not in OPTIONS:
            raise ConfigError(f"compare takes {'=, '.join(OPTIONS)}= only; got {arg!r}. Example: python -m benchmark "
                              f"compare suite=deep_gat a=model.norm=lipschitz b=model.norm=none by=data.name by=model.layers")
        if key == "by":
            by += [k for k in _split_top_level(value.strip().strip("[]"))]
        elif key in given:
            raise ConfigError(f"{key}= is given twice; join several filters with commas ({key}=K1=V1,K2=V2).")
        else:
            given[key] = value
    for required in ("suite", "a", "b"):
        if required not in given:
            raise ConfigError(f"compare needs suite=, a= and b=; {required}= is missing. Example: python -m benchmark "
                              f"compare suite=deep_gat a=model.norm=lipschitz b=model.norm=none by=model.layers")
    for key in by:
        check_key(key)
    metric = given.get("metric", "test")
    check_metric_columns([metric], "metric=")
    fmt = given.get("format", "github")
    check_format(fmt)
    alpha = parse_value(given.get("alpha", str(ALPHA)))
    if not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ConfigError(f"alpha= must be a number between 0 and 1 (exclusive); got {given['alpha']!r}.")
    name = given.get("name")
    if name is not None and not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ConfigError(f"name= becomes a file name: letters, digits, '.', '_' and '-' only; got {name!r}.")
    return Request(suite=given["suite"], a=parse_selection(given["a"], "a"), b=parse_selection(given["b"], "b"),
                   by=list(dict.fromkeys(by)), metric=metric, fmt=fmt, out_dir=Path(given.get("output.dir", "results")),
                   name=name, alpha=float(alpha))


def flat_config(record: Dict[str, Any]) -> Dict[str, Any]:
    """A record's configuration as dotted keys; keys newer than the record take their default."""
    return {**DEFAULTS, **flatten(record["config"])}


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def select(records: List[Dict[str, Any]], selection: Dict[str, Any], label: str, folder: Path) -> List[Dict[str, Any]]:
    """The records whose configuration has every value of ``selection``; a :class:`UserError`
    listing the values that exist when none has."""
    chosen = [r for r, flat in ((r, flat_config(r)) for r in records) if all(flat.get(k) == v for k, v in selection.items())]
    if chosen:
        return chosen
    text = ",".join(f"{k}={_show(v)}" for k, v in selection.items())
    present = {k: sorted({_show(flat_config(r).get(k)) for r in records}) for k in selection}
    missing = [k for k, v in selection.items() if _show(v) not in present[k]]
    what = "; ".join(f"{k} takes {', '.join(present[k])} there" for k in (missing or selection))
    reason = "" if missing else "each value exists, but no run has all of them: "
    raise UserError(f"{label}={text} matches none of the {len(records)} records in {folder}: {reason}{what}.")


Unit = Tuple[Any, ...]


def unit_of(record: Dict[str, Any]) -> Unit:
    flat = flat_config(record)
    return (record["seed"], *[flat.get(k) for k in UNIT_KEYS])


def check_one_configuration(runs: List[Dict[str, Any]], label: str, group: Dict[str, Any]) -> None:
    """A side of one group must be one configuration (seeds and folds aside), or pairing by seed is ambiguous."""
    if len({group_key(r, over=UNIT_KEYS) for r in runs}) <= 1:
        return
    flats = [flat_config(r) for r in runs]
    skip = set(LOCATION_KEYS) | set(UNIT_KEYS)
    differ = sorted(k for k in {k for f in flats for k in f} if k not in skip and not k.startswith("output.")
                    and len({_show(f.get(k)) for f in flats}) > 1)
    where = f" in the group {_group_text(group)}" if group else ""
    raise UserError(f"The {label} runs{where} are several configurations: they differ in {', '.join(differ)}. "
                    f"Add by={differ[0]} (one row per value) or fix it in {label.lower()}=.")


def _group_text(group: Dict[str, Any]) -> str:
    return ",".join(f"{k}={_show(v)}" for k, v in group.items())


@dataclass
class Row:
    """One group's comparison; ``diff``, ``ci`` and ``effect`` are A − B (not oriented by the metric)."""

    group: Dict[str, Any]
    metric_name: str
    higher: Optional[bool]          # metric direction; None: the column has none (e.g. ma_max_ratio)
    a: Stat                         # over the runs the test used
    b: Stat
    pairs: int = 0                  # > 0: the paired path
    diverged: Tuple[int, int] = (0, 0)
    test: str = "—"
    statistic: float = math.nan
    df: float = math.nan            # degrees of freedom of the t-test (Welch–Satterthwaite for Welch)
    p: float = math.nan
    p_wilcoxon: float = math.nan
    diff: float = math.nan
    ci: Tuple[float, float] = (math.nan, math.nan)
    effect: float = math.nan
    effect_name: str = ""
    p_holm: float = math.nan
    p_wilcoxon_holm: float = math.nan
    verdict: str = "too few seeds"


def _difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _bootstrap_ci(data: Tuple[np.ndarray, ...], statistic) -> Tuple[float, float]:
    result = stats.bootstrap(data, statistic, n_resamples=BOOTSTRAP_RESAMPLES, confidence_level=0.95,
                             method="percentile", vectorized=True, random_state=BOOTSTRAP_SEED)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def group_statistics(row: Row, a: Dict[Unit, float], b: Dict[Unit, float]) -> Row:
    """Fill ``row``'s statistics from the metric values of A and B keyed by (seed, fold)."""
    pairs = sorted(set(a) & set(b), key=repr)
    with warnings.catch_warnings():  # constant samples give nan p-values; the row shows them as such
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        if len(pairs) >= 2:
            x, y = np.array([a[u] for u in pairs]), np.array([b[u] for u in pairs])
            d = x - y
            result = stats.ttest_rel(x, y)
            row.a, row.b, row.pairs, row.test = Stat.of(x), Stat.of(y), len(pairs), "paired t"
            row.p_wilcoxon = float(stats.wilcoxon(x, y).pvalue) if np.any(d != 0) else math.nan
            row.diff, row.ci = float(d.mean()), _bootstrap_ci((d,), np.mean)
            row.effect, row.effect_name = float(d.mean() / d.std(ddof=1)), "d_z"
        else:
            x, y = np.array(list(a.values())), np.array(list(b.values()))
            row.a, row.b = Stat.of(x), Stat.of(y)
            if len(x) < 2 or len(y) < 2:
                return row
            result = stats.ttest_ind(x, y, equal_var=False)
            row.test = "Welch t"
            row.diff, row.ci = float(x.mean() - y.mean()), _bootstrap_ci((x, y), _difference)
            pooled = math.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2))
            row.effect, row.effect_name = float(np.divide(row.diff, pooled)), "d"  # ±inf / nan when pooled = 0
    row.statistic, row.df, row.p = float(result.statistic), float(result.df), float(result.pvalue)
    return row


def holm(pvalues: Sequence[float]) -> List[float]:
    """Holm's step-down adjustment: the i-th smallest of m p-values becomes
    ``max_{j <= i} min(1, (m - j + 1) p_(j))``; nan (no test) stays nan and does not count in m."""
    p = np.asarray(pvalues, dtype=float)
    tested = np.flatnonzero(~np.isnan(p))
    adjusted = np.full(p.shape, math.nan)
    running = 0.0
    for rank, i in enumerate(tested[np.argsort(p[tested], kind="stable")]):
        running = max(running, min(1.0, (len(tested) - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def verdict(row: Row, alpha: float) -> str:
    if row.test == "—":
        return "too few seeds"
    if math.isnan(row.p_holm) or row.p_holm >= alpha or row.diff == 0:
        return f"no significant difference at α = {alpha:g}"
    a_larger = row.diff > 0
    if row.higher is None:
        return "A higher" if a_larger else "B higher"
    return "A better" if a_larger == row.higher else "B better"


def metric_values(runs: List[Dict[str, Any]], column: str) -> Dict[Unit, float]:
    """(seed, fold) -> value of the leaderboard ``column`` over the finished (``ok``) runs that have one."""
    ok = [(unit_of(r), METRIC_COLUMNS[column][0](r)) for r in runs if r["status"] == "ok"]
    return {unit: float(v) for unit, v in ok if v is not None and not math.isnan(v)}


def group_runs(a_runs: List[Dict[str, Any]], b_runs: List[Dict[str, Any]], by: Sequence[str]
               ) -> List[Tuple[Dict[str, Any], List[Dict[str, Any]], List[Dict[str, Any]]]]:
    """``(group, A runs, B runs)`` for each value of the ``by`` keys among the runs, in order."""
    groups: Dict[str, Tuple[Dict[str, Any], List[Dict[str, Any]], List[Dict[str, Any]]]] = {}
    for side, runs in ((1, a_runs), (2, b_runs)):
        for record in runs:
            flat = flat_config(record)
            group = {k: flat.get(k) for k in by}
            groups.setdefault(json.dumps(group, sort_keys=True, default=str), (group, [], []))[side].append(record)
    return sorted(groups.values(), key=lambda item: [(str(type(v)), v) for v in item[0].values()])


def adjust(rows: List[Row], alpha: float) -> None:
    """Holm's adjustment of the t-test and Wilcoxon p-values across ``rows``, then each row's verdict."""
    for attr in ("p", "p_wilcoxon"):
        for row, adjusted in zip(rows, holm([getattr(r, attr) for r in rows])):
            setattr(row, attr + "_holm", adjusted)
    for row in rows:
        row.verdict = verdict(row, alpha)


def _row(request: Request, group: Dict[str, Any], a_runs: List[Dict[str, Any]], b_runs: List[Dict[str, Any]]) -> Row:
    """One group's statistics from its A and B records (finished runs with a value of the metric)."""
    check_one_configuration(a_runs, "A", group)
    check_one_configuration(b_runs, "B", group)
    described = [r["metric"] for r in a_runs + b_runs if "metric" in r]
    from_record = METRIC_COLUMNS[request.metric][1] == "metric"   # test/val: the dataset's own metric
    names = {m.get("name") for m in described}
    if from_record and len(names) > 1:
        raise UserError(f"A and B{' in ' + _group_text(group) if group else ''} are measured in different metrics "
                        f"({', '.join(sorted(map(str, names)))}); add by=data.name or select one dataset.")
    metric = described[0] if described else {}
    values = [metric_values(runs, request.metric) for runs in (a_runs, b_runs)]
    row = Row(group=group, metric_name=metric.get("name", "?") if from_record else request.metric,
              higher=higher_is_better(request.metric, metric), a=Stat.of([]), b=Stat.of([]),
              diverged=tuple(sum(r["status"] == "diverged" for r in runs) for runs in (a_runs, b_runs)))
    return group_statistics(row, *values)


def compare(records: List[Dict[str, Any]], request: Request) -> List[Row]:
    """One :class:`Row` per value of the ``by`` keys found among the A and B runs, with Holm's
    adjustment across the rows and a verdict each."""
    folder = request.folder
    if not records:
        raise UserError(f"No result records under {folder}. Run `python -m benchmark run suite={request.suite}` "
                        f"first, or pass output.dir=PATH.")
    a_runs = select(records, request.a, "a", folder)
    b_runs = select(records, request.b, "b", folder)
    both = {r["run_id"] for r in a_runs} & {r["run_id"] for r in b_runs}
    if both:
        raise UserError(f"a= and b= both match {len(both)} run(s) (e.g. {sorted(both)[0]}): A and B must be disjoint. "
                        f"Add the key that tells them apart to each, e.g. a=model.norm=lipschitz b=model.norm=none.")
    rows = [_row(request, group, a_group, b_group) for group, a_group, b_group in group_runs(a_runs, b_runs, request.by)]
    if not any(row.a.n or row.b.n for row in rows):
        raise UserError(f"No finished A or B run has a value of {request.metric} (runs without it: diverged, failed, "
                        f"or without the analysis that produces it, e.g. analysis.massive for ma_*, analysis.attack "
                        f"for gain@*, train.diagnostics_every for init_*).")
    adjust(rows, request.alpha)
    return rows


def fmt_num(x: float, digits: int = 4) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:.{digits}g}"


def fmt_n(row: Row) -> str:
    return f"{row.pairs} pairs" if row.pairs else f"{row.a.n} / {row.b.n}"


def heading(request: Request, rows: List[Row]) -> str:
    metrics = sorted({(r.metric_name, r.higher) for r in rows}, key=str)
    direction = {True: "higher is better", False: "lower is better", None: "no direction"}
    what = "; ".join(f"{name}, {direction[higher]}" if name != request.metric else direction[higher]
                     for name, higher in metrics)
    selection = lambda sel: ",".join(f"{k}={_show(v)}" for k, v in sel.items())  # noqa: E731
    return (f"{request.suite}: A = {selection(request.a)} vs B = {selection(request.b)} — "
            f"{request.metric} ({what})")


FOOTER = ("A, B: mean ± sample std over the runs the test used; n: seed (and fold) pairs, else runs of A / B; "
          "A − B: mean difference, with its percentile bootstrap 95 % CI (9999 resamples, seed 0); effect: "
          "Cohen's d_z (pairs) or d (pooled std); test: paired t-test on pairs, else Welch's t-test; p Holm: "
          "Holm-adjusted across the rows; p Wilcoxon: signed-rank test on pairs, Holm-adjusted; verdict from "
          "p Holm in the metric's direction.")


def table(rows: List[Row], request: Request, fmt: Optional[str] = None) -> str:
    """The rows as a github or latex (booktabs) table; ``fmt="csv"`` gives :func:`csv_table`."""
    fmt = fmt or request.fmt
    if fmt == "csv":
        return csv_table(rows, request)
    show_diverged = any(sum(r.diverged) for r in rows)
    header = [_column_name(k) for k in request.by]
    header += ["A", "B", "n", "A − B", "95 % CI", "effect", "test", "t (df)", "p", "p Holm", "p Wilcoxon Holm", "verdict"]
    header += ["diverged A / B"] if show_diverged else []
    body = []
    for r in rows:
        line = [_show(v) for v in r.group.values()]
        line += [r.a.text(), r.b.text(), fmt_n(r), fmt_num(r.diff), f"[{fmt_num(r.ci[0])}, {fmt_num(r.ci[1])}]",
                 f"{r.effect_name} = {fmt_num(r.effect, 3)}" if r.effect_name else "—", r.test,
                 f"{fmt_num(r.statistic, 3)} ({fmt_num(r.df, 3)})" if r.test != "—" else "—",
                 fmt_num(r.p, 3), fmt_num(r.p_holm, 3), fmt_num(r.p_wilcoxon_holm, 3), r.verdict]
        body.append(line + ([f"{r.diverged[0]} / {r.diverged[1]}"] if show_diverged else []))
    text = tabulate(body, headers=header, tablefmt=FORMATS[fmt], disable_numparse=True)
    if fmt == "latex":
        text = text.replace("±", r"$\pm$").replace("α", r"$\alpha$").replace("−", "$-$")
        return f"% {heading(request, rows)}\n{text}\n% {FOOTER}"
    return f"### {heading(request, rows)}\n\n{text}\n\n{FOOTER}"


def csv_table(rows: List[Row], request: Request) -> str:
    """One line per row with every number at full precision."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*request.by, "metric", "higher_is_better", "n_a", "mean_a", "std_a", "n_b", "mean_b", "std_b",
                     "pairs", "diff", "ci_low", "ci_high", "effect", "effect_name", "test", "statistic", "df", "p",
                     "p_holm", "p_wilcoxon", "p_wilcoxon_holm", "diverged_a", "diverged_b", "verdict"])
    for r in rows:
        writer.writerow([*r.group.values(), r.metric_name, r.higher, r.a.n, r.a.mean, r.a.std, r.b.n, r.b.mean,
                         r.b.std, r.pairs, r.diff, *r.ci, r.effect, r.effect_name, r.test, r.statistic, r.df, r.p,
                         r.p_holm, r.p_wilcoxon, r.p_wilcoxon_holm, *r.diverged, r.verdict])
    return out.getvalue().rstrip("\n")


def write_tables(rows: List[Row], request: Request) -> List[Path]:
    """``<output.dir>/<suite>/tables/compare-<name>.md`` (github) and ``.csv``, for reports."""
    name = request.table_name()
    return save_tables(request.folder / "tables", {f"{name}.md": table(rows, request, "github"),
                                                   f"{name}.csv": csv_table(rows, request)}, "comparison")


def save_tables(folder: Path, files: Dict[str, str], what: str) -> List[Path]:
    """Write ``files`` (file name -> text) into a suite's ``tables/`` folder, which the report
    shows; an unwritable folder is a :class:`UserError` naming ``what`` the tables are."""
    paths = [folder / name for name in files]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, text in zip(paths, files.values()):
            path.write_text(text + "\n")
    except OSError as err:
        raise UserError(f"Cannot write the {what} tables to {folder} ({err}). "
                        f"Pass output.dir= with a folder you can write to.") from None
    return paths
