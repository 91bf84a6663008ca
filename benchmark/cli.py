"""``python -m benchmark``: run suites, list what exists, show a resolved plan, print leaderboards.

Exit codes: 0 success; 1 some run failed (recorded, retried next time); 2 a user error (bad
suite, key, value or data; nothing ran); 3 some run diverged (recorded as a result);
130 interrupted (finished runs are kept; re-run the same command to resume).
"""
import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from omegaconf import OmegaConf
from tabulate import tabulate

from benchmark import leaderboard
from benchmark.config import check_key, flatten, parse_overrides, valid_keys
from benchmark.results import ResultStore
from benchmark.suites import load_suite, suite_names, suites_dir
from benchmark.sweep import Plan, expand, record_ids
from dgl_ma.data import DATASETS
from dgl_ma.errors import ConfigError, UserError
from dgl_ma.models import MODELS

EXAMPLES = """examples:
  python -m benchmark run suite=quickstart
  python -m benchmark run suite=quickstart model.layers=[2,8] seeds=[0,1] train.epochs=30
  python -m benchmark show suite=quickstart
  python -m benchmark leaderboard suite=quickstart format=latex
  python -m benchmark plot suite=deep_gat_quick
  python -m benchmark compare suite=deep_gat a=model.norm=lipschitz b=model.norm=none by=data.name by=model.layers
"""


def _split_suite(args: List[str], required: bool) -> (Optional[str], Dict[str, Any]):
    overrides = parse_overrides(args)
    suite = overrides.pop("suite", None)
    if required and suite is None:
        raise ConfigError(f"Name a suite: suite=NAME. Available: {', '.join(suite_names()) or 'none'}.")
    return (str(suite) if suite is not None else None), overrides


def _plan(args: List[str]) -> Plan:
    suite_name, overrides = _split_suite(args, required=True)
    return expand(load_suite(suite_name), overrides)


def cmd_run(ns: argparse.Namespace) -> int:
    from benchmark.runner import execute  # torch and DGL load here, not for help, list or show

    plan = _plan(ns.overrides)
    print(f"suite {plan.suite.name}: {len(plan.runs)} runs → {plan.output_dir}", file=sys.stderr)
    try:
        summary = execute(plan, force=ns.force, progress=not ns.no_progress, detach=ns.detach)
    except KeyboardInterrupt:
        done = sum(ResultStore(plan.output_dir).is_finished(r.run_id) for r in plan.runs)
        print(f"\ninterrupted: {done} of {len(plan.runs)} runs are finished and saved in {plan.output_dir}; "
              f"runs in flight keep their last checkpoint. Re-run the same command to finish the rest.", file=sys.stderr)
        return 130
    for note in summary.notes:
        print(note, file=sys.stderr)
    print(summary.line(plan.suite.name), file=sys.stderr)
    if summary.skipped == summary.total:
        print(f"all {summary.total} runs already finished (use --force to rerun them)", file=sys.stderr)
    if ns.detach:
        print(f"submitted; rerun the same command (without --detach) to follow the sweep and collect its results",
              file=sys.stderr)
        return 0
    store = ResultStore(plan.output_dir)
    records = [r for r in (store.load(run.run_id) for run in plan.runs) if r is not None]
    print(leaderboard.render(records, plan.suite.metrics, over=plan.suite.aggregate_over))
    return _report_problems(records, plan.output_dir)


def _report_problems(records: List[Dict[str, Any]], folder: Path) -> int:
    failed = [r for r in records if r["status"] == "failed"]
    diverged = [r for r in records if r["status"] == "diverged"]
    if failed:
        first = failed[0]
        print(f"\n{len(failed)} run(s) failed; the first ({first['run_id']}) with: {first['message']}. "
              f"Each failed record in {folder} holds its traceback; fix the cause and re-run the same "
              f"command: failed runs are retried, finished ones kept.", file=sys.stderr)
        return 1
    if diverged:
        where = ", ".join(f"{r['run_id']} (epoch {r['diverged_epoch']})" for r in diverged[:5])
        print(f"\n{len(diverged)} run(s) diverged (training loss or predictions became NaN/Inf): {where}. They are kept as results "
              f"and counted in the leaderboard's 'diverged' column. To train them, lower train.lr, add "
              f"normalisation, or reduce model.layers; then rerun with --force.", file=sys.stderr)
        return 3
    return 0


