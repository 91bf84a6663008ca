"""`python -m benchmark report`: the generated HTML of a real results folder (tests/report_fixtures.py)
— links resolve inside the site, every record has its page, the numbers are the leaderboard's —
and its exit-2 errors. The browser checks are in test_report_browser.py."""
import csv
import io
import json
import math
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List
from urllib.parse import unquote

import pytest

from benchmark.cli import main
from benchmark.leaderboard import render
from benchmark.report import build_site
from benchmark.report.collect import extra_tables

pytestmark = pytest.mark.slow


class Page(HTMLParser):
    """Links, image sources, scripts, headings and tables (cell texts) of one HTML page."""

    def __init__(self, path: Path):
        super().__init__()
        self.links: List[str] = []
        self.scripts: List[Dict[str, str]] = []
        self.headings: List[str] = []
        self.tables: List[Dict] = []        # {"class", "heading", "rows": [[cell text]], "bold": [(row, col)]}
        self._cell, self._heading, self._last_heading = None, None, ""
        self.feed(path.read_text())

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "src"):
            if key in attrs and tag != "script":
                self.links.append(attrs[key])
        if tag == "script":
            self.scripts.append(attrs)
        if tag in ("h1", "h2", "h3", "h4"):
            self._heading = ""
        if tag == "table":
            self.tables.append({"class": attrs.get("class", ""), "id": attrs.get("id"), "heading": self._last_heading,
                                "rows": [], "bold": []})
        if tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        if tag in ("td", "th") and self.tables:
            self._cell = ""
        if tag == "strong" and self._cell is not None:
            table = self.tables[-1]
            table["bold"].append((len(table["rows"]) - 1, len(table["rows"][-1])))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append(self._cell.strip())
            self._cell = None
        if tag in ("h1", "h2", "h3", "h4") and self._heading is not None:
            self.headings.append(self._heading.strip())
            self._last_heading, self._heading = self._heading.strip(), None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._heading is not None:
            self._heading += data


def _pages(site: Path) -> List[Path]:
    return sorted(site.rglob("*.html"))


def test_every_link_resolves_inside_the_site_and_nothing_is_fetched(report_site):
    pages = _pages(report_site)
    assert len(pages) >= 1 + 2 + 9  # index, two suites, 8 + 1 runs
    for path in pages:
        page = Page(path)
        for link in page.links:
            assert not link.startswith(("http:", "https:", "//")), f"{path}: external link {link}"
            if link.startswith(("#", "data:")):
                continue
            target = (path.parent / unquote(link.split("#")[0])).resolve()
            assert target.is_file(), f"{path.relative_to(report_site)} links to a missing {link}"
            assert report_site.resolve() in target.parents, f"{path}: {link} leaves the site"
        assert all("src" not in script for script in page.scripts), f"{path}: a script from a file or CDN"


def test_every_record_has_its_page(report_site, report_results):
    for suite in ("quickstart", "ma_tiny"):
        suite_page = Page(report_site / suite / "index.html")
        runs = next(t for t in suite_page.tables if t["id"] == "runs-table")
        linked = {link for link in suite_page.links if link.startswith("runs/")}
        records = [p for p in (report_results["out"] / suite).glob("*.json") if p.stem not in ("broken", "noconfig")]
        assert len(runs["rows"]) - 1 == len(records)  # header + one row per record
        for path in records:
            record = json.loads(path.read_text())
            page = report_site / suite / "runs" / f"{path.stem}.html"
            assert f"runs/{path.stem}.html" in linked
            text = page.read_text()
            assert record["run_id"] in text and f"seed={record['seed']}" in text
            assert (page.parent / f"{path.stem}.json").read_bytes() == path.read_bytes()  # the raw record
            if record["status"] == "ok":
                metric = record["metric"]["name"]
                scores = dict(next(t for t in Page(page).tables if t["heading"] == "Scores")["rows"])
                assert math.isclose(float(scores[f"test {metric}"]), record["test"][metric], abs_tol=5e-5)
                assert (page.parent / f"{path.stem}.png").is_file()  # its curves
    failed = report_results["failed"]
    text = (report_site / "quickstart" / "runs" / f"{failed.stem}.html").read_text()
    assert "planted failure" in text and "Traceback (most recent call last)" in text


def test_ma_run_page_shows_the_report_figures_and_attack(report_site, report_results):
    record_path = next((report_results["ma"]).glob("*.json"))
    record = json.loads(record_path.read_text())
    page = Page(report_site / "ma_tiny" / "runs" / f"{record_path.stem}.html")
    assert {"State: base", "State: final", "Adversarial attack", "Massive activations"} <= set(page.headings)
    final = next(t for t in page.tables if t["heading"] == "State: final")
    assert [row[0] for row in final["rows"][1:]] == [row["layer"] for row in record["massive"]["final"]]
    attack = next(t for t in page.tables if t["heading"] == "Adversarial attack")
    assert [float(row[0]) for row in attack["rows"][1:]] == [a["sigma"] for a in record["attack"]]
    assert f"{record_path.stem}.ma_ratio_curves.png" in page.links
    suite = Page(report_site / "ma_tiny" / "index.html")
    assert {"figures/ma_ratio_curves.png", "figures/ma_gamma_fits.png"} <= set(suite.links)


