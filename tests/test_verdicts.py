"""``python -m benchmark verdicts``: claims of a suite file judged from records written as real
JSON files for the runs the claim's ``run`` plans (so "how much of the study finished" is the
runner's own count); statistics checked against the textbook formulas of test_compare."""
import csv
import io
import textwrap

import pytest

from benchmark.cli import main
from benchmark.results import ResultStore
from benchmark.suites import load_suite
from benchmark.sweep import expand
from test_compare import paired_by_hand

SUITE = """
description: a toy depth study with claims
config:
  model: {name: gat, hidden: 4, heads: 2}
  data: {name: csbm, num_nodes: 60}
  train: {epochs: 3}
  seeds: [0, 1, 2, 3]
grid:
  model.norm: [none, lipschitz]
  model.layers: [2, 8, 16]
claims:
  - name: deep
    claim: lipschitz beats none when deep
    source: a paper
    a: {model.norm: lipschitz}
    b: {model.norm: none}
    by: [model.layers]
    groups: {model.layers: [8, 16]}
    metric: test
    supports: A better
    run:
      short: "model.layers=[2,8,16]"
      long: "model.layers=[2,8,16] train.epochs=5"
    paper_budget: 1000 epochs
  - name: drop
    claim: the drop from 2 to 16 layers is smaller with lipschitz
    a: {model.norm: lipschitz}
    b: {model.norm: none}
    contrast: {model.layers: [2, 16]}
    supports: B higher
  - name: above-half
    claim: lipschitz at 16 layers scores above 0.5
    a: {model.norm: lipschitz, model.layers: 16}
    b_value: 0.5
    supports: A higher
  - name: test-vs-val
    claim: the test score differs from the validation score
    a: {model.norm: none, model.layers: 2}
    b_metric: val
    supports: differs
"""

# test accuracy per (norm, layers) by seed; lipschitz - none at 8: D8, at 16: D16
NONE = {2: [0.80, 0.82, 0.81, 0.83], 8: [0.60, 0.62, 0.61, 0.65], 16: [0.30, 0.35, 0.31, 0.33]}
D8 = [0.10, 0.12, 0.11, 0.13]
D16 = [0.05, 0.02, 0.01, 0.06]
LIP = {2: [0.70, 0.71, 0.69, 0.72], 8: [n + d for n, d in zip(NONE[8], D8)], 16: [n + d for n, d in zip(NONE[16], D16)]}
VAL_SHIFT = [0.01, 0.03, 0.02, 0.02]      # none, 2 layers: val = test + shift


@pytest.fixture
def suite_file(tmp_path):
    path = tmp_path / "toy.yaml"
    path.write_text(textwrap.dedent(SUITE))
    return path


def write_study(suite_file, out, skip=(), overrides=None, shift=0.0):
    """A record for every run the suite plans, values from the tables above (``skip``: run ids
    left out; ``overrides``: of the plan, e.g. another budget; ``shift``: added to lipschitz's scores)."""
    plan = expand(load_suite(str(suite_file)), {**(overrides or {}), "output.dir": str(out)})
    store = ResultStore(plan.output_dir)
    for run in plan.runs:
        norm, layers = run.point["model.norm"], run.point["model.layers"]
        test = (LIP if norm == "lipschitz" else NONE)[layers][run.seed] + (shift if norm == "lipschitz" else 0.0)
        val = test + (VAL_SHIFT[run.seed] if (norm, layers) == ("none", 2) else 0.0)
        if run.run_id not in skip:
            store.write({"run_id": run.run_id, "config_id": run.config_id, "seed": run.seed, "status": "ok",
                         "config": run.resolved, "metric": {"name": "accuracy", "higher_is_better": True},
                         "test": {"accuracy": test, "loss": 1.0}, "val": {"accuracy": val, "loss": 1.0},
                         "best_epoch": 2, "epochs_run": run.resolved["train"]["epochs"]})
    return plan