def cmd_show(ns: argparse.Namespace) -> int:
    plan = _plan(ns.overrides)
    print(f"# suite {plan.suite.name}: {plan.suite.description}\n# file: {plan.suite.path}\n")
    print(OmegaConf.to_yaml(plan.base))
    store = ResultStore(plan.output_dir)
    columns = list(flatten(plan.runs[0].point)) if plan.runs else []
    rows = [[r.run_id, r.seed, *[flatten(r.point).get(k) for k in columns],
             "finished" if store.is_finished(r.run_id) else "pending"] for r in plan.runs]
    print(tabulate(rows, headers=["run id", "seed", *columns, "status"], tablefmt="github"))
    print(f"\n{len(plan.runs)} runs; records in {plan.output_dir}")
    return 0


def cmd_list(ns: argparse.Namespace) -> int:
    suites = [(name, load_suite(name).description) for name in suite_names()]
    print(f"suites ({suites_dir()}):")
    print(tabulate(suites, tablefmt="plain"))
    print("\nmodels:")
    print(tabulate(MODELS.describe(), tablefmt="plain"))
    print("\ndatasets:")
    print(tabulate(DATASETS.describe(), tablefmt="plain"))
    print("\nconfig keys (key, type, default):")
    print(tabulate(valid_keys(), tablefmt="plain"))
    return 0


def _suite_folder(args: List[str], command: str) -> (str, Path):
    """``suite=NAME [output.dir=PATH]`` (nothing else) → ``(NAME, <output.dir>/<suite>)``."""
    suite_name, overrides = _split_suite(args, required=True)
    out_dir = Path(str(overrides.pop("output.dir", "results")))
    if overrides:
        raise ConfigError(f"{command} takes suite= and output.dir= only; got {', '.join(overrides)}.")
    return suite_name, out_dir / Path(suite_name).stem


def cmd_plot(ns: argparse.Namespace) -> int:
    suite_name, folder = _suite_folder(ns.overrides, "plot")
    from benchmark.ma_plots import plot_massive  # matplotlib only when plotting
    from benchmark.plots import plot_suite

    records = ResultStore(folder).records()
    paths = plot_suite(records, folder / "plots") + plot_massive(records, folder, folder / "plots")
    if not paths:
        raise UserError(f"No finished runs to plot under {folder}. Run `python -m benchmark run suite={suite_name}` first.")
    for path in paths:
        print(path)
    return 0


def cmd_reindex(ns: argparse.Namespace) -> int:
    _, folder = _suite_folder(ns.overrides, "reindex")
    store = ResultStore(folder)
    changed = store.reindex(record_ids)
    print(f"{changed} of {len(store.records())} records renamed to the current run ids in {store.folder}")
    return 0


def cmd_leaderboard(ns: argparse.Namespace) -> int:
    suite_name, overrides = _split_suite(ns.overrides, required=False)
    fmt = str(overrides.pop("format", "github"))
    leaderboard.check_format(fmt)
    out_dir = Path(str(overrides.pop("output.dir", "results")))
    pivot = overrides.pop("pivot", None)
    if pivot is not None:
        check_key(str(pivot))
    metric = overrides.pop("metric", None)
    if metric is not None:
        leaderboard.check_metric_columns([str(metric)], "metric=")
    if overrides:
        raise ConfigError(f"leaderboard takes suite=, format=, pivot=, metric= and output.dir= only; "
                          f"got {', '.join(overrides)}.")
    names = [suite_name] if suite_name else sorted(p.name for p in out_dir.iterdir() if p.is_dir()) if out_dir.is_dir() else []
    printed = False
    for name in names:
        records = ResultStore(out_dir / name).records()
        if not records:
            continue
        suite = load_suite(name) if name in suite_names() else None
        metrics = suite.metrics if suite else ["test", "val"]
        if metric is not None:  # the chosen column first: it sorts, and it is the one a pivot shows
            metrics = [str(metric)] + [m for m in metrics if m != metric]
        if len(names) > 1 and fmt != "csv":
            print(f"## {name}\n")
        print(leaderboard.render(records, metrics, fmt, pivot=pivot, over=suite.aggregate_over if suite else ()))
        printed = True
    if not printed:
        raise UserError(f"No result records for {suite_name or 'any suite'} under {out_dir}. "
                        f"Run `python -m benchmark run suite=NAME` first, or pass output.dir=PATH.")
    return 0


