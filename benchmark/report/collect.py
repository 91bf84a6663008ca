"""What the report shows, read from a results folder: each suite's records, its malformed
records (listed, never fatal), its suite definition and the extra tables other commands left.

A record is *malformed* when its file is not JSON, lacks what every record has (``run_id``,
``status``, ``seed``, ``config`` with ``data.name`` and ``model.name``), or cannot be
aggregated by :func:`benchmark.leaderboard.aggregate` with the suite's metrics (the leaderboard
itself is the validator: a record it accepts is one the site can show).

Extra tables (the hook for verdict and fidelity tables): every ``<output.dir>/<suite>/tables/*``
file with the suffix ``.csv`` (first line = header), ``.md`` (GitHub pipe tables, ``#`` headings
and paragraphs) or ``.json`` (``{"title": str, "columns": [str], "rows": [[cell]], "note": str}``,
title and note optional) is rendered on the suite page under a heading made from its title or
file name (``verdicts.md`` → "Verdicts"; a Markdown file's first-line heading is its title).
Files that differ only in suffix are one table (``compare`` writes ``compare-<name>.md`` and
``.csv``): the Markdown one is shown, all are copied into the site for download. Verdict tables
come first, then ``compare`` tables, then fidelity tables, then the others by file name.
"""
import csv
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from tabulate import tabulate

from benchmark import leaderboard
from benchmark.results import TMP_PREFIX
from benchmark.suites import OfSuite, Suite, load_suite, suite_names
from dgl_ma.errors import ConfigError, UserError

STATUSES = ("ok", "diverged", "failed")
TABLE_SUFFIXES = (".md", ".json", ".csv")  # one table per name: the first of these that exists is shown
FIRST_TABLES = ("verdict", "compare", "fidelity")  # file names starting with these come first, in this order


@dataclass
class Malformed:
    path: Path
    reason: str


@dataclass
class ExtraTable:
    title: str
    source: Path
    html: str                                       # rendered, escaped markup
    files: List[Path] = field(default_factory=list)  # source and same-name files (e.g. the .csv of a .md)


@dataclass
class SuiteResults(OfSuite):
    name: str
    folder: Path
    records: List[Dict[str, Any]]              # valid records, sorted by file name
    pages: Dict[str, str]                      # run_id -> page stem (the record's file name)
    suite: Optional[Suite]                     # the definition, when suites/<name>.yaml exists
    malformed: List[Malformed] = field(default_factory=list)
    tables: List[ExtraTable] = field(default_factory=list)


def _shape_problem(record: Any) -> Optional[str]:
    if not isinstance(record, dict):
        return f"not a JSON object but a {type(record).__name__}"
    missing = [k for k in ("run_id", "status", "seed", "config") if k not in record]
    if missing:
        return f"missing {', '.join(missing)}"
    if record["status"] not in STATUSES:
        return f"unknown status {record['status']!r} (expected one of {', '.join(STATUSES)})"
    config = record["config"]
    if not (isinstance(config, dict) and isinstance(config.get("data"), dict) and isinstance(config.get("model"), dict)
            and "name" in config["data"] and "name" in config["model"]):
        return "config lacks data.name or model.name"
    return None


def problem(record: Any, metrics: List[str], over: List[str]) -> Optional[str]:
    """Why ``record`` cannot be shown, or None when it can."""
    reason = _shape_problem(record)
    if reason:
        return reason
    try:
        leaderboard.aggregate([record], metrics, over)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        return f"the leaderboard cannot read it ({type(err).__name__}: {err})"
    return None


def read_suite(name: str, folder: Path) -> SuiteResults:
    """The records of one suite folder; unreadable or invalid ones go to ``malformed``."""
    suite = None
    if name in suite_names():
        try:
            suite = load_suite(name)
        except ConfigError:
            suite = None  # a broken suite file does not hide its results: default metrics
    result = SuiteResults(name=name, folder=folder, records=[], pages={}, suite=suite)
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith(TMP_PREFIX):
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            result.malformed.append(Malformed(path, f"not readable as JSON ({err})"))
            continue
        reason = problem(record, result.metrics, result.over)
        if reason is None and record["run_id"] in result.pages:
            reason = f"a second record of run {record['run_id']} (the first is {result.pages[record['run_id']]}.json)"
        if reason:
            result.malformed.append(Malformed(path, reason))
            continue
        result.records.append(record)
        result.pages[record["run_id"]] = path.stem
    result.tables = extra_tables(folder / "tables")
    return result


