"""Build the static results site: an index page, one page per suite, one page per run.

Everything is regenerated from the records on each build (leaderboards by
:mod:`benchmark.leaderboard`, figures by :mod:`benchmark.plots` / :mod:`benchmark.ma_plots`),
rendered with the Jinja2 templates shipped in ``templates/``. Pages use relative links, inline CSS
and a few lines of inline JavaScript (column sorting): the site opens offline from disk or from any
static web server. Layout::

    <site>/index.html                           suites, run counts, malformed records, asv link
    <site>/<suite>/index.html                   leaderboards, pivots, figures, extra tables, runs
    <site>/<suite>/leaderboard.csv              the leaderboard as CSV
    <site>/<suite>/figures/*.png
    <site>/<suite>/tables/*                     copies of <output.dir>/<suite>/tables/ (.md, .csv, .json)
    <site>/<suite>/runs/<run id>.html|.json|.png  run page, its record (unless records=false), its curves
    <site>/asv/                                 a copy of .asv/html, when it exists

The site is built in a temporary folder beside ``<site>`` and moved into place at the end, so a
failed build leaves the previous site as it was. An existing ``<site>`` is replaced only when it
is empty or was written by this command (it holds the marker file ``.dgl-ma-site``).
"""
import datetime as dt
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from benchmark import leaderboard
from benchmark.config import LOCATION_KEYS, flatten
from benchmark.leaderboard import _column_name
from benchmark.report import figures, pages
from benchmark.report.collect import STATUSES, SuiteResults, collect
from dgl_ma.errors import UserError

MARKER = ".dgl-ma-site"
ASV_HTML = Path(".asv") / "html"


@dataclass
class SiteSummary:
    index: Path
    suites: int
    runs: int
    malformed: int
    bytes: int
    seconds: float