def _cell_number(text: str) -> float:
    return float(text.split(" ")[0].replace("—", "nan"))


def test_leaderboard_numbers_equal_the_leaderboard(report_site, report_results):
    records = [json.loads(p.read_text()) for p in sorted(report_results["quickstart"].glob("*.json"))
               if p.stem not in ("broken", "noconfig")]  # what `leaderboard format=csv` prints without them
    # (in file-name order, as ResultStore reads them: with tied means, the first one read is "best")
    expected = list(csv.DictReader(io.StringIO(render(records, ["test", "val"], "csv"))))
    page = Page(report_site / "quickstart" / "index.html")
    boards = [t for t in page.tables if t["class"] == "leaderboard"]
    assert {b["heading"].split(" — ")[0] for b in boards} == {row["dataset"] for row in expected}
    seen = 0
    for board in boards:
        dataset = board["heading"].split(" — ")[0]
        header, *rows = board["rows"]
        assert header[0] == "layers" and header[1] == "test accuracy"
        for i, row in enumerate(rows, start=1):
            want = next(r for r in expected if r["dataset"] == dataset and r["model.layers"] == row[0])
            for column, name in ((1, "test"), (2, "val")):
                mean, std = (float(x) for x in row[column].split(" ± ")) if "±" in row[column] else (_cell_number(row[column]), math.nan)
                assert math.isclose(mean, float(want[f"{name}_mean"]), abs_tol=5e-5)
                if not math.isnan(std):
                    assert math.isclose(std, float(want[f"{name}_std"]), abs_tol=5e-5)
            assert row[header.index("n")] == want["n"]
            assert ((i, 1) in board["bold"]) == (want["best"] == "1")  # best row marked
            seen += 1
    assert seen == len(expected)


def test_index_lists_malformed_records_and_counts(report_site):
    page = Page(report_site / "index.html")
    malformed = dict(next(t for t in page.tables if t["id"] == "malformed-table")["rows"][1:])
    assert set(malformed) == {"quickstart/broken.json", "quickstart/noconfig.json"}
    assert "not readable as JSON" in malformed["quickstart/broken.json"]
    assert "missing config" in malformed["quickstart/noconfig.json"]
    suites = {row[0]: row for row in next(t for t in page.tables if t["id"] == "suite-table")["rows"][1:]}
    assert suites["quickstart"][2:7] == ["8", "7", "0", "1", "2"]   # runs, ok, diverged, failed, malformed
    assert suites["ma_tiny"][2:7] == ["1", "1", "0", "0", "0"]
    assert not list((report_site / "quickstart" / "runs").glob("broken*"))


def test_extra_tables_are_rendered_verdicts_first(report_site, report_results):
    page = Page(report_site / "quickstart" / "index.html")
    title = "quickstart: A = model.layers=2 vs B = model.layers=4 — test (accuracy, higher is better)"
    headings = page.headings  # the compare table's own heading is its title
    assert headings.index("Verdicts") < headings.index(title) < headings.index("Fidelity") < \
        headings.index("Budget") < headings.index("Runs")
    compare = next(t for t in page.tables if t["heading"] == title)  # the .md of `compare`, once
    assert [row[0] for row in compare["rows"][1:]] == ["csbm", "minigc"] and "verdict" in compare["rows"][0]
    assert sum(t["heading"] == title for t in page.tables) == 1
    for name in ("compare-depth.md", "compare-depth.csv"):  # both files, for download
        assert f"tables/{name}" in page.links
        assert (report_site / "quickstart" / "tables" / name).read_bytes() == \
            (report_results["quickstart"] / "tables" / name).read_bytes()
    verdicts = [t for t in page.tables if t["class"] == "extra" and t["heading"] == "Verdicts"][0]
    assert verdicts["rows"][1][:2] == ["deeper GAT loses accuracy", "B better"] and (1, 1) in verdicts["bold"]
    fidelity = next(t for t in page.tables if t["heading"] == "Fidelity")
    assert fidelity["rows"] == [["model", "reference", "max abs difference"], ["gat", "dgl.nn.GATConv", "0"],
                                ["gt", "graphdeeplearning/graphtransformer", "1e-15"]]
    assert "<script>alert(1)</script>" not in (report_site / "quickstart" / "index.html").read_text()


def test_an_unreadable_extra_table_is_shown_not_fatal(tmp_path):
    (tmp_path / "verdicts.json").write_text('{"columns": ["a"]}')  # no rows
    (tmp_path / "notes.txt").write_text("ignored")
    tables = extra_tables(tmp_path)
    assert [t.title for t in tables] == ["Verdicts"] and "cannot read verdicts.json" in tables[0].html


