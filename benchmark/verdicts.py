"""``python -m benchmark verdicts``: each published claim a suite lists (its ``claims:`` section,
:mod:`benchmark.paper_claims`) answered from the suite's records, with the statistics of
``compare`` (:mod:`benchmark.compare`: paired t / Wilcoxon on seed pairs, else Welch; bootstrap
95 % CI; Holm across the groups of one claim).

A claim's rows are its groups (``by``, restricted to ``groups``). The claim's verdict counts the
groups whose row verdict is the one that ``supports`` it: *supported* (all), *supported in k of
m groups*, *contradicted* (none, and some significant the other way), *not shown* (no significant
difference), *too few seeds*, or *not testable* when no finished run has a value of the metric
(e.g. a share of massive edges where no run has a massive edge). Only the finished runs of the
claim's study (its ``run`` invocations, at one budget) count; when that study is not finished
the verdict says how many of its runs are, and a claim without any run yet says *not run*.
"""
import csv
import io
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

from tabulate import tabulate

from benchmark import compare
from benchmark.compare import (Row, adjust, flat_config, group_runs, group_statistics, metric_values,
                               save_tables)
from benchmark.leaderboard import FORMATS, METRIC_COLUMNS, Stat, _column_name, higher_is_better
from benchmark.paper_claims import PaperClaim
from benchmark.results import ResultStore
from benchmark.suites import Suite, load_suite, suite_names
from benchmark.sweep import expand
from dgl_ma.errors import UserError

SIGNIFICANT = ("A better", "B better", "A higher", "B higher")   # compare's verdicts of a significant row
Values = Dict[Tuple[Any, ...], float]   # (seed, fold) -> value


@dataclass
class ClaimResult:
    suite: str
    claim: PaperClaim
    rows: List[Row] = field(default_factory=list)
    finished: int = 0
    planned: int = 0
    budget: str = ""          # what the runs behind the rows had (epochs, time limit)
    verdict: str = "not run"
    study: Optional[str] = None   # the claim's budget (its named `run`); None: its first


def _side(runs: List[Dict[str, Any]], claim: PaperClaim, column: str, label: str,
          group: Dict[str, Any]) -> Values:
    """Unit -> value of ``column`` over the finished runs of one side of one group; with a
    ``contrast`` the value at its first value minus at its second, per unit."""
    if claim.contrast is None:
        compare.check_one_configuration(runs, label, group)
        return metric_values(runs, column)
    key, (first, second) = next(iter(claim.contrast.items()))
    ends = []
    for end in (first, second):
        chosen = [r for r in runs if flat_config(r).get(key) == end]
        compare.check_one_configuration(chosen, f"{label} ({key}={end})", group)
        ends.append(metric_values(chosen, column))
    return {u: ends[0][u] - ends[1][u] for u in set(ends[0]) & set(ends[1])}


def _budget(runs: List[Dict[str, Any]]) -> str:
    epochs = [r["epochs_run"] for r in runs if r["status"] == "ok" and isinstance(r.get("epochs_run"), int)]
    if not epochs:
        return "—"
    low, high = min(epochs), max(epochs)
    text = f"{low} epoch{'s' if low != 1 else ''}" if low == high else f"{low}–{high} epochs (median {statistics.median(epochs):g})"
    limits = {flat_config(r).get("train.max_seconds") for r in runs} - {None, 0}
    return text + (f", ≤ {'/'.join(f'{s:g}' for s in sorted(limits))} s of training" if limits else "")


def _study(suite: Suite, claim: PaperClaim, out_dir: Path, budget: Optional[str] = None) -> Set[str]:
    """The run ids of the claim's ``run`` invocations (of one budget)."""
    planned: Set[str] = set()
    for overrides in claim.run_overrides(budget):
        planned |= {r.run_id for r in expand(suite, {**overrides, "output.dir": str(out_dir)}).runs}
    return planned


def agrees(supports: str, row: Row) -> Optional[bool]:
    """Whether a row's significant difference is the one ``supports`` names (None: not significant).
    "better" reads the metric's direction (a column without one: "better" = higher)."""
    if row.verdict not in SIGNIFICANT:
        return None
    if supports == "differs":
        return True
    a_higher = row.diff > 0
    if supports.endswith("better") and row.higher is False:
        a_higher = not a_higher
    return a_higher == supports.startswith("A")


