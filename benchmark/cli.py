"""``python -m benchmark``: run suites, list what exists, show a resolved plan, print leaderboards.

Exit codes: 0 success; 1 some run failed (recorded, retried next time); 2 a user error (bad
suite, key, value or data; nothing ran); 3 some run diverged (recorded as a result);
130 interrupted by Ctrl-C, 143 terminated by SIGTERM (finished runs are kept; re-run the same
command to resume).
"""
import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from omegaconf import OmegaConf
from tabulate import tabulate

from benchmark import leaderboard
from benchmark.config import flatten
from benchmark.interrupt import guarded, held
from benchmark.read_commands import (cmd_compare, cmd_export, cmd_leaderboard, cmd_plot, cmd_reindex, cmd_report,
                                     cmd_verdicts, split_suite)
from benchmark.results import ResultStore
from benchmark.suites import load_suite
from benchmark.sweep import Plan, expand
from dgl_ma.errors import UserError

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

def _plan(args: List[str]) -> Plan:
    suite_name, overrides = split_suite(args, required=True)
    return expand(load_suite(suite_name), overrides)


def cmd_run(ns: argparse.Namespace) -> int:
    with held():  # Ctrl-C while torch and DGL import is delivered after (see held)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func, summary: str, overrides: bool = True, **kwargs) -> argparse.ArgumentParser:
        """A sub-command taking ``key=value`` words (``overrides``), run by ``func``."""
        cmd = sub.add_parser(name, help=summary, **kwargs)
        if overrides:
            cmd.add_argument("overrides", nargs="*", metavar="key=value")
        cmd.set_defaults(func=func)
        return cmd

    run = command("run", cmd_run, "run a suite (resumes: finished runs are skipped)",
                  description="Run suite=NAME with dotted key=value overrides (see `list` for keys).",
                  epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--force", action="store_true", help="rerun runs that already have a record")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--detach", action="store_true",
                     help="launcher=slurm: submit and return; a later run with the same arguments follows and collects")
    command("show", cmd_show, "print the resolved config and the run grid without running",
            description="Resolve suite=NAME with overrides and list its runs.")
    command("list", cmd_list, "list suites, models, datasets and config keys", overrides=False)
    command("plot", cmd_plot, "write the suite's figures (PNG) under <output.dir>/<suite>/plots",
            description="plot suite=NAME [where=KEY=VALUE ...] [output.dir=PATH]: accuracy vs "
                        "depth (one line per configuration), gradient norm vs layer; for runs with "
                        "analysis.massive also ratio curves, gamma fits and the bond-type heatmap")
    command("reindex", cmd_reindex, "recompute the ids of a suite's records after the id scheme changed",
            description="reindex suite=NAME [output.dir=PATH]: renames records written by an "
                        "older version to the current run ids, so that `run` resumes them.")
    command("leaderboard", cmd_leaderboard, "print leaderboards regenerated from the records",
            description="leaderboard [suite=NAME] [format=github|latex|csv] [pivot=KEY] [metric=COLUMN] "
                        "[select=KEY] [where=KEY=VALUE ...] [output.dir=PATH]; pivot=model.layers puts "
                        "depths in columns, metric= picks the column shown first (e.g. init_grad), "
                        "select=train.lr keeps for each configuration of the other keys the lr with "
                        "the best mean val score and reports its test score, where= keeps the runs "
                        "whose config has that value (a list: any of its values; several: all)")
    command("export", cmd_export, "write tidy tables (one row per run, one per epoch) for pandas",
            description="export suite=NAME [format=csv|parquet] [where=KEY=VALUE ...] "
                        "[output.dir=PATH] [to=FOLDER]: writes runs.<format> (config, seed, "
                        "metrics, params, s/epoch, status) and epochs.<format> (the training "
                        "history; join on run_id) into FOLDER, by default "
                        "<output.dir>/<suite>/export")
    command("compare", cmd_compare, "A/B statistical comparison of two sets of a suite's runs",
            description="compare suite=NAME a=KEY=VALUE[,KEY=VALUE] b=KEY=VALUE[,...] [by=KEY ...] "
                        "[where=KEY=VALUE ...] "
                        "[metric=COLUMN] [format=github|latex|csv] [alpha=0.05] [name=NAME] "
                        "[output.dir=PATH]: per group of the by= keys, a paired t-test and Wilcoxon "
                        "test on seed pairs (Welch's t-test without pairs), a bootstrap 95 % CI of the "
                        "difference, an effect size, Holm-adjusted p-values and a verdict; also writes "
                        "<output.dir>/<suite>/tables/compare-<name>.md and .csv")
    command("report", cmd_report, "write a static HTML site of the results (leaderboards, figures, run pages)",
            description="report [suite=NAME ...] [output.dir=PATH] [site=PATH] [records=false]: every "
                        "suite under output.dir (default results), or the named ones, as a "
                        "self-contained site in site (default <output.dir>/site); open "
                        "<site>/index.html or publish the folder on any static web server. "
                        "records=false leaves out the copies of the raw records")
    command("verdicts", cmd_verdicts, "answer the papers' claims a suite lists, with statistics and a verdict",
            description="verdicts [suite=NAME ...] [output.dir=PATH] [format=github|latex|csv] "
                        "[budget=NAME]: for each claim in the suites' claims: sections (default: every "
                        "suite that has one), the compare statistics per group, a verdict, the budget "
                        "and how much of the study has finished; budget= judges the claims at a named "
                        "budget of their study (e.g. full) instead of their first; also writes "
                        "<output.dir>/<suite>/tables/verdicts.md (verdicts-<budget>.md) and .csv, "
                        "which the report shows first")
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
