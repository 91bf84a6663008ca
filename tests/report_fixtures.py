"""A real results folder for the report tests, made once per session (conftest.py's fixtures).

* ``quickstart`` run through the CLI with small data: 2 datasets x 2 depths x 2 seeds = 8 real
  records with per-epoch history and epoch-0 diagnostics.
* ``ma_tiny``: one real graph-transformer run with ``analysis.massive`` and ``analysis.attack``
  (its activation files beside the record), from a suite file in the same temporary folder.
* In ``quickstart``: the tables of a real ``compare`` (``tables/compare-depth.md`` and ``.csv``),
  one real record rewritten the way the runner writes a crashed run (``failed``, message,
  traceback, no scores), two malformed records (not JSON; JSON without a config), and in
  ``tables/`` a verdict (Markdown), a fidelity (CSV) and a JSON table.
"""
import json
import textwrap
from pathlib import Path
from typing import Dict

from benchmark.cli import main

MA_SUITE = """
description: one tiny massive-activation run for the report tests
config:
  model: {name: gt, layers: 2, hidden: 4, heads: 2, norm: layernorm}
  data: {name: minigc, num_graphs: 40}
  train: {epochs: 2, batch_size: 16, patience: 0}
  analysis: {massive: true, attack: true, cap_edges: 300, attack_steps: 2, attack_batches: 1, sigmas: [0.01, 0.1]}
  seeds: [0]
grid:
  model.ebt: [none]
leaderboard:
  metrics: [test, ma_max_ratio, ma_fraction, gain@0.1]
"""

VERDICTS_MD = """# Verdicts

| claim | verdict | p (Holm) |
|---|---|---|
| deeper GAT loses accuracy | **B better** | 0.012 |
| LipschitzNorm helps at depth | no significant difference at α = 0.05 | 0.41 |

Paired t-test over seeds; <script>alert(1)</script> stays text.
"""

FIDELITY_CSV = "model,reference,max abs difference\ngat,dgl.nn.GATConv,0\ngt,graphdeeplearning/graphtransformer,1e-15\n"

EXTRA_JSON = {"title": "Budget", "columns": ["suite", "epochs"], "rows": [["quickstart", 3]], "note": "as run"}


def make_results(root: Path) -> Dict[str, Path]:
    """Run the suites into ``root / "results"`` and add the hand-made files; return the paths."""
    out = root / "results"
    common = [f"output.dir={out}", f"data.root={root / 'data'}", "--no-progress"]
    code = main(["run", "suite=quickstart", "seeds=[0,1]", "train.epochs=3", "train.diagnostics_every=2",
                 "data.num_nodes=60", "data.num_graphs=40", *common])
    assert code == 0, "the quickstart runs failed"
    suite_file = root / "ma_tiny.yaml"
    suite_file.write_text(textwrap.dedent(MA_SUITE))
    assert main(["run", f"suite={suite_file}", *common]) == 0, "the MA run failed"
    assert main(["compare", "suite=quickstart", "a=model.layers=2", "b=model.layers=4", "by=data.name",
                 "name=depth", f"output.dir={out}"]) == 0  # tables/compare-depth.md and .csv

    folder = out / "quickstart"
    first = sorted(folder.glob("*.json"))[0]
    record = json.loads(first.read_text())
    for key in ("val", "test", "best_epoch", "history", "diagnostics", "seconds_per_epoch", "epochs_run"):
        record.pop(key, None)
    record.update(status="failed", message="RuntimeError: planted failure for the report test",
                  traceback="Traceback (most recent call last):\n  File \"engine.py\", line 1\nRuntimeError: planted")
    first.write_text(json.dumps(record))
    (folder / "broken.json").write_text('{"run_id": "broken", "status": ')
    (folder / "noconfig.json").write_text(json.dumps({"run_id": "noconfig", "status": "ok", "seed": 0}))
    tables = folder / "tables"
    tables.mkdir(exist_ok=True)
    (tables / "verdicts.md").write_text(VERDICTS_MD)
    (tables / "fidelity.csv").write_text(FIDELITY_CSV)
    (tables / "budget.json").write_text(json.dumps(EXTRA_JSON))
    return {"out": out, "failed": first, "quickstart": folder, "ma": out / "ma_tiny"}


def check_site(out: Path, suite_name: str, figures: bool = True) -> Path:
    """Build the site of ``out`` with ``python -m benchmark report`` and check the page of
    ``suite_name``: a row and a page per record, a leaderboard, figures (when ``figures``), no
    error paragraph on any page, the index linking the suite. The shipped suites' CI-size tests
    call it, so the records of every shipped suite are known to make a site. Returns the site."""
    site = out.parent / f"{out.name}-site"
    assert main(["report", f"suite={suite_name}", f"output.dir={out}", f"site={site}"]) == 0
    index = (site / "index.html").read_text()
    assert f'href="{suite_name}/index.html"' in index
    page = (site / suite_name / "index.html").read_text()
    records = sorted((out / suite_name).glob("*.json"))
    assert records, f"no records of {suite_name} under {out}"
    for path in records:
        assert f'href="runs/{path.stem}.html"' in page
        run_page = (site / suite_name / "runs" / f"{path.stem}.html").read_text()
        assert json.loads(path.read_text())["run_id"] in run_page and 'class="error"' not in run_page
    assert 'class="error"' not in page and "leaderboard" in page
    if figures:
        assert list((site / suite_name / "figures").glob("*.png")), "the suite page has no figures"
    return site
