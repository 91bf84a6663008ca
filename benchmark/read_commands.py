"""The commands of ``python -m benchmark`` that read a suite's records: leaderboard, plot,
export, reindex, compare, verdicts and report (``run``, ``show`` and ``list`` are in
:mod:`benchmark.cli`, which parses the command line for all of them)."""
import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from benchmark import leaderboard
from benchmark.config import check_key, parse_overrides
from benchmark.filters import describe, parse_where, select, split_where
from benchmark.interrupt import held
from benchmark.results import ResultStore
from benchmark.suites import OfSuite, Suite, load_suite, suite_names
from benchmark.sweep import record_ids
from dgl_ma.errors import ConfigError, UserError


def split_suite(args: List[str], required: bool) -> (Optional[str], Dict[str, Any]):
    overrides = parse_overrides(args)
    suite = overrides.pop("suite", None)
    if required and suite is None:
        raise ConfigError(f"Name a suite: suite=NAME. Available: {', '.join(suite_names()) or 'none'}.")
    return (str(suite) if suite is not None else None), overrides


@dataclasses.dataclass
class Target(OfSuite):
    """A suite's records folder as the read-only commands see it."""
    name: str
    folder: Path
    suite: Optional[Suite]   # None: a folder of records whose suite file is not known here


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
    suite_name, overrides = split_suite(rest, required=True)
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
    with held():  # torch and matplotlib import here (see benchmark.interrupt.held)
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
    suite_name, overrides = split_suite(rest, required=False)
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
    out_dir = _output_dir(overrides) or Path("results")
    fmt = str(overrides.pop("format", "github"))
    budget = overrides.pop("budget", None)
    if overrides:
        raise ConfigError(f"verdicts takes suite=, output.dir=, format= and budget= only; got {', '.join(overrides)}.")
    leaderboard.check_format(fmt)
    from benchmark import verdicts  # scipy.stats only when judging

    text, written = verdicts.run(suites, out_dir, fmt, None if budget is None else str(budget))
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
    out_dir = _output_dir(overrides) or Path("results")
    site = Path(str(overrides.pop("site", out_dir / "site")))
    records = overrides.pop("records", True)
    if not isinstance(records, bool):
        raise ConfigError(f"records= takes true or false (copy each raw record into the site); got {records!r}.")
    if overrides:
        raise ConfigError(f"report takes suite=, output.dir=, site= and records= only; got {', '.join(overrides)}.")
    with held():
        from benchmark.report import build_site  # jinja2 and matplotlib only when reporting

    summary = build_site(out_dir, site, suites, records=records)
    print(f"{summary.suites} suite(s), {summary.runs} run pages, {summary.malformed} malformed record(s); "
          f"{summary.bytes / 2**20:.1f} MB in {summary.seconds:.1f} s", file=sys.stderr)
    print(summary.index)
    return 0
