"""``python -m benchmark compare`` against hand-computed statistics on synthetic records written as
real JSON files; the expected values come from the textbook formulas, not from scipy."""
import csv
import io
import math

import pytest

from benchmark.cli import main
from benchmark.compare import holm
from benchmark.results import ResultStore

# paired differences A - B by seed, per depth (A = lipschitz, B = none)
B2 = [0.70, 0.68, 0.71, 0.69]
D2 = [0.10, 0.12, 0.11, 0.13]
B8 = [0.75, 0.80, 0.78, 0.79]
D8 = [0.05, 0.02, 0.01, 0.06]


def record(norm, layers, seed, value, name="accuracy", higher=True, dataset="csbm", fold=None, status="ok"):
    data = {"name": dataset} if fold is None else {"name": dataset, "fold": fold}
    return {
        "run_id": f"{norm}-{layers}-{dataset}-{fold}-{seed}", "config_id": f"{norm}-{layers}-{dataset}", "seed": seed,
        "status": status, "config": {"model": {"name": "gat", "layers": layers, "norm": norm}, "data": data,
                                     "seeds": [0, 1, 2, 3], "output": {"dir": "x"}},
        "metric": {"name": name, "higher_is_better": higher},
        "test": {name: value, "loss": 1.0}, "val": {name: value, "loss": 1.0}, "best_epoch": 1, "epochs_run": 2,
    }


def write(out_dir, records, suite="toy"):
    store = ResultStore(out_dir / suite)
    for rec in records:
        store.write(rec)


def depth_study(**kw):
    records = []
    for layers, base, diffs in ((2, B2, D2), (8, B8, D8)):
        for seed, (b, d) in enumerate(zip(base, diffs)):
            records += [record("none", layers, seed, b, **kw), record("lipschitz", layers, seed, b + d, **kw)]
    return records


