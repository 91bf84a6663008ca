"""``python -m benchmark``: run suites, list what exists, show a resolved plan, print leaderboards.

Exit codes: 0 success; 1 some run failed (recorded, retried next time); 2 a user error (bad
suite, key, value or data; nothing ran); 3 some run diverged (recorded as a result);
130 interrupted by Ctrl-C, 143 terminated by SIGTERM (finished runs are kept; re-run the same
command to resume).
"""
import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from omegaconf import OmegaConf
from tabulate import tabulate

from benchmark import leaderboard
from benchmark.config import check_key, flatten, parse_overrides
from benchmark.filters import describe, parse_where, select, split_where
from benchmark.interrupt import guarded
from benchmark.results import ResultStore
from benchmark.suites import Suite, load_suite, suite_names
from benchmark.sweep import Plan, expand, record_ids
from dgl_ma.errors import ConfigError, UserError

EXAMPLES = """examples:
  python -m benchmark run suite=quickstart
  python -m benchmark run suite=quickstart model.layers=[2,8] seeds=[0,1] train.epochs=30
  python -m benchmark show suite=quickstart
  python -m benchmark leaderboard suite=quickstart format=latex where=data.name=csbm
  python -m benchmark leaderboard suite=deep_gat_quick select=model.norm where=model.name=gat
  python -m benchmark plot suite=deep_gat_quick where=model.name=gat
  python -m benchmark export suite=quickstart format=parquet
  python -m benchmark compare suite=deep_gat a=model.norm=lipschitz b=model.norm=none by=data.name by=model.layers
  python -m benchmark verdicts suite=deep_gat output.dir=studies
  python -m benchmark report site=results/site
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
        print("submitted; rerun the same command (without --detach) to follow the sweep and collect its results",
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


def _grid_keys(plan: Plan) -> List[str]:
    """The dotted keys a grid sets: an axis, each sub-key of a group axis's mappings, or each key
    of a linked axis's mappings."""
    keys: Dict[str, None] = {}
    for axis, values in plan.grid.items():
        for value in values:
            if axis in plan.suite.linked:
                keys.update(dict.fromkeys(value))
            else:
                keys.update(dict.fromkeys(flatten(value, f"{axis}.") if isinstance(value, dict) else [axis]))
    return list(keys)


def cmd_show(ns: argparse.Namespace) -> int:
    plan = _plan(ns.overrides)
    print(f"# suite {plan.suite.name}: {plan.suite.description}\n# file: {plan.suite.path}\n")
    shared = OmegaConf.to_container(plan.base)
    for key in _grid_keys(plan):  # shown with the grid below: the base value never runs
        *parents, leaf = key.split(".")
        node = shared
        for part in parents:
            node = node.get(part, {})
        node.pop(leaf, None)
    print("# every run (the grid below sets the other keys)")
    print(OmegaConf.to_yaml(shared))
    print(f"# grid: {' × '.join(str(len(v)) for v in plan.grid.values()) or '1'} points × {len(plan.base.seeds)} seeds")
    print(OmegaConf.to_yaml({"grid": plan.grid}) if plan.grid else "grid: {}\n")
    store = ResultStore(plan.output_dir)
    columns = list(dict.fromkeys(k for r in plan.runs for k in flatten(r.point)))
    rows = [[r.run_id, r.seed, *[flatten(r.point).get(k) for k in columns],
             "finished" if store.is_finished(r.run_id) else "pending"] for r in plan.runs]
    print(tabulate(rows, headers=["run id", "seed", *columns, "status"], tablefmt="github"))
    print(f"\n{len(plan.runs)} runs; records in {plan.output_dir}")
    return 0


def cmd_list(ns: argparse.Namespace) -> int:
    from benchmark import listing

    print(listing.render())
    return 0


@dataclasses.dataclass
class Target:
    """A suite's records folder as the read-only commands see it."""
    name: str
    folder: Path
    suite: Optional[Suite]   # None: a folder of records whose suite file is not known here

    @property
    def metrics(self) -> List[str]:
        return self.suite.metrics if self.suite else ["test", "val"]

    @property
    def over(self) -> List[str]:
        return self.suite.aggregate_over if self.suite else []


def _output_dir(overrides: Dict[str, Any]) -> Optional[Path]:
    """Pop ``output.dir=``; ``None`` when not given (the suite's own ``output.dir`` or ``results``)."""
    if "output.dir" not in overrides:
        return None
    value = overrides.pop("output.dir")
    if value is None or not str(value).strip():
        raise ConfigError("output.dir= is empty; name the folder that holds the suite folders, e.g. output.dir=results.")
    return Path(str(value))


