"""The suites run the reference configurations: the MA paper's table
(../shared/spec/massive-activations.md, msorbi/gnn-ma configs) and the LipschitzNorm protocol
(../shared/spec/lipschitz-norm.md, gdasoulas/LipschitzNorm)."""
import pytest

from benchmark.suites import load_suite
from benchmark.sweep import expand

# (model, dataset) -> layers, width, heads, readout, batch, lr, LR patience (spec table + configs)
MA_TABLE = {
    ("gt", "zinc"): (10, 64, 8, "mean", 128, 7e-4, 15),
    ("gt", "tox21"): (10, 444, 12, "mean", 128, 7e-4, 15),
    ("gt", "ogbn_proteins"): (3, 64, 8, None, 512, 7e-4, 15),
    ("san_sparse", "zinc"): (10, 56, 8, "sum", 32, 7e-4, 25),
    ("san_sparse", "tox21"): (10, 88, 8, "sum", 128, 7e-4, 25),
    ("san_sparse", "ogbn_proteins"): (3, 88, 8, None, 512, 7e-4, 25),
    ("graphit_sparse", "zinc"): (10, 64, 8, "sum", 32, 3e-4, 25),
    ("graphit_sparse", "tox21"): (10, 88, 8, "sum", 256, 7e-4, 25),
    ("graphit_sparse", "ogbn_proteins"): (3, 88, 8, None, 768, 7e-4, 25),
}


@pytest.mark.parametrize("suite_name", ["ma_zinc", "ma_tox21", "ma_proteins", "zinc", "tox21"])
def test_graph_transformer_suites_use_the_reference_table(suite_name):
    runs = expand(load_suite(suite_name), {}).runs
    seen = set()
    for run in runs:
        m, t = run.config.model, run.config.train
        # the full-graph variants of the zinc/tox21 suites share their sparse row of the table
        key = ({"graphit": "graphit_sparse", "san": "san_sparse"}.get(m.name, m.name), run.config.data.name)
        layers, width, heads, readout, batch, lr, patience = MA_TABLE[key]
        assert (m.layers, m.heads * m.hidden, m.heads, t.batch_size, t.lr, t.lr_patience) == (
            layers, width, heads, batch, lr, patience), (suite_name, key)
        assert readout is None or m.readout == readout
        assert m.norm == "batchnorm" and m.input_dropout == 0.0 and t.lr_factor == 0.5 and t.patience == 0
        seen.add(key[0])
    assert seen == {"gt", "san_sparse", "graphit_sparse"}
    if suite_name == "ma_proteins":
        assert all(r.config.train.fanouts == [5, 10, 15] for r in runs)


@pytest.mark.parametrize("suite_name", ["deep_gat", "deep_gt"])
def test_deep_suites_default_to_the_lipschitznorm_protocol(suite_name):
    runs = expand(load_suite(suite_name), {}).runs
    epochs = {1: 1000, 2: 1000, 3: 1000, 4: 1000, 5: 1500, 6: 1500, 7: 1500}
    for run in runs:
        m, t = run.config.model, run.config.train
        assert (m.hidden, m.heads, t.lr, t.weight_decay) == (64, 4, 0.005, 5e-4)
        # ReduceLROnPlateau with PyTorch's defaults on the validation loss, never stopped early
        assert (t.lr_factor, t.lr_patience, t.min_lr, t.patience, t.max_seconds) == (0.1, 10, 0.0, 0, 0.0)
        assert t.epochs == epochs.get(m.layers, 2500)
        assert m.attn_dropout == 0.3 and m.dropout == (0.6 if suite_name == "deep_gat" else 0.5)
    assert {r.config.model.layers for r in runs} == {2, 4, 8, 16, 32} and {r.seed for r in runs} == set(range(5))
    assert load_suite(suite_name).metrics[:2] == ["test", "final_test"]