def run(capsys, out_dir, *args):
    code = main(["compare", "suite=toy", f"output.dir={out_dir}", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows_of(out_dir, name):
    return list(csv.DictReader(io.StringIO((out_dir / "toy" / "tables" / f"compare-{name}.csv").read_text())))


def t_two_sided_p(t, df):
    """Student t two-sided p-value in closed form for df = 2 and 3 (Abramowitz & Stegun 26.7.3-4)."""
    if df == 2:
        return 1 - abs(t) / math.sqrt(2 + t * t)
    if df == 3:
        theta = math.atan(abs(t) / math.sqrt(3))
        return 1 - 2 / math.pi * (theta + math.sin(theta) * math.cos(theta))
    raise ValueError(df)


def paired_by_hand(diffs):
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    t = mean / (sd / math.sqrt(n))
    return mean, t, t_two_sided_p(t, n - 1), mean / sd


def test_paired_t_wilcoxon_holm_and_verdict_by_hand(tmp_path, capsys):
    out = tmp_path / "results"
    write(out, depth_study())
    code, text, err = run(capsys, out, "a=model.norm=lipschitz", "b=model.norm=none", "by=model.layers", "name=depth")
    assert code == 0, err
    rows = {r["model.layers"]: r for r in rows_of(out, "depth")}
    mean2, t2, p2, dz2 = paired_by_hand(D2)
    mean8, t8, p8, dz8 = paired_by_hand(D8)
    assert p2 < 0.01 < 0.05 < p8  # the data were chosen so: one clear row, one not
    for row, mean, t, p, dz in ((rows["2"], mean2, t2, p2, dz2), (rows["8"], mean8, t8, p8, dz8)):
        assert row["test"] == "paired t" and row["pairs"] == "4" and row["df"] == "3.0"
        assert float(row["diff"]) == pytest.approx(mean)
        assert float(row["statistic"]) == pytest.approx(t)
        assert float(row["p"]) == pytest.approx(p, rel=1e-9)
        assert float(row["effect"]) == pytest.approx(dz) and row["effect_name"] == "d_z"
        # exact signed-rank test, 4 positive differences: P(W- = 0) = 1/2^4, two-sided 2/16
        assert float(row["p_wilcoxon"]) == pytest.approx(2 / 16)
        assert float(row["p_wilcoxon_holm"]) == pytest.approx(min(1, 2 * 2 / 16))
        # the percentile bootstrap CI of the mean difference lies within the differences and holds their mean
        low, high = float(row["ci_low"]), float(row["ci_high"])
        diffs = D2 if row is rows["2"] else D8
        assert min(diffs) <= low < mean < high <= max(diffs)
    # Holm with m = 2: the smaller p doubled, the larger one max(that, itself)
    assert float(rows["2"]["p_holm"]) == pytest.approx(2 * p2, rel=1e-9)
    assert float(rows["8"]["p_holm"]) == pytest.approx(max(2 * p2, p8), rel=1e-9)
    assert rows["2"]["verdict"] == "A better"
    assert rows["8"]["verdict"] == "no significant difference at α = 0.05"
    assert float(rows["2"]["ci_low"]) > 0  # the CI of the clear row excludes 0
    # the printed table and the markdown file under tables/
    assert "A better" in text and "no significant difference at α = 0.05" in text
    md = (out / "toy" / "tables" / "compare-depth.md").read_text()
    assert "A = model.norm=lipschitz vs B = model.norm=none" in md and "4 pairs" in md and "Holm" in md


def test_bootstrap_ci_is_reproducible(tmp_path, capsys):
    out = tmp_path / "results"
    write(out, depth_study())
    args = ("a=model.norm=lipschitz", "b=model.norm=none", "by=model.layers", "format=csv")
    first, second = run(capsys, out, *args)[1], run(capsys, out, *args)[1]
    assert first == second and "ci_low" in first


def test_lower_is_better_flips_the_verdict(tmp_path, capsys):
    out = tmp_path / "results"
    write(out, depth_study(name="mae", higher=False))
    code, _, err = run(capsys, out, "a=model.norm=lipschitz", "b=model.norm=none", "by=model.layers", "name=mae")
    assert code == 0, err
    rows = {r["model.layers"]: r for r in rows_of(out, "mae")}
    assert float(rows["2"]["diff"]) > 0  # A's MAE is larger: A is worse
    assert rows["2"]["verdict"] == "B better" and rows["2"]["higher_is_better"] == "False"


def t_density_tail(t, df, steps=20000):
    """Two-sided p-value of Student's t with any (real) df: 1 - 2 * integral_0^|t| of the t density,
    by Simpson's rule (used where no closed form exists, e.g. Welch's fractional df)."""
    c = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
    f = lambda x: c * (1 + x * x / df) ** (-(df + 1) / 2)  # noqa: E731
    h = abs(t) / steps
    area = f(0) + f(abs(t)) + sum((4 if i % 2 else 2) * f(i * h) for i in range(1, steps))
    return 1 - 2 * area * h / 3


def test_welch_when_seeds_do_not_pair(tmp_path, capsys):
    out = tmp_path / "results"
    a, b = [0.70, 0.74, 0.78], [0.60, 0.61]
    write(out, [record("lipschitz", 2, s, v) for s, v in zip((0, 1, 2), a)] +
          [record("none", 2, s, v) for s, v in zip((5, 6), b)])
    code, text, err = run(capsys, out, "a=model.norm=lipschitz", "b=model.norm=none", "name=welch")
    assert code == 0, err
    (row,) = rows_of(out, "welch")
    mean_a, mean_b = sum(a) / 3, sum(b) / 2
    var_a = sum((x - mean_a) ** 2 for x in a) / 2
    var_b = sum((x - mean_b) ** 2 for x in b) / 1
    se2_a, se2_b = var_a / 3, var_b / 2
    t = (mean_a - mean_b) / math.sqrt(se2_a + se2_b)
    df = (se2_a + se2_b) ** 2 / (se2_a ** 2 / 2 + se2_b ** 2 / 1)  # Welch–Satterthwaite, not Student's 3
    assert t_density_tail(3.0, 3) == pytest.approx(t_two_sided_p(3.0, 3), abs=1e-10)  # the integrator itself
    assert row["test"] == "Welch t" and row["pairs"] == "0" and row["n_a"] == "3" and row["n_b"] == "2"
    assert float(row["statistic"]) == pytest.approx(t) and float(row["df"]) == pytest.approx(df)
    assert float(row["p"]) == pytest.approx(t_density_tail(t, df), rel=1e-7)
    assert float(row["p_holm"]) == pytest.approx(float(row["p"]))  # one row: Holm changes nothing
    pooled = math.sqrt((2 * var_a + 1 * var_b) / 3)
    assert float(row["effect"]) == pytest.approx((mean_a - mean_b) / pooled) and row["effect_name"] == "d"
    assert float(row["diff"]) == pytest.approx(mean_a - mean_b)
    assert math.isnan(float(row["p_wilcoxon"]))
    assert t_density_tail(t, df) < 0.05 and row["verdict"] == "A better"
    assert "3 / 2" in text and "Welch t" in text


def test_holm_by_hand():
    adjusted = holm([0.01, 0.04, 0.03, float("nan")])
    # m = 3 tests: 3 * 0.01; max(0.03, 2 * 0.03); max(0.06, 1 * 0.04); nan is no test
    assert adjusted[:3] == pytest.approx([0.03, 0.06, 0.06]) and math.isnan(adjusted[3])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_holm_can_turn_a_raw_significance_into_none(tmp_path, capsys):
    # two rows whose raw paired p is below 0.05 but whose Holm-adjusted p is not
    diffs = [0.03, 0.07, 0.03, 0.09]
    _, _, p, _ = paired_by_hand(diffs)
    assert 0.025 < p < 0.05
    out = tmp_path / "results"
    records = []
    for layers in (2, 8):
        for seed, d in enumerate(diffs):
            records += [record("none", layers, seed, 0.5), record("lipschitz", layers, seed, 0.5 + d)]
    write(out, records)
    run(capsys, out, "a=model.norm=lipschitz", "b=model.norm=none", "by=model.layers", "name=h")
    for row in rows_of(out, "h"):
        assert float(row["p"]) == pytest.approx(p) and float(row["p_holm"]) == pytest.approx(2 * p)
        assert row["verdict"] == "no significant difference at α = 0.05"


def test_seed_and_fold_pairs(tmp_path, capsys):
    out = tmp_path / "results"
    records = []
    for fold, d in enumerate((0.05, 0.02, 0.01, 0.06)):
        records += [record("none", 2, 0, 0.5, fold=fold), record("lipschitz", 2, 0, 0.5 + d, fold=fold)]
    write(out, records)
    code, _, err = run(capsys, out, "a=model.norm=lipschitz", "b=model.norm=none", "name=folds")
    assert code == 0, err
    (row,) = rows_of(out, "folds")
    assert row["test"] == "paired t" and row["pairs"] == "4"
    assert float(row["p"]) == pytest.approx(paired_by_hand(D8)[2], rel=1e-9)


def test_one_seed_is_a_too_few_seeds_row(tmp_path, capsys):
    out = tmp_path / "results"
    write(out, [record("none", 2, 0, 0.5), record("lipschitz", 2, 0, 0.6)] +
          [record("none", 16, s, 0.5 + s / 100) for s in range(3)] + [record("lipschitz", 16, s, 0.6 + s / 50) for s in range(3)])
    code, text, err = run(capsys, out, "a=model.norm=lipschitz", "b=model.norm=none", "by=model.layers", "name=one")
    assert code == 0, err
    ordered = rows_of(out, "one")
    assert [r["model.layers"] for r in ordered] == ["2", "16"]  # rows in numeric order of the by= key
    rows = {r["model.layers"]: r for r in ordered}
    assert rows["2"]["verdict"] == "too few seeds" and rows["2"]["test"] == "—" and math.isnan(float(rows["2"]["p"]))
    assert rows["16"]["test"] == "paired t"
    # the untested row does not count in Holm's m: the other row keeps its raw p
    assert float(rows["16"]["p_holm"]) == pytest.approx(float(rows["16"]["p"]))
    assert "too few seeds" in text


@pytest.mark.parametrize("args, message", [
    (["a=model.nrom=lipschitz", "b=model.norm=none"], "Unknown config key 'model.nrom'. Did you mean 'model.norm'?"),
    (["a=model.norm=lipschitz", "b=model.norm=none", "by=model.layer"], "Unknown config key 'model.layer'"),
    (["a=model.norm=pairnorm", "b=model.norm=none"], "a=model.norm=pairnorm matches none of the 16 records"),
    (["a=model.norm=pairnorm", "b=model.norm=none"], "model.norm takes lipschitz, none there"),
    (["a=model.norm=lipschitz,model.layers=4", "b=model.norm=none"], "model.layers takes 2, 8 there"),
    (["a=model.norm=lipschitz", "b=model.layers=2"], "a= and b= both match 4 run(s)"),
    (["a=model.norm=lipschitz", "b=model.norm=none"], "differ in model.layers. Add by=model.layers"),
    (["a=model.norm=lipschitz", "b=model.norm=none", "metric=accuracy"], "drawn from test, val"),
    (["a=model.norm=lipschitz"], "b= is missing"),
    (["a=model.norm=lipschitz", "b=model.norm=none", "by=model.layers", "colour=red"], "compare takes suite="),
    (["a=model.norm=lipschitz", "b=model.norm=none", "by=model.layers", "format=xml"], "Unknown leaderboard format"),
])
def test_user_errors_exit_2_with_a_message(tmp_path, capsys, args, message):
    out = tmp_path / "results"
    write(out, depth_study())
    code, text, err = run(capsys, out, *args)
    assert code == 2 and message in err and "Traceback" not in err and text == ""
    assert not (out / "toy" / "tables").exists()


def test_no_records(tmp_path, capsys):
    code, _, err = run(capsys, tmp_path / "empty", "a=model.norm=lipschitz", "b=model.norm=none")
    assert code == 2 and "No result records" in err


def test_different_metrics_need_by_dataset(tmp_path, capsys):
    out = tmp_path / "results"
    write(out, [record("lipschitz", 2, s, 0.5, dataset="csbm") for s in range(2)] +
          [record("none", 2, s, 0.5, dataset="zinc", name="mae", higher=False) for s in range(2)])
    code, _, err = run(capsys, out, "a=data.name=csbm", "b=data.name=zinc")
    assert code == 2 and "different metrics (accuracy, mae)" in err


def test_latex_and_default_name(tmp_path, capsys):
    out = tmp_path / "results"
    write(out, depth_study())
    code, text, _ = run(capsys, out, "a=model.norm=lipschitz", "b=model.norm=none", "by=model.layers", "format=latex")
    assert code == 0 and r"\toprule" in text and r"$\pm$" in text
    assert (out / "toy" / "tables" / "compare-norm-lipschitz-vs-norm-none-by-layers.md").exists()
    assert (out / "toy" / "tables" / "compare-norm-lipschitz-vs-norm-none-by-layers.csv").exists()