def _claim_verdict(claim: PaperClaim, rows: List[Row], valued: bool = True) -> str:
    tested = [r for r in rows if r.test != "—"]
    if not rows:
        return "not run"
    if not valued:
        return f"not testable: no finished run has a value of {claim.metric}"
    if not tested:
        return "too few seeds"
    answers = [agrees(claim.supports, r) for r in tested]
    support, against = answers.count(True), answers.count(False)
    if support == len(tested):
        text = "supported"
    elif support:
        text = f"supported in {support} of {len(tested)} groups"
    else:
        text = "contradicted" if against else "not shown (no significant difference)"
    untested = len(rows) - len(tested)
    return text + (f" ({untested} more group{'s' if untested > 1 else ''} with too few seeds)" if untested else "")


def judge(suite: Suite, claim: PaperClaim, records: List[Dict[str, Any]], out_dir: Path,
          alpha: float = compare.ALPHA, budget: Optional[str] = None) -> ClaimResult:
    """The rows and verdict of one claim from the suite's records (the runs of one of its budgets)."""
    result = ClaimResult(suite.name, claim, study=budget)
    planned = _study(suite, claim, out_dir, budget)
    store = ResultStore(out_dir / suite.name)
    result.finished, result.planned = sum(store.is_finished(run_id) for run_id in planned), len(planned)
    records = [r for r in records if r.get("run_id") in planned]   # the study's runs, not another budget's
    folder = out_dir / suite.name
    try:
        a_runs = compare.select(records, claim.a, "a", folder) if records else []
        b_runs = compare.select(records, claim.b, "b", folder) if records and claim.b else []
    except UserError:
        a_runs, b_runs = [], []       # nothing of this claim has run yet
    if not a_runs or (claim.b and not b_runs):
        return result
    if {r["run_id"] for r in a_runs} & {r["run_id"] for r in b_runs}:
        raise UserError(f"Claim {claim.name} of suite {suite.name}: its a: and b: select some of the same runs; add "
                        f"the key that tells them apart to both (suite file {suite.path}).")
    def in_groups(record: Dict[str, Any]) -> bool:
        flat = flat_config(record)
        return all(flat.get(k) in values for k, values in claim.groups.items())

    keys = [k for k in claim.by if not claim.contrast or k not in claim.contrast]
    groups = group_runs([r for r in a_runs if in_groups(r)], [r for r in b_runs if in_groups(r)], keys)
    metric = next((r["metric"] for r in a_runs if "metric" in r), {})
    higher = None if claim.contrast else higher_is_better(claim.metric, metric)
    from_record = METRIC_COLUMNS[claim.metric][1] == "metric"
    valued = False          # some run of side A has a value of the metric (e.g. a massive edge to count)
    for group, a_group, b_group in groups:
        a_values = _side(a_group, claim, claim.metric, "A", group)
        valued |= bool(a_values)
        if claim.b_metric:
            b_values = _side(a_group, claim, claim.b_metric, "A", group)
        elif claim.b_value is not None:
            b_values = {unit: float(claim.b_value) for unit in a_values}
        else:
            b_values = _side(b_group, claim, claim.metric, "B", group)
        row = Row(group=group, metric_name=metric.get("name", "?") if from_record else claim.metric, higher=higher,
                  a=Stat.of([]), b=Stat.of([]))
        result.rows.append(group_statistics(row, a_values, b_values))
    adjust(result.rows, alpha)
    result.budget = _budget(a_runs + b_runs)
    result.verdict = _claim_verdict(claim, result.rows, valued)
    return result


def _status(result: ClaimResult) -> str:
    if result.planned and result.finished < result.planned:
        return f"{result.verdict} — study {result.finished} of {result.planned} runs finished"
    return result.verdict


def sides(claim: PaperClaim) -> str:
    """What A and B are, short: ``norm=lipschitz vs none — final_test``; ``ma_max_ratio vs 1000``."""
    if claim.b_metric or claim.b_value is not None:
        other = claim.b_metric or f"{claim.b_value:g}"
        text = f"{claim.metric} vs {other}"
    else:
        keys = [k for k in claim.a if claim.b.get(k, object()) != claim.a[k]] + [k for k in claim.b if k not in claim.a]
        show = lambda sel: ",".join(f"{k.split('.')[-1]}={sel[k]}" if len(keys) > 1 else str(sel[k])  # noqa: E731
                                    for k in keys if k in sel)
        prefix = f"{keys[0].split('.')[-1]}=" if len(keys) == 1 else ""
        text = f"{prefix}{show(claim.a)} vs {show(claim.b)} — {claim.metric}"
    if claim.contrast:
        key, (first, second) = next(iter(claim.contrast.items()))
        text += f" at {key.split('.')[-1]}={first} minus at {second}"
    return text


