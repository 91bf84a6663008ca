"""Config merging (defaults <- suite <- command line), validation and error messages."""
import pytest
from omegaconf import OmegaConf

from benchmark.config import (IDENTITY_SCHEMA, check_key, defaults, identity, merge, parse_overrides, parse_value,
                              to_run_config)
from benchmark.suites import load_suite
from benchmark.sweep import expand
from dgl_ma.errors import ConfigError


def test_parse_values_use_yaml_types():
    assert parse_overrides(["model.layers=8", "seeds=[0,1]", "train.lr=1e-3", "data.root=/a/b", "data.mirror=null"]) == {
        "model.layers": 8, "seeds": [0, 1], "train.lr": 1e-3, "data.root": "/a/b", "data.mirror": None}
    assert parse_value("true") is True


def test_override_without_equals_is_an_error():
    with pytest.raises(ConfigError, match="Expected key=value"):
        parse_overrides(["model.layers"])


def test_precedence_defaults_suite_cli(tiny_suite):
    suite = load_suite(str(tiny_suite))
    plan = expand(suite, {"model.hidden": 6})
    cfg = plan.runs[0].config
    assert cfg.model.hidden == 6          # command line beats suite (4)
    assert cfg.model.heads == 2           # suite beats default (4)
    assert cfg.model.dropout == 0.0       # default
    assert cfg.train.epochs == 3


@pytest.mark.parametrize("key, close", [("model.layerz", "model.layers"), ("modle.layers", "model"),
                                        ("train.learning_rate", None)])
def test_unknown_key_names_valid_keys(key, close):
    with pytest.raises(ConfigError) as err:
        check_key(key)
    message = str(err.value)
    assert f"Unknown config key {key!r}" in message
    assert "Valid keys here:" in message
    if close:
        assert f"Did you mean {close!r}" in message


def test_nested_key_under_a_leaf_is_an_error():
    with pytest.raises(ConfigError, match="has no sub-key"):
        check_key("model.layers.x")


@pytest.mark.parametrize("key, value, expected", [("model.layers", "abc", "expects int"),
                                                  ("seeds", ["a"], "expects list of int"),
                                                  ("train.lr", "fast", "expects float"),
                                                  ("model.residual", "maybe", "expects bool")])
def test_wrong_type_names_expected_type(key, value, expected):
    with pytest.raises(ConfigError, match=expected):
        merge(defaults(), {key: value}, "the command line")


@pytest.mark.parametrize("override, message", [({"model.layers": 0}, "at least 1"),
                                               ({"seeds": []}, "seeds is empty"),
                                               ({"seeds": [1, 1]}, "duplicates"),
                                               ({"model.name": "gatt"}, "Did you mean 'gat'"),
                                               ({"data.name": "coraa"}, "Valid datasets")])
def test_semantic_checks(override, message):
    with pytest.raises(ConfigError, match=message):
        to_run_config(merge(defaults(), override, "test"))


def test_identity_leaves_out_defaults_so_new_options_keep_ids():
    cfg = merge(defaults(), {"model.layers": 3}, "t")
    ident = identity(cfg)
    assert ident == {"_schema": IDENTITY_SCHEMA, "model.layers": 3}
    # a record's stored config without a newer option (here model.norm) has the same identity
    stored = OmegaConf.to_container(cfg)
    del stored["model"]["norm"]
    assert identity(stored) == ident


def test_identity_ignores_locations_but_not_values():
    a = merge(defaults(), {"data.root": "/x", "output.dir": "/y", "seeds": [7]}, "t")
    b = defaults()
    assert identity(a) == identity(b)
    assert identity(merge(defaults(), {"model.layers": 3}, "t")) != identity(b)