def verdicts(capsys, suite_file, out):
    code = main(["verdicts", f"suite={suite_file}", f"output.dir={out}", "format=csv"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    return {(r["claim"], r["group"]): r for r in rows}


def test_claims_are_judged_with_the_compare_statistics(tmp_path, suite_file, capsys):
    out = tmp_path / "results"
    write_study(suite_file, out)
    rows = verdicts(capsys, suite_file, out)

    # deep: groups 8 and 16 only, paired t per group, Holm across the two
    deep8, deep16 = rows[("deep", '{"model.layers": 8}')], rows[("deep", '{"model.layers": 16}')]
    assert ("deep", '{"model.layers": 2}') not in rows
    _, _, p8, _ = paired_by_hand(D8)
    _, _, p16, _ = paired_by_hand(D16)
    assert float(deep8["p"]) == pytest.approx(p8, rel=1e-9) and float(deep16["p"]) == pytest.approx(p16, rel=1e-9)
    assert float(deep8["p_holm"]) == pytest.approx(2 * min(p8, p16), rel=1e-9)
    assert float(deep16["p_holm"]) == pytest.approx(max(2 * min(p8, p16), max(p8, p16)), rel=1e-9)
    assert deep8["group_verdict"] == "A better" and deep16["group_verdict"] == "no significant difference at α = 0.05"
    assert deep8["verdict"] == "supported in 1 of 2 groups"
    assert (deep8["finished"], deep8["planned"]) == ("24", "24") and deep8["budget"] == "3 epochs"

    # drop: per seed (score at 2) - (score at 16); A = lipschitz drops less, so B is higher
    (drop,) = [r for (name, _), r in rows.items() if name == "drop"]
    drops = [(LIP[2][s] - LIP[16][s]) - (NONE[2][s] - NONE[16][s]) for s in range(4)]
    _, t, p, _ = paired_by_hand(drops)
    assert float(drop["diff"]) == pytest.approx(sum(drops) / 4) and float(drop["p"]) == pytest.approx(p, rel=1e-9)
    assert drop["group_verdict"] == "B higher" and drop["verdict"] == "supported"

    # above-half: a one-sample test of lipschitz at 16 layers against 0.5 (its scores are far below)
    (above,) = [r for (name, _), r in rows.items() if name == "above-half"]
    _, _, p, _ = paired_by_hand([x - 0.5 for x in LIP[16]])
    assert float(above["p"]) == pytest.approx(p, rel=1e-9) and float(above["mean_b"]) == 0.5
    assert above["group_verdict"] == "B better" and above["verdict"] == "contradicted"

    # test-vs-val: the same runs' two columns, paired by seed; a difference either way supports "differs"
    (tv,) = [r for (name, _), r in rows.items() if name == "test-vs-val"]
    _, _, p, _ = paired_by_hand([-s for s in VAL_SHIFT])
    assert float(tv["p"]) == pytest.approx(p, rel=1e-9) and tv["pairs"] == "4"
    assert tv["verdict"] == ("supported" if p < 0.05 else "not shown (no significant difference)")


def test_a_partly_finished_study_says_so_and_tables_are_written(tmp_path, suite_file, capsys):
    out = tmp_path / "results"
    plan = expand(load_suite(str(suite_file)), {"output.dir": str(out)})
    missing = {r.run_id for r in plan.runs if r.point["model.layers"] == 16 and r.seed == 3}
    write_study(suite_file, out, skip=missing)
    rows = verdicts(capsys, suite_file, out)
    deep16 = rows[("deep", '{"model.layers": 16}')]
    assert (deep16["finished"], deep16["planned"]) == ("22", "24") and deep16["pairs"] == "3"
    code = main(["verdicts", f"suite={suite_file}", f"output.dir={out}"])
    text = capsys.readouterr().out
    assert code == 0 and "study 22 of 24 runs finished" in text
    md = (out / "toy" / "tables" / "verdicts.md").read_text()
    assert md.startswith("# Verdicts") and "lipschitz beats none when deep" in md
    assert "`python -m benchmark run suite=toy model.layers=[2,8,16]`" in md       # the claim's command
    assert (out / "toy" / "tables" / "verdicts.csv").is_file()


def test_claims_without_runs_are_listed_as_not_run(tmp_path, suite_file, capsys):
    rows = verdicts(capsys, suite_file, tmp_path / "empty")
    assert {r["verdict"] for r in rows.values()} == {"not run"} and len(rows) == 4
    assert {r["finished"] for r in rows.values()} == {"0"}


@pytest.mark.parametrize("change, message", [
    ("    supports: A better\n", "    supports: A best\n"),
    ("    b: {model.norm: none}\n    by: [model.layers]\n", "    b: {model.norm: none}\n    b_value: 1\n    by: [model.layers]\n"),
    ("    source: a paper\n", "    source: a paper\n    colour: red\n"),
    ("    metric: test\n", "    metric: accuracy\n"),
    ("    a: {model.norm: lipschitz}\n    b: {model.norm: none}\n    by", "    a: {model.nrom: lipschitz}\n    b: {model.norm: none}\n    by"),
    ("    contrast: {model.layers: [2, 16]}\n", "    contrast: {model.layers: [2, 16]}\n    groups: {model.layers: [2]}\n"),
    ('      long: "model.layers=[2,8,16] train.epochs=5"\n', '      long: "model.layerz=[2,8,16] train.epochs=5"\n'),
    ('      long: "model.layers=[2,8,16] train.epochs=5"\n', '      long run: "model.layers=[2,8,16]"\n'),
    ('      long: "model.layers=[2,8,16] train.epochs=5"\n', '      long: 5\n'),
    ("    claim: lipschitz beats none when deep\n", "    claim: lipschitz beats none when |S| is deep\n"),
])
def test_malformed_claims_exit_2(tmp_path, suite_file, capsys, change, message):
    text = suite_file.read_text()
    assert change in text
    suite_file.write_text(text.replace(change, message, 1))
    code = main(["verdicts", f"suite={suite_file}", f"output.dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err


def test_a_suite_without_claims_exits_2(tmp_path, capsys):
    code = main(["verdicts", "suite=quickstart", f"output.dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2 and "list no claims" in err and "deep_gat" in err


def test_shipped_claims_parse_and_plan():
    """Every shipped suite's claims load, and each claim's run overrides make a plan."""
    from benchmark.suites import suite_names

    with_claims = [s for s in map(load_suite, suite_names()) if s.claims]
    assert {s.name for s in with_claims} >= {"deep_gat", "deep_gt", "ma_zinc", "ma_tox21", "ma_tu_proteins"}
    for suite in with_claims:
        for claim in suite.claims:
            for budget in claim.budgets:
                for overrides in claim.run_overrides(budget):
                    assert expand(suite, overrides).runs


def test_a_claim_whose_sides_overlap_exits_2(tmp_path, suite_file, capsys):
    out = tmp_path / "results"
    write_study(suite_file, out)
    suite_file.write_text(suite_file.read_text().replace("    b: {model.norm: none}\n    by: [model.layers]\n",
                                                         "    b: {model.layers: 16}\n    by: [model.layers]\n", 1))
    code = main(["verdicts", f"suite={suite_file}", f"output.dir={out}"])
    err = capsys.readouterr().err
    assert code == 2 and "Claim deep" in err and "same runs" in err


def test_a_claim_whose_metric_no_run_has_is_not_testable(tmp_path, suite_file, capsys):
    """A share of massive edges is undefined where no run has a massive edge: the claim says that
    instead of "too few seeds" (the toy records have no massive-activation report at all)."""
    suite_file.write_text(suite_file.read_text() + textwrap.indent(textwrap.dedent("""\
        - name: bonds
          claim: massive activations gather on common edge types
          a: {model.norm: none}
          b_value: 0
          by: [model.layers]
          metric: ma_common_edge_excess
          supports: A higher
        """), "  "))
    out = tmp_path / "results"
    write_study(suite_file, out)
    rows = [r for (name, _), r in verdicts(capsys, suite_file, out).items() if name == "bonds"]
    assert len(rows) == 3 and {r["mean_a"] for r in rows} == {"nan"}
    assert {r["verdict"] for r in rows} == {"not testable: no finished run has a value of ma_common_edge_excess"}


def test_a_claim_is_judged_from_the_runs_of_the_budget_asked_for(tmp_path, suite_file, capsys):
    """Two budgets of one study in one folder: each verdict uses its own study's runs only."""
    out = tmp_path / "results"
    write_study(suite_file, out)                                         # 3 epochs: the short budget
    write_study(suite_file, out, overrides={"train.epochs": 5}, shift=-0.2)   # long: lipschitz far worse
    short = verdicts(capsys, suite_file, out)[("deep", '{"model.layers": 8}')]
    assert short["group_verdict"] == "A better" and short["budget"] == "3 epochs"
    code = main(["verdicts", f"suite={suite_file}", f"output.dir={out}", "format=csv", "budget=long"])
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert code == 0 and {r["claim"] for r in rows} == {"deep"}             # the only claim with that budget
    long8 = next(r for r in rows if r["group"] == '{"model.layers": 8}')
    assert long8["group_verdict"] == "B better" and long8["budget"] == "5 epochs"
    assert float(long8["diff"]) == pytest.approx(sum(D8) / 4 - 0.2)
    assert (long8["finished"], long8["planned"]) == ("24", "24")
    md = (out / "toy" / "tables" / "verdicts-long.md").read_text()
    assert "long: 5 epochs / 1000 epochs" in md and "train.epochs=5`" in md
    assert main(["verdicts", f"suite={suite_file}", f"output.dir={out}", "budget=huge"]) == 2
    assert "budgets: long, short" in capsys.readouterr().err


def test_a_verdict_names_the_groups_it_could_not_test():
    from benchmark.compare import Row
    from benchmark.leaderboard import Stat
    from benchmark.paper_claims import PaperClaim
    from benchmark.verdicts import _claim_verdict

    claim = PaperClaim(name="x", claim="x", source="", a={}, supports="A higher")
    tested = Row(group={}, metric_name="m", higher=None, a=Stat.of([2.0, 3.0]), b=Stat.of([1.0, 1.5]), test="paired t",
                 diff=1.0, verdict="A higher")
    untested = Row(group={}, metric_name="m", higher=None, a=Stat.of([]), b=Stat.of([1.0]))
    assert _claim_verdict(claim, [tested]) == "supported"
    assert _claim_verdict(claim, [tested, untested]) == "supported (1 more group with too few seeds)"
    assert _claim_verdict(claim, [untested, untested]) == "too few seeds"