def environment() -> Environment:
    env = Environment(loader=PackageLoader("benchmark.report", "templates"), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(num=pages.num, when=pages.when, href=lambda text: quote(str(text)))
    return env


def _check_site(site: Path, out_dir: Path) -> None:
    """Refuse a site folder that would overwrite something that is not an earlier site."""
    site_abs, out_abs = site.resolve(), out_dir.resolve()
    if site_abs == out_abs or site_abs in out_abs.parents:
        raise UserError(f"site={site} would replace the results folder {out_dir}; choose a folder that does not "
                        f"contain the results, e.g. site={out_dir / 'site'}.")
    if site.exists() and not site.is_dir():
        raise UserError(f"site={site} is a file, not a folder; choose another path with site=PATH.")
    if site.is_dir() and any(site.iterdir()) and not (site / MARKER).exists():
        raise UserError(f"The folder {site} is not empty and was not written by `python -m benchmark report` "
                        f"(no {MARKER} file): it is left as it is. Choose another path with site=PATH, or empty it.")


def _staging(site: Path) -> Path:
    """A fresh folder beside ``site`` (same file system, so the final move is a rename)."""
    try:
        site.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{site.name}.tmp-", dir=site.parent))
    except OSError as err:
        raise UserError(f"Cannot write the site to {site}: {err.strerror or err} ({site.parent}). "
                        f"Choose a writable folder with site=PATH.") from None


def _swap(staging: Path, site: Path) -> None:
    old = None
    if site.exists():
        old = site.with_name(f".{site.name}.old-{staging.name.rsplit('-', 1)[-1]}")
        site.rename(old)
    staging.rename(site)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_site(out_dir: Path, site: Path, names: Optional[List[str]] = None, asv_html: Path = ASV_HTML,
               records: bool = True) -> SiteSummary:
    """Write the site of the suites under ``out_dir`` (all, or ``names``) to ``site``; with
    ``records=False`` the run pages do not carry a copy of their raw record (long histories make
    the records most of a site's size)."""
    tick = time.perf_counter()
    out_dir, site = Path(out_dir), Path(site)
    _check_site(site, out_dir)
    suites = collect(out_dir, list(names or []), skip=site)
    staging = _staging(site)
    try:
        env = environment()
        generated = dt.datetime.now(dt.timezone.utc)
        (staging / MARKER).write_text("written by `python -m benchmark report`; regenerated on every build\n")
        plotter = figures.CurvePlotter()
        try:
            for suite in suites:
                _write_suite(env, suite, staging / suite.name, plotter, generated, records)
        finally:
            plotter.close()
        asv = asv_html.is_dir() and (asv_html / "index.html").is_file()
        if asv:
            shutil.copytree(asv_html, staging / "asv")
        index = pages.index_context(suites, out_dir, asv, generated)
        (staging / "index.html").write_text(env.get_template("index.html.j2").render(**index))
        size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
        _swap(staging, site)
    except BaseException as err:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(err, OSError):
            raise UserError(f"Cannot write the site to {site}: {err}. Choose a writable folder with site=PATH; "
                            f"the previous site, if any, is unchanged.") from None
        raise
    runs = sum(len(s.records) for s in suites)
    return SiteSummary(site / "index.html", len(suites), runs, sum(len(s.malformed) for s in suites), size,
                       time.perf_counter() - tick)


def _runs_columns(suite: SuiteResults) -> List[str]:
    """The configuration keys that differ between the suite's runs (dataset first)."""
    keys = leaderboard.varying_keys(leaderboard.aggregate(suite.records, suite.metrics[:1]))
    datasets = {r["config"]["data"]["name"] for r in suite.records}
    return (["data.name"] if len(datasets) > 1 else []) + keys


def _order(value: Any) -> tuple:
    """Sort key mixing numbers (by value) and anything else (by text)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return (0, value, "") if number else (1, 0, str(value))


def _config_summary(records: List[Dict[str, Any]]) -> (List[List[Any]], List[List[Any]]):
    """(keys with one value in every record, keys with several values and those values)."""
    flats = [flatten(r["config"]) for r in records]
    keys = sorted({k for flat in flats for k in flat})
    common, varying = [], []
    for key in keys:
        values = {repr(flat.get(key)): flat.get(key) for flat in flats}
        if len(values) == 1:
            common.append([key, next(iter(values.values()))])
        elif key not in LOCATION_KEYS:
            varying.append([key, ", ".join(str(v) for v in sorted(values.values(), key=_order))])
    return common, varying


def _write_suite(env: Environment, suite: SuiteResults, folder: Path, plotter: figures.CurvePlotter,
                 generated: dt.datetime, copy_records: bool = True) -> None:
    runs_dir = folder / "runs"
    runs_dir.mkdir(parents=True)
    records = suite.records
    boards, pivots, figure_names, columns, figure_error = "", [], [], [], None
    if records:
        boards = leaderboard.render(records, suite.metrics, "html", over=suite.over)
        (folder / "leaderboard.csv").write_text(leaderboard.render(records, suite.metrics, "csv", over=suite.over) + "\n")
        pivots = [(key, leaderboard.render(records, suite.metrics, "html", pivot=key, over=suite.over))
                  for key in (suite.suite.pivot if suite.suite else [])]
        try:
            figure_names = [p.name for p in figures.suite_figures(records, suite.folder, folder / "figures")]
        except Exception as err:  # noqa: BLE001 — shown on the page; the rest of the site is still written
            figure_error = f"{type(err).__name__}: {err}"
        columns = _runs_columns(suite)
    for table in suite.tables:  # the table files themselves, for download
        (folder / "tables").mkdir(exist_ok=True)
        for path in table.files:
            shutil.copyfile(path, folder / "tables" / path.name)
    common, varying = _config_summary(records)
    run_template = env.get_template("run.html.j2")
    rows = []
    for record in records:
        stem = suite.pages[record["run_id"]]
        rows.append(pages.run_row(record, stem, columns))
        if copy_records:
            shutil.copyfile(suite.folder / f"{stem}.json", runs_dir / f"{stem}.json")
        curves, ma, error = None, [], None
        try:
            curves = plotter.plot(record, runs_dir / f"{stem}.png")
            ma = figures.run_ma_figures(record, suite.folder, runs_dir / stem)
        except Exception as err:  # noqa: BLE001 — shown on the run's page
            error = f"{type(err).__name__}: {err}"
        context = pages.run_context(record, stem, suite.name, curves is not None, [p.name for p in ma], generated)
        context.update(figure_error=error, raw=copy_records)
        (runs_dir / f"{stem}.html").write_text(run_template.render(**context))
    rows.sort(key=lambda row: [_order(v) for v in row["values_"]] + [_order(row["seed"])])
    counts = Counter(r["status"] for r in records)
    context = dict(
        name=suite.name, description=suite.suite.description if suite.suite else "",
        suite_file=suite.suite.path.read_text() if suite.suite else None,
        suite_path=str(suite.suite.path) if suite.suite else None, folder=str(suite.folder),
        counts=[(s, counts.get(s, 0)) for s in STATUSES], total=len(records), malformed=suite.malformed,
        leaderboards=boards, pivots=pivots, figures=figure_names, figure_error=figure_error, tables=suite.tables,
        common=common, varying=varying, columns=[(_column_name(k), k) for k in columns], runs=rows,
        metric=pages.metric_name(records), generated=generated, csv=bool(records),
    )
    (folder / "index.html").write_text(env.get_template("suite.html.j2").render(**context))