def cmd_compare(ns: argparse.Namespace) -> int:
    from benchmark import compare  # scipy.stats only when comparing

    request = compare.parse_request(ns.overrides)
    rows = compare.compare(ResultStore(request.folder).records(), request)
    print(compare.table(rows, request))
    for path in compare.write_tables(rows, request):
        print(f"wrote {path}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a suite (resumes: finished runs are skipped)",
                         description="Run suite=NAME with dotted key=value overrides (see `list` for keys).",
                         epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("overrides", nargs="*", metavar="key=value")
    run.add_argument("--force", action="store_true", help="rerun runs that already have a record")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--detach", action="store_true",
                     help="launcher=slurm: submit and return; a later run with the same arguments follows and collects")
    run.set_defaults(func=cmd_run)
    show = sub.add_parser("show", help="print the resolved config and the run grid without running",
                          description="Resolve suite=NAME with overrides and list its runs.")
    show.add_argument("overrides", nargs="*", metavar="key=value")
    show.set_defaults(func=cmd_show)
    lst = sub.add_parser("list", help="list suites, models, datasets and config keys")
    lst.set_defaults(func=cmd_list)
    plot = sub.add_parser("plot", help="write the suite's figures (PNG) under <output.dir>/<suite>/plots",
                          description="plot suite=NAME [output.dir=PATH]: accuracy vs depth, gradient norm vs "
                                      "layer; for runs with analysis.massive also ratio curves, gamma fits and "
                                      "the bond-type heatmap")
    plot.add_argument("overrides", nargs="*", metavar="key=value")
    plot.set_defaults(func=cmd_plot)
    reindex = sub.add_parser("reindex", help="recompute the ids of a suite's records after the id scheme changed",
                             description="reindex suite=NAME [output.dir=PATH]: renames records written by an "
                                         "older version to the current run ids, so that `run` resumes them.")
    reindex.add_argument("overrides", nargs="*", metavar="key=value")
    reindex.set_defaults(func=cmd_reindex)
    board = sub.add_parser("leaderboard", help="print leaderboards regenerated from the records",
                           description="leaderboard [suite=NAME] [format=github|latex|csv] [pivot=KEY] [metric=COLUMN] "
                                       "[output.dir=PATH]; pivot=model.layers puts depths in columns, metric= "
                                       "picks the column shown first (e.g. init_grad)")
    board.add_argument("overrides", nargs="*", metavar="key=value")
    board.set_defaults(func=cmd_leaderboard)
    comp = sub.add_parser("compare", help="A/B statistical comparison of two sets of a suite's runs",
                          description="compare suite=NAME a=KEY=VALUE[,KEY=VALUE] b=KEY=VALUE[,...] [by=KEY ...] "
                                      "[metric=COLUMN] [format=github|latex|csv] [alpha=0.05] [name=NAME] "
                                      "[output.dir=PATH]: per group of the by= keys, a paired t-test and Wilcoxon "
                                      "test on seed pairs (Welch's t-test without pairs), a bootstrap 95 % CI of the "
                                      "difference, an effect size, Holm-adjusted p-values and a verdict; also writes "
                                      "<output.dir>/<suite>/tables/compare-<name>.md and .csv")
    comp.add_argument("overrides", nargs="*", metavar="key=value")
    comp.set_defaults(func=cmd_compare)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        return ns.func(ns)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
