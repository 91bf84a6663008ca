"""Result records on disk: strict JSON, shared permissions, and readers that survive files which
are not records (a stray JSON file, the wrong shape, a truncated write)."""
import json
import os
import stat

import pytest

from benchmark.results import ResultStore, record_problem
from record_cases import record


@pytest.mark.parametrize("content, problem", [
    ([], "not an object"),
    ({"status": "ok"}, "lacks run_id"),
    ({k: v for k, v in record("x").items() if k != "test"}, "without test.accuracy"),
    ({**record("x"), "status": "done"}, "status 'done'"),
    ({**record("x"), "config": {"model": {}}}, "model.name or data.name"),
])
def test_record_problem_names_what_is_wrong(content, problem):
    assert problem in record_problem(content)
    assert record_problem(record("x")) is None


def test_wrong_shape_and_stray_json_are_skipped_with_a_warning_naming_the_file(tmp_path, capsys):
    store = ResultStore(tmp_path)
    store.write(record("good"))
    (tmp_path / "list.json").write_text("[]")
    (tmp_path / "status.json").write_text('{"status": "ok"}')
    no_test = {k: v for k, v in record("notest").items() if k != "test"}
    (tmp_path / "notest.json").write_text(json.dumps(no_test))
    (tmp_path / "notes.json").write_text('{"comment": "my notes about this sweep"}')
    assert [r["run_id"] for r in store.records()] == ["good"]
    err = capsys.readouterr().err
    for name in ("list.json", "status.json", "notest.json", "notes.json"):
        assert str(tmp_path / name) in err
        assert (tmp_path / name).exists()  # skipped, left where it is
    assert store.load("notest") is None and not store.is_finished("notest")


def test_truncated_record_is_quarantined_and_reading_goes_on(tmp_path, capsys):
    store = ResultStore(tmp_path)
    store.write(record("good"))
    text = json.dumps(record("cut"))
    (tmp_path / "cut.json").write_text(text[: len(text) // 2])
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    assert [r["run_id"] for r in store.records()] == ["good"]
    err = capsys.readouterr().err
    assert "cut.json" in err and "cut.json.corrupt" in err
    assert not (tmp_path / "cut.json").exists() and (tmp_path / "cut.json.corrupt").read_text() == text[: len(text) // 2]
    assert (tmp_path / "binary.json.corrupt").exists()
    assert not store.is_finished("cut")  # the run is pending again


def test_write_never_overwrites_a_file_that_is_not_a_record_of_that_run(tmp_path, capsys):
    store = ResultStore(tmp_path)
    (tmp_path / "abc.json").write_text('{"my": "own file"}')
    store.write(record("abc"))
    assert store.load("abc")["status"] == "ok"
    assert json.loads((tmp_path / "abc.json.not-a-record").read_text()) == {"my": "own file"}
    assert "abc.json.not-a-record" in capsys.readouterr().err
    store.write(record("abc", test=0.7))  # a record of the same run is replaced, as before
    assert store.load("abc")["test"]["accuracy"] == 0.7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abc.json", "abc.json.not-a-record"]


def test_records_are_strict_json_with_null_for_nan(tmp_path):
    store = ResultStore(tmp_path)
    path = store.write(record("n", history=[{"epoch": 0, "train_loss": float("nan")}],
                              seconds_per_epoch=float("inf")))
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    strict = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert strict["history"][0]["train_loss"] is None and strict["seconds_per_epoch"] is None


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_records_get_the_mode_of_a_normal_file(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = ResultStore(tmp_path).write(record("m"))
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode == stat.S_IMODE(plain.stat().st_mode)