def collect(out_dir: Path, names: List[str], skip: Optional[Path] = None) -> List[SuiteResults]:
    """The suites under ``out_dir`` (all folders holding ``*.json`` records, or ``names``),
    ``skip`` (the site folder) excluded. Raises :class:`UserError` for a missing or empty
    results folder and for a named suite without records."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise UserError(f"The results folder {out_dir} does not exist. Run `python -m benchmark run suite=NAME` "
                        f"first, or pass output.dir=PATH (the folder that holds one sub-folder per suite).")
    skip = skip.resolve() if skip else None
    if names:
        folders = [(name, out_dir / name) for name in names]
        for name, folder in folders:
            if not any(folder.glob("*.json")):
                raise UserError(f"Suite {name!r} has no records under {folder}. Run `python -m benchmark run "
                                f"suite={name} output.dir={out_dir}` first, or leave suite= out to report every "
                                f"suite found under {out_dir}.")
    else:
        folders = [(p.name, p) for p in sorted(out_dir.iterdir())
                   if p.is_dir() and p.resolve() != skip and any(p.glob("*.json"))]
        if not folders:
            raise UserError(f"The results folder {out_dir} holds no result records (no <suite>/<run id>.json). "
                            f"Run `python -m benchmark run suite=NAME output.dir={out_dir}` first.")
    suites = [read_suite(name, folder) for name, folder in folders]
    for suite in suites:
        if names and not suite.records:
            raise UserError(f"Suite {suite.name!r} has no readable records under {suite.folder}: all "
                            f"{len(suite.malformed)} are malformed, the first ({suite.malformed[0].path.name}): "
                            f"{suite.malformed[0].reason}. Delete them and rerun the suite.")
    return suites


# --- extra tables -------------------------------------------------------------------------------

def _table_html(header: List[Any], rows: List[List[Any]]) -> str:
    text = tabulate(rows, headers=[str(h) for h in header], tablefmt="html", disable_numparse=True)
    return _bold(text.replace("<table>", '<table class="extra">', 1))


def _bold(escaped: str) -> str:
    """``**x**`` (markdown bold, already HTML-escaped) → ``<strong>x</strong>``."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)


def _markdown(text: str) -> Tuple[Optional[str], str]:
    """(title, html): GitHub pipe tables, ``#`` headings and paragraphs, everything escaped; a
    heading on the first line is the title."""
    lines = text.strip().splitlines()
    title = lines.pop(0).lstrip("#").strip() if lines and lines[0].startswith("#") else None
    parts, block = [], []

    def flush_table():
        cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in block]
        body = [row for row in cells[1:] if not all(re.fullmatch(r":?-{2,}:?", c) for c in row if c)]
        parts.append(_table_html(cells[0], body))
        block.clear()

    paragraph: List[str] = []
    for line in lines + [""]:
        if line.lstrip().startswith("|"):
            block.append(line)
            continue
        if block:
            flush_table()
        if not line.strip() or line.startswith("#"):
            if paragraph:
                parts.append(f"<p>{_bold(html.escape(' '.join(paragraph)))}</p>")
                paragraph = []
            if line.startswith("#"):
                parts.append(f"<h4>{html.escape(line.lstrip('#').strip())}</h4>")
        else:
            paragraph.append(line.strip())
    return title, "\n".join(parts)


def _render_table(path: Path) -> Tuple[Optional[str], str]:
    """(title from the file or None, html) of one extra table file."""
    if path.suffix == ".csv":
        rows = list(csv.reader(path.read_text().splitlines()))
        return None, _table_html(rows[0], rows[1:]) if rows else ""
    if path.suffix == ".md":
        return _markdown(path.read_text())
    data = json.loads(path.read_text())
    body = _table_html(data["columns"], data["rows"])
    note = f'<p class="footnote">{html.escape(str(data["note"]))}</p>' if data.get("note") else ""
    return data.get("title"), body + note


def extra_tables(folder: Path) -> List[ExtraTable]:
    """The rendered tables in ``folder`` (see the module docstring); a file that cannot be read
    is shown as such, not fatal."""
    if not folder.is_dir():
        return []
    by_name: Dict[str, List[Path]] = {}
    for path in folder.iterdir():
        if path.suffix in TABLE_SUFFIXES and path.is_file():
            by_name.setdefault(path.stem, []).append(path)
    for paths in by_name.values():
        paths.sort(key=lambda p: TABLE_SUFFIXES.index(p.suffix))
    names = sorted(by_name, key=lambda stem: (next((i for i, first in enumerate(FIRST_TABLES)
                                                    if stem.lower().startswith(first)), len(FIRST_TABLES)), stem))
    tables = []
    for name in names:
        path = by_name[name][0]
        default = path.stem.replace("_", " ").replace("-", " ").capitalize()
        try:
            title, body = _render_table(path)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
            title, body = None, f'<p class="error">{html.escape(f"cannot read {path.name}: {err}")}</p>'
        tables.append(ExtraTable(title or default, path, body, by_name[name]))
    return tables