def test_suite_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid:\n  model.layers: 3\n")
    with pytest.raises(ConfigError, match="must be a non-empty list"):
        load_suite(str(bad))
    bad.write_text("gird: {}\n")
    with pytest.raises(ConfigError, match="unknown top-level keys"):
        load_suite(str(bad))
    bad.write_text("grid: {model.layerz: [1]}\n")
    with pytest.raises(ConfigError, match="Did you mean 'model.layers'"):
        load_suite(str(bad))
    bad.write_text("leaderboard: {metrics: [accuracy]}\n")
    with pytest.raises(ConfigError, match="leaderboard.metrics"):
        load_suite(str(bad))
    bad.write_text("config: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_suite(str(bad))
    with pytest.raises(ConfigError, match="Unknown suite 'nope'"):
        load_suite("nope")


def test_every_shipped_suite_resolves():
    from benchmark.suites import suite_names

    names = suite_names()
    assert "quickstart" in names
    for name in names:
        assert expand(load_suite(name), {}).runs


def test_group_values_in_a_grid_pair_keys(tmp_path):
    path = tmp_path / "pairs.yaml"
    path.write_text("grid:\n  model:\n    - {name: gat, norm: lipschitz}\n    - {name: gcn, norm: none}\n"
                    "  model.layers: [2, 3]\nconfig:\n  seeds: [0]\n")
    suite = load_suite(str(path))
    runs = expand(suite, {}).runs
    assert sorted((r.config.model.name, r.config.model.norm, r.config.model.layers) for r in runs) == [
        ("gat", "lipschitz", 2), ("gat", "lipschitz", 3), ("gcn", "none", 2), ("gcn", "none", 3)]
    assert suite.grid["model"][0] == {"name": "gat", "norm": "lipschitz"}  # the suite is not mutated
    path.write_text("grid:\n  model:\n    - {name: gat, nrom: lipschitz}\n")
    with pytest.raises(ConfigError, match="Did you mean 'model.norm'"):
        expand(load_suite(str(path)), {})


def test_command_line_wins_inside_a_group_axis(tmp_path):
    path = tmp_path / "pairs.yaml"
    path.write_text("grid:\n  model:\n    - {name: gat, norm: none}\n    - {name: gat, norm: pairnorm}\n"
                    "  model.layers: [2]\nconfig:\n  seeds: [0]\n")
    runs = expand(load_suite(str(path)), {"model.norm": "lipschitz"}).runs
    assert [r.config.model.norm for r in runs] == ["lipschitz"]   # both grid points collapse into one run


def test_linked_grid_axis_sets_keys_of_several_groups_together(tmp_path):
    path = tmp_path / "linked.yaml"
    path.write_text("grid:\n  depth:\n    - {model.layers: 2, train.epochs: 10}\n    - {model.layers: 8, train.epochs: 25}\n"
                    "  model.hidden: [4, 8]\nconfig:\n  seeds: [0]\n")
    suite = load_suite(str(path))
    assert suite.linked == ["depth"]
    runs = expand(suite, {}).runs
    assert sorted((r.config.model.layers, r.config.train.epochs, r.config.model.hidden) for r in runs) == [
        (2, 10, 4), (2, 10, 8), (8, 25, 4), (8, 25, 8)]
    assert runs[0].point == {"model.layers": 2, "train.epochs": 10, "model.hidden": 4}     # flat dotted keys
    # a command-line value of a linked key selects the entries with that value
    assert {(r.config.model.layers, r.config.train.epochs) for r in expand(suite, {"model.layers": 8}).runs} == {(8, 25)}
    assert len(expand(suite, {"model.layers": [2, 8]}).runs) == 4
    # no entry matches: allowed when every varying key is given, else a clear error
    both = expand(suite, {"model.layers": 6, "train.epochs": 3}).runs
    assert {(r.config.model.layers, r.config.train.epochs) for r in both} == {(6, 3)} and len(both) == 2
    with pytest.raises(ConfigError, match="matches no entry of the suite's linked grid axis 'depth'"):
        expand(suite, {"model.layers": 6})
    path.write_text("grid:\n  depth:\n    - {model.layrs: 2}\n")
    with pytest.raises(ConfigError, match="Did you mean 'model.layers'"):
        load_suite(str(path))
    path.write_text("grid:\n  dpeth: [2, 3]\n")                    # not mappings: an unknown key
    with pytest.raises(ConfigError, match="Unknown config key 'dpeth'"):
        load_suite(str(path))
