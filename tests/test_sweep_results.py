"""Grid expansion, run ids, atomic records, resume."""
import json
import os

import pytest

from benchmark.results import ResultStore
from benchmark.runner import execute
from benchmark.suites import load_suite
from benchmark.sweep import expand, stable_hash
from record_cases import record


def test_grid_is_cartesian_product_times_seeds(tiny_suite):
    plan = expand(load_suite(str(tiny_suite)), {})
    assert len(plan.runs) == 2 * 2 * 2
    points = {(r.point["data.name"], r.point["model.layers"], r.seed) for r in plan.runs}
    assert len(points) == 8
    assert len({r.run_id for r in plan.runs}) == 8
    assert len({r.config_id for r in plan.runs}) == 4


def test_cli_value_replaces_a_grid_axis(tiny_suite):
    suite = load_suite(str(tiny_suite))
    assert {r.point["model.layers"] for r in expand(suite, {"model.layers": 5}).runs} == {5}
    assert {r.point["model.layers"] for r in expand(suite, {"model.layers": [3, 4, 4]}).runs} == {3, 4}
    assert len(expand(suite, {"model.layers": [3, 4, 4]}).runs) == 2 * 2 * 2  # the duplicate 4 runs once


def test_run_ids_are_stable_and_sensitive(tiny_suite, tmp_path):
    suite = load_suite(str(tiny_suite))
    first = [r.run_id for r in expand(suite, {}).runs]
    assert first == [r.run_id for r in expand(suite, {}).runs]
    # where files live does not change what a run computes
    assert first == [r.run_id for r in expand(suite, {"output.dir": str(tmp_path), "data.root": "/elsewhere"}).runs]
    changed = [r.run_id for r in expand(suite, {"train.lr": 0.01}).runs]
    assert not set(first) & set(changed)
    assert stable_hash({"a": 1, "b": 2}) == stable_hash({"b": 2, "a": 1})


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.write(record("abc"))
    assert store.load("abc") == record("abc")

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(json, "dump", crash)
    with pytest.raises(RuntimeError):
        store.write(record("abc", status="failed"))
    monkeypatch.undo()
    assert store.load("abc")["status"] == "ok"          # the old record survives intact
    assert sorted(os.listdir(tmp_path)) == ["abc.json"]  # and no temporary file is left


def test_store_ignores_temporary_files(tmp_path):
    store = ResultStore(tmp_path)
    store.write(record("a"))
    (tmp_path / ".tmp-123.json").write_text("{half")
    assert [r["run_id"] for r in store.records()] == ["a"]
    assert (tmp_path / ".tmp-123.json").exists()  # a write in flight elsewhere is not touched


def test_failed_records_are_not_finished(tmp_path):
    store = ResultStore(tmp_path)
    for run_id, status in [("a", "ok"), ("b", "diverged"), ("c", "failed")]:
        store.write(record(run_id, status=status))
    assert [store.is_finished(x) for x in "abcd"] == [True, True, False, False]


def test_execute_writes_records_and_resumes(tiny_suite, out_dir):
    plan = expand(load_suite(str(tiny_suite)), {"output.dir": str(out_dir)})
    summary = execute(plan, progress=False)
    assert summary.total == 8 and summary.skipped == 0 and summary.count("ok") == 8
    store = ResultStore(plan.output_dir)
    records = store.records()
    assert sorted(r["run_id"] for r in records) == sorted(r.run_id for r in plan.runs)
    record = store.load(plan.runs[0].run_id)
    for key in ("config", "seed", "val", "test", "best_epoch", "history", "params", "seconds_per_epoch",
                "peak_memory_mb", "versions", "git_commit", "device", "started_at", "finished_at", "status"):
        assert key in record, key
    assert record["history"][0]["epoch"] == 0 and len(record["history"]) == 4  # init + 3 epochs
    best = record["history"][record["best_epoch"]]
    assert best["test_accuracy"] == record["test"]["accuracy"]                 # test at best validation
    assert max(h["val_accuracy"] for h in record["history"]) == record["val"]["accuracy"]
    assert record["final"]["epoch"] == 3 and record["final"]["test"]["accuracy"] == record["history"][3]["test_accuracy"]
    assert set(record["versions"]) >= {"python", "torch", "dgl", "numpy", "ogb"}

    # resume: nothing left to do, records untouched
    mtimes = {p: p.stat().st_mtime_ns for p in plan.output_dir.iterdir()}
    again = execute(plan, progress=False)
    assert again.skipped == 8 and not again.executed
    assert mtimes == {p: p.stat().st_mtime_ns for p in plan.output_dir.iterdir()}

    # a lost record is the only run redone; --force redoes all
    store.path(plan.runs[3].run_id).unlink()
    redo = execute(plan, progress=False)
    assert [r["run_id"] for r in redo.executed] == [plan.runs[3].run_id]
    assert len(execute(plan, force=True, progress=False).executed) == 8


def test_same_seed_reproduces_the_same_history(tiny_suite, out_dir):
    plan = expand(load_suite(str(tiny_suite)), {"output.dir": str(out_dir), "seeds": [3]})
    first = execute(plan, progress=False).executed
    second = execute(plan, force=True, progress=False).executed
    strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h]  # noqa: E731
    for a, b in zip(first, second):
        assert strip(a["history"]) == strip(b["history"])


def test_diverging_run_is_recorded_and_sweep_goes_on(tiny_suite, out_dir):
    plan = expand(load_suite(str(tiny_suite)), {"output.dir": str(out_dir), "train.lr": 1e30,
                                                "data.name": "csbm", "seeds": [0]})
    summary = execute(plan, progress=False)
    assert len(summary.executed) == 2
    assert summary.count("diverged") >= 1
    for done in summary.executed:
        if done["status"] == "diverged":
            assert done["diverged_epoch"] >= 1 and "NaN/Inf" in done["message"]


def test_crashing_run_is_recorded_as_failed(tiny_suite, out_dir, monkeypatch):
    import benchmark.runner as runner

    plan = expand(load_suite(str(tiny_suite)), {"output.dir": str(out_dir), "data.name": "csbm", "seeds": [0]})
    calls = {"n": 0}
    real_fit = runner.fit

    def flaky_fit(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(runner, "fit", flaky_fit)
    summary = execute(plan, progress=False)
    assert [r["status"] for r in summary.executed] == ["failed", "ok"]
    assert "RuntimeError: boom" in summary.executed[0]["message"] and "traceback" in summary.executed[0]
    retry = execute(plan, progress=False)  # failed runs are retried, finished ones kept
    assert [r["status"] for r in retry.executed] == ["ok"]


def test_reindex_renames_records_written_under_an_older_id_scheme(tiny_suite, out_dir):
    from benchmark.sweep import record_ids

    plan = expand(load_suite(str(tiny_suite)), {"output.dir": str(out_dir), "data.name": "csbm", "seeds": [0]})
    execute(plan, progress=False)
    store = ResultStore(plan.output_dir)
    for old in store.records():  # simulate records written by an older version
        store.path(old["run_id"]).unlink()
        store.write({**old, "run_id": "old" + old["run_id"][3:], "config_id": "oldcfg"})
    assert not any(store.is_finished(r.run_id) for r in plan.runs)   # ids no longer match
    assert store.reindex(record_ids) == 2
    assert sorted(r["run_id"] for r in store.records()) == sorted(r.run_id for r in plan.runs)
    assert store.reindex(record_ids) == 0
    assert not execute(plan, progress=False).executed          # resumed: nothing to redo