def table(results: List[ClaimResult], fmt: str = "github") -> str:
    """One line per group of each claim (the claim's cells on its first line), the commands below."""
    if fmt == "csv":
        return csv_table(results)
    header = ["claim", "A vs B", "group", "A", "B", "n", "A − B [95 % CI]", "test, p Holm", "group verdict",
              "verdict", "budget here / paper", "command"]
    body, commands = [], []
    for result in results:
        claim = result.claim
        refs = []
        for command in claim.commands(result.suite, result.study):
            if command not in commands:
                commands.append(command)
            refs.append(f"[{commands.index(command) + 1}]")
        head = [f"{result.suite} · {claim.name}: {claim.claim}" + (f" ({claim.source})" if claim.source else ""),
                sides(claim)]
        named = result.study or claim.budgets[0]
        tail = [_status(result), (f"{named}: " if named else "") + f"{result.budget or '—'} / {claim.paper_budget or '—'}",
                " ".join(refs)]
        for i, row in enumerate(result.rows or [None]):
            cells = ["—"] * 7 if row is None else [
                ",".join(f"{_column_name(k)}={v}" for k, v in row.group.items()) or "all",
                row.a.text(), row.b.text(), compare.fmt_n(row),
                f"{compare.fmt_num(row.diff)} [{compare.fmt_num(row.ci[0])}, {compare.fmt_num(row.ci[1])}]",
                f"{row.test}, {compare.fmt_num(row.p_holm, 3)}", row.verdict]
            body.append((head if i == 0 else ["", ""]) + cells + (tail if i == 0 else ["", "", ""]))
    text = tabulate(body, headers=header, tablefmt=FORMATS[fmt], disable_numparse=True)
    notes = "\n".join(f"- [{i}] `{c}`" for i, c in enumerate(commands, 1))
    return (f"# Verdicts\n\n{text}\n\nA, B: mean ± std over the runs the test used (n: seed pairs, else runs of "
            f"A / B). Tests as in `compare`; p Holm adjusted across the groups of one claim; α = {compare.ALPHA:g}. "
            f"Only the finished runs of each claim's study count.\n\n{notes}")


def csv_table(results: List[ClaimResult]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["suite", "claim", "group", "metric", "mean_a", "std_a", "n_a", "mean_b", "std_b", "n_b",
                     "pairs", "diff", "ci_low", "ci_high", "test", "p", "p_holm", "p_wilcoxon_holm",
                     "group_verdict", "verdict", "finished", "planned", "budget"])
    for result in results:
        for row in result.rows or [None]:
            numbers = [""] * 17 if row is None else [
                json.dumps(row.group), row.metric_name, row.a.mean, row.a.std, row.a.n, row.b.mean, row.b.std,
                row.b.n, row.pairs, row.diff, *row.ci, row.test, row.p, row.p_holm, row.p_wilcoxon_holm, row.verdict]
            writer.writerow([result.suite, result.claim.name, *numbers, result.verdict, result.finished,
                             result.planned, result.budget])
    return out.getvalue().rstrip("\n")


def run(suite_names_given: List[str], out_dir: Path, fmt: str = "github",
        budget: Optional[str] = None) -> Tuple[str, List[Path]]:
    """The verdicts of the named suites (default: every suite with claims); writes each suite's
    ``tables/verdicts.md`` and ``.csv`` under ``out_dir``, where the report shows them first.
    ``budget``: judge the claims that name this budget, from the runs of that budget's study
    (``tables/verdicts-<budget>.md``); default: every claim at its first budget."""
    suites = [load_suite(n) for n in suite_names_given] or [s for s in map(load_suite, suite_names()) if s.claims]
    without = [s.name for s in suites if not s.claims]
    if without:
        raise UserError(f"The suite(s) {', '.join(without)} list no claims (no claims: section); suites with claims: "
                        f"{', '.join(n for n in suite_names() if load_suite(n).claims) or 'none'}.")
    if budget is not None:
        named = sorted({b for s in suites for c in s.claims for b in c.budgets if b})
        if budget not in named:
            raise UserError(f"No claim of {', '.join(s.name for s in suites)} names a budget {budget!r}; "
                            f"budgets: {', '.join(named) or 'none (every claim has one study)'}.")
    stem = "verdicts" if budget is None else f"verdicts-{budget}"
    results, written = [], []
    for suite in suites:
        claims = [c for c in suite.claims if budget is None or budget in c.budgets]
        if not claims:
            continue
        records = ResultStore(out_dir / suite.name).records()
        mine = [judge(suite, claim, records, out_dir, budget=budget) for claim in claims]
        results += mine
        written += save_tables(out_dir / suite.name / "tables",
                               {f"{stem}.md": table(mine, "github"), f"{stem}.csv": csv_table(mine)}, "verdict")
    return table(results, fmt), written