def _target(name: str, out_dir: Optional[Path]) -> Target:
    """``suite=NAME`` or ``suite=path.yaml`` → its records folder: ``output.dir=`` if given, else
    the suite file's ``output.dir``, else ``results``; then the suite's name (the file's stem).
    A name that is neither a suite nor a file may still be a folder of records."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or name in suite_names():
        suite = load_suite(name)
        base = out_dir or Path(str(suite.config.get("output.dir", "results")))
        return Target(suite.name, base / suite.name, suite)
    folder = (out_dir or Path("results")) / name
    if not folder.is_dir():
        load_suite(name)  # raises the unknown-suite message
    return Target(name, folder, None)


def _records(target: Target, where: Dict[str, List[Any]]) -> List[Dict[str, Any]]:
    return select(ResultStore(target.folder).records(), where)


def _read_args(args: List[str], command: str, options: Tuple[str, ...] = (), filters: bool = True
               ) -> Tuple[Target, Dict[str, List[Any]], Dict[str, Any]]:
    """``suite=NAME [output.dir=PATH] [where=KEY=VALUE ...]`` plus ``options`` → the target, the
    filter and the options given."""
    rest, where_texts = split_where(args)
    if where_texts and not filters:
        raise ConfigError(f"{command} does not take where=.")
    suite_name, overrides = _split_suite(rest, required=True)
    out_dir = _output_dir(overrides)
    given = {key: overrides.pop(key) for key in options if key in overrides}
    if overrides:
        allowed = ["suite=", "output.dir="] + (["where="] if filters else []) + [f"{k}=" for k in options]
        raise ConfigError(f"{command} takes {', '.join(allowed)} only; got {', '.join(overrides)}.")
    return _target(suite_name, out_dir), parse_where(where_texts), given


def _nothing(target: Target, where: Dict[str, List[Any]], what: str) -> UserError:
    matching = f" matching where {describe(where)}" if where else ""
    return UserError(f"No {what}{matching} under {target.folder}. Run `python -m benchmark run suite={target.name}` "
                     f"first, or pass output.dir=PATH (the folder that holds {target.name}/).")


def cmd_plot(ns: argparse.Namespace) -> int:
    target, where, _ = _read_args(ns.overrides, "plot")
    from benchmark.ma_plots import plot_massive  # matplotlib only when plotting
    from benchmark.plots import plot_suite

    records = _records(target, where)
    folder = target.folder
    paths = plot_suite(records, folder / "plots") + plot_massive(records, folder, folder / "plots")
    if not paths:
        raise _nothing(target, where, "finished runs to plot")
    for path in paths:
        print(path)
    return 0


def cmd_export(ns: argparse.Namespace) -> int:
    target, where, options = _read_args(ns.overrides, "export", ("format", "to"))
    from benchmark.export import write_tables  # pandas only when exporting

    records = _records(target, where)
    if not records:
        raise _nothing(target, where, "result records")
    folder = Path(str(options["to"])) if options.get("to") else target.folder / "export"
    for path in write_tables(records, folder, str(options.get("format", "csv"))):
        print(path)
    return 0


def cmd_reindex(ns: argparse.Namespace) -> int:
    target, _, _ = _read_args(ns.overrides, "reindex", filters=False)
    store = ResultStore(target.folder)
    changed = store.reindex(record_ids)
    print(f"{changed} of {len(store.records())} records renamed to the current run ids in {store.folder}")
    return 0


def _select_keys(value: Any) -> List[str]:
    """``select=train.lr`` or ``select=[train.lr,model.dropout]`` → checked leaf config keys."""
    keys = [str(k) for k in (value if isinstance(value, list) else [value])]
    for key in keys:
        if dataclasses.is_dataclass(check_key(key)):
            raise ConfigError(f"select={key}: {key!r} is a group of keys; name one, e.g. select=train.lr.")
    return keys


def cmd_leaderboard(ns: argparse.Namespace) -> int:
    rest, where_texts = split_where(ns.overrides)
    suite_name, overrides = _split_suite(rest, required=False)
    fmt = str(overrides.pop("format", "github"))
    leaderboard.check_format(fmt)
    out_dir = _output_dir(overrides)
    pivot = overrides.pop("pivot", None)
    if pivot is not None:
        check_key(str(pivot))
    metric = overrides.pop("metric", None)
    if metric is not None:
        leaderboard.check_metric_columns([str(metric)], "metric=")
    chosen = _select_keys(overrides.pop("select")) if "select" in overrides else []
    if overrides:
        raise ConfigError(f"leaderboard takes suite=, format=, pivot=, metric=, select=, where= and output.dir= "
                          f"only; got {', '.join(overrides)}.")
    where = parse_where(where_texts)
    if suite_name:
        targets = [_target(suite_name, out_dir)]
    else:
        base = out_dir or Path("results")
        names = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
        targets = [Target(n, base / n, load_suite(n) if n in suite_names() else None) for n in names]
    shown, csv_lines = 0, []
    for target in targets:
        records = _records(target, where)
        if not records:
            continue
        metrics = target.metrics
        if metric is not None:  # the chosen column first: it sorts, and it is the one a pivot shows
            metrics = [str(metric)] + [m for m in metrics if m != metric]
        if fmt == "csv":  # one table for every suite: a suite column, the union of the columns
            if pivot:
                raise ConfigError("pivot= works with format=github or latex; CSV already has one line per configuration.")
            csv_lines += [{"suite": target.name, **line}
                          for line in leaderboard.csv_rows(records, metrics, target.over, chosen)]
        else:
            if len(targets) > 1:
                print(f"{'## ' if fmt == 'github' else '% '}{target.name}\n")
            print(leaderboard.render(records, metrics, fmt, pivot=pivot, over=target.over, select=chosen))
        shown += 1
    if not shown:
        where_text = f" matching where {describe(where)}" if where else ""
        folder = targets[0].folder if suite_name else out_dir or Path("results")
        raise UserError(f"No result records for {suite_name or 'any suite'}{where_text} under {folder}. "
                        f"Run `python -m benchmark run suite=NAME` first, or pass output.dir=PATH.")
    if fmt == "csv":
        print(leaderboard.to_csv(csv_lines))
    return 0


def cmd_compare(ns: argparse.Namespace) -> int:
    from benchmark import compare  # scipy.stats only when comparing

    rest, where_texts = split_where(ns.overrides)
    request = compare.parse_request(rest)
    rows = compare.compare(select(ResultStore(request.folder).records(), parse_where(where_texts)), request)
    print(compare.table(rows, request))
    for path in compare.write_tables(rows, request):
        print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_verdicts(ns: argparse.Namespace) -> int:
    suites, rest = _suites_arg(ns.overrides)
    overrides = parse_overrides(rest)
    out_dir = Path(str(overrides.pop("output.dir", "results")))
    fmt = str(overrides.pop("format", "github"))
    if overrides:
        raise ConfigError(f"verdicts takes suite=, output.dir= and format= only; got {', '.join(overrides)}.")
    leaderboard.check_format(fmt)
    from benchmark import verdicts  # scipy.stats only when judging

    text, written = verdicts.run(suites, out_dir, fmt)
    print(text)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _suites_arg(args: List[str]) -> Tuple[List[str], List[str]]:
    """suite= may repeat or hold a list: (the suite names, the other arguments)."""
    suites: List[str] = []
    rest = []
    for arg in args:
        if arg.partition("=")[0].strip() == "suite":
            parsed = parse_overrides([arg])["suite"]
            suites += [str(v) for v in (parsed if isinstance(parsed, list) else [parsed])]
        else:
            rest.append(arg)
    return suites, rest


def cmd_report(ns: argparse.Namespace) -> int:
    names, rest = _suites_arg(ns.overrides)
    suites = [Path(name).stem for name in names]
    overrides = parse_overrides(rest)
    out_dir = Path(str(overrides.pop("output.dir", "results")))
    site = Path(str(overrides.pop("site", out_dir / "site")))
    records = overrides.pop("records", True)
    if not isinstance(records, bool):
        raise ConfigError(f"records= takes true or false (copy each raw record into the site); got {records!r}.")
    if overrides:
        raise ConfigError(f"report takes suite=, output.dir=, site= and records= only; got {', '.join(overrides)}.")
    from benchmark.report import build_site  # jinja2 and matplotlib only when reporting

    summary = build_site(out_dir, site, suites, records=records)
    print(f"{summary.suites} suite(s), {summary.runs} run pages, {summary.malformed} malformed record(s); "
          f"{summary.bytes / 2**20:.1f} MB in {summary.seconds:.1f} s", file=sys.stderr)
    print(summary.index)
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
                          description="plot suite=NAME [where=KEY=VALUE ...] [output.dir=PATH]: accuracy vs "
                                      "depth (one line per configuration), gradient norm vs layer; for runs with "
                                      "analysis.massive also ratio curves, gamma fits and the bond-type heatmap")
    plot.add_argument("overrides", nargs="*", metavar="key=value")
    plot.set_defaults(func=cmd_plot)
    reindex = sub.add_parser("reindex", help="recompute the ids of a suite's records after the id scheme changed",
                             description="reindex suite=NAME [output.dir=PATH]: renames records written by an "
                                         "older version to the current run ids, so that `run` resumes them.")
    reindex.add_argument("overrides", nargs="*", metavar="key=value")
    reindex.set_defaults(func=cmd_reindex)
    board = sub.add_parser("leaderboard", help="print leaderboards regenerated from the records",
                           description="leaderboard [suite=NAME] [format=github|latex|csv] [pivot=KEY] [metric=COLUMN] "
                                       "[select=KEY] [where=KEY=VALUE ...] [output.dir=PATH]; pivot=model.layers puts "
                                       "depths in columns, metric= picks the column shown first (e.g. init_grad), "
                                       "select=train.lr keeps for each configuration of the other keys the lr with "
                                       "the best mean val score and reports its test score, where= keeps the runs "
                                       "whose config has that value (a list: any of its values; several: all)")
    board.add_argument("overrides", nargs="*", metavar="key=value")
    board.set_defaults(func=cmd_leaderboard)
    export = sub.add_parser("export", help="write tidy tables (one row per run, one per epoch) for pandas",
                            description="export suite=NAME [format=csv|parquet] [where=KEY=VALUE ...] "
                                        "[output.dir=PATH] [to=FOLDER]: writes runs.<format> (config, seed, "
                                        "metrics, params, s/epoch, status) and epochs.<format> (the training "
                                        "history; join on run_id) into FOLDER, by default "
                                        "<output.dir>/<suite>/export")
    export.add_argument("overrides", nargs="*", metavar="key=value")
    export.set_defaults(func=cmd_export)
    comp = sub.add_parser("compare", help="A/B statistical comparison of two sets of a suite's runs",
                          description="compare suite=NAME a=KEY=VALUE[,KEY=VALUE] b=KEY=VALUE[,...] [by=KEY ...] "
                                      "[where=KEY=VALUE ...] "
                                      "[metric=COLUMN] [format=github|latex|csv] [alpha=0.05] [name=NAME] "
                                      "[output.dir=PATH]: per group of the by= keys, a paired t-test and Wilcoxon "
                                      "test on seed pairs (Welch's t-test without pairs), a bootstrap 95 % CI of the "
                                      "difference, an effect size, Holm-adjusted p-values and a verdict; also writes "
                                      "<output.dir>/<suite>/tables/compare-<name>.md and .csv")
    comp.add_argument("overrides", nargs="*", metavar="key=value")
    comp.set_defaults(func=cmd_compare)
    report = sub.add_parser("report", help="write a static HTML site of the results (leaderboards, figures, run pages)",
                            description="report [suite=NAME ...] [output.dir=PATH] [site=PATH] [records=false]: every "
                                        "suite under output.dir (default results), or the named ones, as a "
                                        "self-contained site in site (default <output.dir>/site); open "
                                        "<site>/index.html or publish the folder on any static web server. "
                                        "records=false leaves out the copies of the raw records")
    report.add_argument("overrides", nargs="*", metavar="key=value")
    report.set_defaults(func=cmd_report)
    judge = sub.add_parser("verdicts", help="answer the papers' claims a suite lists, with statistics and a verdict",
                           description="verdicts [suite=NAME ...] [output.dir=PATH] [format=github|latex|csv]: for "
                                       "each claim in the suites' claims: sections (default: every suite that has "
                                       "one), the compare statistics per group, a verdict, the budget and how much "
                                       "of the study has finished; also writes <output.dir>/<suite>/tables/"
                                       "verdicts.md and .csv, which the report shows first")
    judge.add_argument("overrides", nargs="*", metavar="key=value")
    judge.set_defaults(func=cmd_verdicts)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Optional[List[str]]) -> argparse.Namespace:
    """Like ``parse_args``, with flags anywhere among the key=value words
    (``run suite=quickstart --force seeds=[0]``): argparse hands the words after a flag back
    as unknown, and they join the overrides in their order."""
    ns, extra = parser.parse_known_args(argv)
    unknown = [word for word in extra if word.startswith("-") or not hasattr(ns, "overrides")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if extra:
        ns.overrides = list(ns.overrides) + extra
    return ns


def main(argv: Optional[List[str]] = None) -> int:
    ns = parse_args(build_parser(), argv)

    def command() -> int:
        try:
            return ns.func(ns)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            return err.exit_code

    return guarded(command)
