"""The report site in a real browser: Debian's chromium, headless, driven by Playwright's Python
package through its executable path (never a browser that Playwright downloads), opening the
pages from disk with a fresh profile and no network use.

Checks: every page of the site renders without console errors and with its images loaded;
clicking a leaderboard column header reorders the rows (and a second click reverses them); a run
link opens that run's page. Without chromium or Playwright the test skips with the reason,
except when ``DGL_MA_REQUIRE_BROWSER=1`` (CI, whose .ci/run installs chromium): then it fails.
"""
import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing() -> str:
    """Why the browser cannot run here ('' when it can)."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is absent (apt-get install -y --no-install-recommends chromium; .ci/run does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (it is in the dev extra: pip install -e '.[dev]')"
    return ""


@pytest.fixture
def browser(tmp_path):
    reason = _missing()
    if reason:
        if os.environ.get("DGL_MA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"DGL_MA_REQUIRE_BROWSER=1 but the browser test cannot run: {reason}")
        pytest.skip(f"browser test skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport={"width": 1280, "height": 900}, offline=True)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(tmp_path / "profile", ignore_errors=True)


class Console:
    """Errors a page reports: console messages of type error and uncaught exceptions."""

    def __init__(self, page):
        self.errors = []
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))


def _column(page, table, index: int):
    return page.eval_on_selector(table, f"t => Array.from(t.tBodies[0].rows).map(r => r.cells[{index}].textContent.trim())")


def _numbers(cells):
    return [float(c.split(" ")[0]) for c in cells]


def test_pages_render_without_errors(browser, report_site):
    page = browser.new_page()
    console = Console(page)
    pages = sorted(report_site.rglob("*.html"))
    for path in pages:
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        # lazy images (the suite pages' figures) do not delay "load": bring them near the
        # viewport and wait until each has finished, loaded or broken
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=30000)
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        assert not broken, f"{path}: images not shown: {broken}"
        assert page.title().endswith("dgl-ma results")
    assert not console.errors, console.errors


def test_sorting_a_leaderboard_column_reorders_the_rows(browser, report_site):
    page = browser.new_page()
    console = Console(page)
    page.goto((report_site / "quickstart" / "index.html").as_uri())
    table = "table.leaderboard >> nth=0"
    header = page.locator(table).locator("thead th")
    names = [h.strip() for h in header.all_inner_texts()]
    test_col, val_col = names.index("test accuracy"), names.index("val accuracy")
    before = _column(page, "table.leaderboard", test_col)
    rows_before = sorted(page.locator(table).locator("tbody tr").all_inner_texts())
    assert _numbers(before) == sorted(_numbers(before), reverse=True)  # the leaderboard's order: best first
    header.nth(test_col).click()
    ascending = _column(page, "table.leaderboard", test_col)
    assert _numbers(ascending) == sorted(_numbers(before)) and ascending != before
    assert page.locator(table).locator("thead th").nth(test_col).get_attribute("aria-sort") == "ascending"
    header.nth(test_col).click()
    assert _numbers(_column(page, "table.leaderboard", test_col)) == sorted(_numbers(before), reverse=True)
    header.nth(val_col).click()
    assert _numbers(_column(page, "table.leaderboard", val_col)) == sorted(_numbers(_column(page, "table.leaderboard", val_col)))
    assert sorted(page.locator(table).locator("tbody tr").all_inner_texts()) == rows_before  # same rows, reordered
    assert not console.errors, console.errors


def test_a_run_link_opens_its_page(browser, report_site):
    page = browser.new_page()
    console = Console(page)
    page.goto((report_site / "index.html").as_uri())
    page.click("#suite-table a >> text=quickstart")
    assert page.url.endswith("/quickstart/index.html")
    link = page.locator("#runs-table tbody tr a").first
    run_id = link.inner_text()
    link.click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/quickstart/runs/{run_id}.html")
    assert run_id in page.locator("h1").inner_text()
    page.click("nav >> text=quickstart")
    assert page.url.endswith("/quickstart/index.html")
    assert not console.errors, console.errors