def test_pivot_views_the_suite_defines(report_results, tmp_path, monkeypatch):
    suites = tmp_path / "suites"
    suites.mkdir()
    text = (Path(__file__).resolve().parent.parent / "suites" / "quickstart.yaml").read_text()
    (suites / "quickstart.yaml").write_text(text.replace("leaderboard:\n", "leaderboard:\n  pivot: [model.layers]\n"))
    monkeypatch.setenv("DGL_MA_SUITES", str(suites))
    summary = build_site(report_results["out"], tmp_path / "site", ["quickstart"])
    assert summary.suites == 1 and summary.runs == 8 and summary.malformed == 2
    page = Page(tmp_path / "site" / "quickstart" / "index.html")
    pivots = [t for t in page.tables if t["class"] == "leaderboard" and "by model.layers" in t["heading"]]
    assert len(pivots) == 2 and all(t["rows"][0] == ["layers=2", "layers=4"] for t in pivots)


def test_rebuild_replaces_the_previous_site(report_results, tmp_path):
    out, site = tmp_path / "results", tmp_path / "site"
    (out / "one").mkdir(parents=True)
    record = next(p for p in sorted(report_results["quickstart"].glob("*.json"))
                  if p.stem not in ("broken", "noconfig") and p != report_results["failed"])
    shutil.copy(record, out / "one")
    build_site(out, site)
    (site / "stale.html").write_text("left over")
    assert (site / "one" / "runs" / record.name).is_file()  # the raw record, by default
    assert main(["report", f"output.dir={out}", f"site={site}", "records=false"]) == 0
    page = site / "one" / "runs" / record.name.replace(".json", ".html")
    assert not (site / "stale.html").exists() and page.is_file()
    assert not (site / "one" / "runs" / record.name).exists() and "raw record" not in page.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site")]  # no staging folder left


def test_a_record_the_figures_cannot_read_is_reported_on_the_page(report_results, tmp_path):
    out = tmp_path / "results"
    (out / "one").mkdir(parents=True)
    source = next(p for p in sorted(report_results["quickstart"].glob("*.json"))
                  if p.stem not in ("broken", "noconfig") and p != report_results["failed"])
    record = json.loads(source.read_text())
    record["diagnostics"][0]["layers"][0]["weight_grad"] = "not a number"
    (out / "one" / source.name).write_text(json.dumps(record))
    build_site(out, tmp_path / "site")
    assert "The figures could not be drawn from these records: ValueError" in (tmp_path / "site" / "one" / "index.html").read_text()
    assert (tmp_path / "site" / "one" / "runs" / source.name.replace(".json", ".html")).is_file()


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"),
    ("empty", "holds no result records"),
    ("no-records", "has no records under"),
    ("site-under-a-file", "Cannot write the site"),
    ("foreign-folder", "not written by `python -m benchmark report`"),
    ("site-is-results", "would replace the results folder"),
    ("unknown-key", "report takes suite=, output.dir=, site= and records= only"),
    ("records-not-bool", "records= takes true or false"),
])
def test_user_errors_exit_2(case, message, report_results, tmp_path, capsys):
    out, site = report_results["out"], tmp_path / "site"
    args = [f"output.dir={out}"]
    if case == "missing":
        args = [f"output.dir={tmp_path / 'nowhere'}"]
    elif case == "empty":
        (tmp_path / "empty" / "some_suite").mkdir(parents=True)
        args = [f"output.dir={tmp_path / 'empty'}"]
    elif case == "no-records":
        args.append("suite=deep_gat")
    elif case == "site-under-a-file":
        (tmp_path / "file").write_text("")
        site = tmp_path / "file" / "site"
    elif case == "foreign-folder":
        site.mkdir()
        (site / "notes.txt").write_text("mine")
    elif case == "site-is-results":
        site = out.parent
    elif case == "unknown-key":
        args.append("format=pdf")
    elif case == "records-not-bool":
        args.append("records=some")
    capsys.readouterr()
    assert main(["report", *args, f"site={site}"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    if case == "foreign-folder":
        assert (site / "notes.txt").read_text() == "mine"


def test_leaderboard_html_format_escapes_and_marks_the_best(report_results):
    records = [json.loads(p.read_text()) for p in report_results["ma"].glob("*.json")]
    records[0]["config"]["data"]["name"] = "<zinc & co>"  # a name that HTML must escape
    text = render(records, ["test", "val"], "html")
    assert "<h3>&lt;zinc &amp; co&gt; — accuracy, higher is better</h3>" in text
    assert '<table class="leaderboard">' in text and "<strong>" in text and "BOLD" not in text


def test_suite_pivot_must_be_a_list_of_keys(tmp_path):
    from benchmark.suites import load_suite
    from dgl_ma.errors import ConfigError

    path = tmp_path / "s.yaml"
    path.write_text("grid: {model.layers: [1, 2]}\nleaderboard: {pivot: model.layers}\n")
    with pytest.raises(ConfigError, match="leaderboard.pivot must be a list"):
        load_suite(str(path))
    path.write_text("grid: {model.layers: [1, 2]}\nleaderboard: {pivot: [model.layerz]}\n")
    with pytest.raises(ConfigError, match="Did you mean 'model.layers'"):
        load_suite(str(path))
