"""GATNet, configuration checks, the dataset registry, generated datasets and the data mirror."""
import hashlib
import os
import stat
from pathlib import Path

import dgl
import pytest
import torch
import torch.nn.functional as F

from dgl_ma.data import DATASETS, DataConfig, GraphTask, NodeTask, TaskInfo, load_task
from dgl_ma.data.planetoid import planetoid_folder
from dgl_ma.data.store import data_root, dgl_folder_name, ensure_dgl_folder, mirror_root
from dgl_ma.errors import ConfigError, DataError
from dgl_ma.models import ModelConfig, build_model, count_parameters
from dgl_ma.train import TrainConfig

from graph_cases import make, permute_nodes, random_graph

IN_DIM, NODE_CLASSES, GRAPH_CLASSES = 5, 3, 4
NODE_TASK = TaskInfo("node", IN_DIM, NODE_CLASSES, "cross_entropy", "accuracy")
GRAPH_TASK = TaskInfo("graph", IN_DIM, GRAPH_CLASSES, "cross_entropy", "accuracy")
CORA = "cora_v2_d697a464"


def graph_batch_parts(model):
    """Three prepared graphs of different sizes with features."""
    gen = torch.Generator().manual_seed(0)
    parts = [model.prepare_graph(random_graph(n, 2 * n, seed=30 + n)) for n in (4, 7, 5)]
    feats = [torch.randn(g.num_nodes(), IN_DIM, generator=gen) for g in parts]
    return parts, feats


# --------------------------------------------------------------------------- GATNet


def test_node_model_output_shape():
    model = build_model(ModelConfig(layers=2, hidden=4, heads=2), NODE_TASK)
    graph, feat = make("zero_in_degree", IN_DIM)
    out = model(model.prepare_graph(graph), feat)
    assert out.shape == (graph.num_nodes(), NODE_CLASSES)
    assert torch.isfinite(out).all()


def test_graph_model_output_shape():
    model = build_model(ModelConfig(layers=2, hidden=4, heads=2), GRAPH_TASK)
    parts, feats = graph_batch_parts(model)
    out = model(dgl.batch(parts), torch.cat(feats))
    assert out.shape == (3, GRAPH_CLASSES)


def test_unknown_model_name():
    with pytest.raises(ConfigError, match="gat"):
        build_model(ModelConfig(name="gatt"), NODE_TASK)


def test_prepare_graph_leaves_exactly_one_self_loop_per_node():
    model = build_model(ModelConfig(layers=1, hidden=2, heads=2), NODE_TASK)
    graph = dgl.graph(([0, 0, 0, 1, 2], [0, 0, 1, 2, 1]), num_nodes=4)   # two loops on node 0
    prepared = model.prepare_graph(graph)
    src, dst = prepared.edges()
    loops = src == dst
    assert sorted(src[loops].tolist()) == [0, 1, 2, 3]
    assert sorted(zip(src[~loops].tolist(), dst[~loops].tolist())) == [(0, 1), (1, 2), (2, 1)]


def test_prepare_graph_keeps_batch_information():
    model = build_model(ModelConfig(layers=1, hidden=4, heads=2), GRAPH_TASK)
    batch = dgl.batch([random_graph(4, 6, seed=1), random_graph(6, 9, seed=2)])
    prepared = model.prepare_graph(batch)
    assert prepared.batch_size == 2
    assert prepared.batch_num_nodes().tolist() == [4, 6]


@pytest.mark.parametrize("readout", ["mean", "sum", "max"])
def test_graph_output_permutation_invariant(readout):
    model = build_model(ModelConfig(layers=2, hidden=16, heads=2, readout=readout), GRAPH_TASK).eval()
    graph = model.prepare_graph(random_graph(9, 20, seed=5))
    feat = torch.randn(9, IN_DIM, generator=torch.Generator().manual_seed(1))
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(2))
    out = model(graph, feat)
    out_p = model(permute_nodes(graph, perm), feat[perm])
    torch.testing.assert_close(out_p, out)
    # The output does depend on the features (so the equality above is not vacuous).
    other = torch.randn(9, IN_DIM, generator=torch.Generator().manual_seed(3))
    assert not torch.allclose(model(graph, other), out)


@pytest.mark.parametrize("readout", ["mean", "sum", "max"])
def test_graph_output_batching_equivalence(readout):
    cfg = ModelConfig(layers=2, hidden=4, heads=2, readout=readout, dropout=0.3, attn_dropout=0.3)
    model = build_model(cfg, GRAPH_TASK).eval()
    parts, feats = graph_batch_parts(model)
    one_by_one = torch.cat([model(g, x) for g, x in zip(parts, feats)])
    batched = model(dgl.batch(parts), torch.cat(feats))
    torch.testing.assert_close(batched, one_by_one)


@pytest.mark.parametrize("level", ["node", "graph"])
def test_one_adam_step_lowers_loss(level):
    torch.manual_seed(0)
    task = NODE_TASK if level == "node" else GRAPH_TASK
    model = build_model(ModelConfig(layers=2, hidden=4, heads=2), task)
    if level == "node":
        graph, feat = make("homogeneous", IN_DIM)
        graph = model.prepare_graph(graph)
        target = torch.randint(0, NODE_CLASSES, (graph.num_nodes(),), generator=torch.Generator().manual_seed(3))
    else:
        parts, feats = graph_batch_parts(model)
        graph, feat = dgl.batch(parts), torch.cat(feats)
        target = torch.tensor([0, 3, 1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    def loss_now():
        return F.cross_entropy(model(graph, feat), target)

    before = loss_now()
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        after = loss_now()
    assert after.item() < before.item()


def expected_parameter_count(in_dim, out_dim, layers, heads, hidden, level):
    """DeepGAT skeleton: Linear(in -> C), first GAT layer C -> H·C, the others H·C -> H·C."""
    width = heads * hidden
    encoder = in_dim * hidden + hidden                             # Linear(in, C) with bias
    attention = heads * hidden + heads * hidden + width            # attn_l, attn_r, bias
    first = hidden * width + attention                             # fc (no bias): C -> H·C
    rest = (layers - 1) * (width * width + attention)              # fc: H·C -> H·C
    if level == "node":
        head = width * out_dim + out_dim                           # Linear(H·C, out)
    else:                                                          # MLP D -> D/2 -> D/4 -> out
        d0, d1, d2 = width, width // 2, width // 4
        head = (d0 * d1 + d1) + (d1 * d2 + d2) + (d2 * out_dim + out_dim)
    return encoder + first + rest + head


@pytest.mark.parametrize("level", ["node", "graph"])
@pytest.mark.parametrize("residual", [False, True])   # H·C -> H·C: identity skip, no parameters
def test_count_parameters_matches_formula(level, residual):
    task = NODE_TASK if level == "node" else GRAPH_TASK
    cfg = ModelConfig(layers=3, hidden=4, heads=2, residual=residual)
    model = build_model(cfg, task)
    expected = expected_parameter_count(IN_DIM, task.out_dim, 3, 2, 4, level)
    assert count_parameters(model) == expected
    # Only trainable parameters count.
    for p in model.node_encoder.parameters():
        p.requires_grad_(False)
    assert count_parameters(model) == expected - (IN_DIM * 4 + 4)


def test_count_parameters_hand_numbers():
    # node: encoder 5*4+4=24; attn_l, attn_r (1,2,4) and bias (8) = 24 per layer;
    # layer 1: fc 4*8=32 + 24; layer 2: fc 8*8=64 + 24; head 8*3+3=27
    model = build_model(ModelConfig(layers=2, hidden=4, heads=2), NODE_TASK)
    assert count_parameters(model) == 24 + (32 + 24) + (64 + 24) + 27


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("make_config, field", [
    pytest.param(lambda: ModelConfig(layers=0), "layers", id="model.layers=0"),
    pytest.param(lambda: ModelConfig(dropout=1.0), "dropout", id="model.dropout=1.0"),
    pytest.param(lambda: ModelConfig(attn_dropout=-0.1), "attn_dropout", id="model.attn_dropout=-0.1"),
    pytest.param(lambda: ModelConfig(heads=0), "heads", id="model.heads=0"),
    pytest.param(lambda: ModelConfig(readout="avg"), "readout", id="model.readout=avg"),
    pytest.param(lambda: TrainConfig(lr=0), "lr", id="train.lr=0"),
    pytest.param(lambda: TrainConfig(lr_factor=1.5), "lr_factor", id="train.lr_factor=1.5"),
    pytest.param(lambda: TrainConfig(lr_factor=0.0), "lr_factor", id="train.lr_factor=0"),
    pytest.param(lambda: TrainConfig(epochs=-1), "epochs", id="train.epochs=-1"),
    pytest.param(lambda: DataConfig(num_nodes=5), "num_nodes", id="data.num_nodes=5"),
    pytest.param(lambda: DataConfig(num_graphs=9), "num_graphs", id="data.num_graphs=9"),
])
def test_config_out_of_range_raises(make_config, field):
    with pytest.raises(ConfigError, match=field):
        make_config()


def test_config_boundaries_accepted():
    ModelConfig(layers=1, hidden=1, heads=1, dropout=0.0, attn_dropout=0.99, readout="max")
    TrainConfig(lr=1e-9, lr_factor=0.999, epochs=0, patience=0)
    DataConfig(num_nodes=10, num_graphs=10)


# --------------------------------------------------------------------------- dataset registry


def test_dataset_registry_names():
    for name in ("csbm", "minigc", "cora", "citeseer", "pubmed"):
        assert name in DATASETS
    assert DATASETS.get("csbm").seeded and DATASETS.get("minigc").seeded
    assert not DATASETS.get("cora").seeded


def test_unknown_dataset_names_valid_ones():
    with pytest.raises(ConfigError) as info:
        load_task(DataConfig(name="coraa"), 0)
    message = str(info.value)
    assert "coraa" in message
    for name in ("csbm", "minigc", "cora", "citeseer", "pubmed"):
        assert name in message


# --------------------------------------------------------------------------- generated datasets


def csbm(seed):
    task = load_task(DataConfig(name="csbm", num_nodes=200), seed)
    assert isinstance(task, NodeTask)
    return task


def test_csbm_deterministic_per_seed():
    a, b = csbm(0).graph, csbm(0).graph
    assert all(torch.equal(x, y) for x, y in zip(a.edges(), b.edges()))
    assert set(a.ndata) == set(b.ndata) == {"feat", "label", "train_mask", "val_mask", "test_mask"}
    for key in a.ndata:
        assert torch.equal(a.ndata[key], b.ndata[key]), key


def test_csbm_differs_across_seeds():
    a, b = csbm(0).graph, csbm(1).graph
    assert a.num_edges() != b.num_edges() or not torch.equal(a.edges()[0], b.edges()[0])
    assert not torch.allclose(a.ndata["feat"], b.ndata["feat"])
    assert not torch.equal(a.ndata["train_mask"], b.ndata["train_mask"])


def test_csbm_shapes_and_splits():
    task = csbm(3)
    g = task.graph
    assert task.info == TaskInfo("node", 16, 4, "cross_entropy", "accuracy")
    assert g.num_nodes() == 200 and g.ndata["feat"].shape == (200, 16)
    train, val, test = (g.ndata[f"{s}_mask"] for s in ("train", "val", "test"))
    assert train.dtype == torch.bool
    assert not (train & val).any() and not (train & test).any() and not (val & test).any()
    assert (train | val | test).all()
    assert (int(train.sum()), int(val.sum()), int(test.sum())) == (120, 40, 40)
    label = g.ndata["label"]
    for mask in (train, val, test):  # stratified: every class, in equal shares (4 x 50 nodes)
        counts = torch.bincount(label[mask], minlength=4)
        assert (counts > 0).all()
        assert counts.max() - counts.min() <= 1


def minigc(seed):
    task = load_task(DataConfig(name="minigc", num_graphs=40), seed)
    assert isinstance(task, GraphTask)
    return task


def same_samples(a, b):
    if len(a) != len(b):
        return False
    for (ga, ya), (gb, yb) in zip(a, b):
        if ga.num_nodes() != gb.num_nodes() or ga.num_edges() != gb.num_edges() or int(ya) != int(yb):
            return False
        if not all(torch.equal(x, y) for x, y in zip(ga.edges(), gb.edges())):
            return False
        if not torch.equal(ga.ndata["feat"], gb.ndata["feat"]):
            return False
    return True


def test_minigc_deterministic_per_seed_and_differs_across_seeds():
    a, b, c = minigc(0), minigc(0), minigc(1)
    for split in ("train", "val", "test"):
        assert same_samples(getattr(a, split), getattr(b, split)), split
    assert not all(same_samples(getattr(a, s), getattr(c, s)) for s in ("train", "val", "test"))


def test_minigc_splits_and_features():
    task = minigc(2)
    assert task.info == TaskInfo("graph", 9, 8, "cross_entropy", "accuracy")
    assert (len(task.train), len(task.val), len(task.test)) == (24, 8, 8)
    ids = [id(g) for _, split in task.splits() for g, _ in split]
    assert len(set(ids)) == 40
    train_labels = {int(y) for _, y in task.train}
    assert train_labels == set(range(8))
    for graph, label in task.train + task.val + task.test:
        assert label.dtype == torch.int64
        feat = graph.ndata["feat"]
        assert feat.shape == (graph.num_nodes(), 9)
        assert torch.equal(feat.sum(1), torch.ones(graph.num_nodes()))
        assert torch.equal(feat.argmax(1), graph.in_degrees().clamp(max=8))


# --------------------------------------------------------------------------- data store / mirror


def snapshot(tree: Path):
    """Relative path -> (mode, mtime_ns, sha256 or None for directories) of everything in ``tree``."""
    result = {}
    for path in sorted([tree, *tree.rglob("*")]):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        result[str(path.relative_to(tree))] = (stat.S_IMODE(st.st_mode), st.st_mtime_ns, digest)
    return result


def set_tree_mode(tree: Path, file_mode: int, dir_mode: int):
    # Deepest first, so that a directory is still writable/searchable while its content changes.
    for path in sorted(tree.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        path.chmod(file_mode if path.is_file() else dir_mode)
    tree.chmod(dir_mode)


@pytest.fixture
def fake_mirror(tmp_path):
    """<tmp>/mirror/dgl/cora_v2_d697a464/ with two files (one nested), all read-only."""
    mirror = tmp_path / "mirror"
    folder = mirror / "dgl" / CORA
    (folder / "sub").mkdir(parents=True)
    (folder / "ind.cora_v2.x").write_bytes(b"dummy cora features\n")
    (folder / "sub" / "inner.bin").write_bytes(bytes(range(256)))
    set_tree_mode(mirror, 0o444, 0o555)
    try:
        yield mirror
    finally:
        set_tree_mode(mirror, 0o644, 0o755)


def test_ensure_dgl_folder_copies_mirror_writably(fake_mirror, tmp_path):
    before = snapshot(fake_mirror)
    root = tmp_path / "cache"
    raw_dir = ensure_dgl_folder(CORA, ["ind.cora_v2.x"], root, fake_mirror, False, "cora")
    assert raw_dir == root / "dgl"
    copy = root / "dgl" / CORA
    assert (copy / "ind.cora_v2.x").read_bytes() == b"dummy cora features\n"
    assert (copy / "sub" / "inner.bin").read_bytes() == bytes(range(256))
    # Writable by permissions (checked on the mode bits too, since root ignores them) ...
    for path in (copy, copy / "sub", copy / "ind.cora_v2.x", copy / "sub" / "inner.bin"):
        assert path.stat().st_mode & stat.S_IWUSR, path
    # ... and in practice.
    (copy / "processed.bin").write_bytes(b"new")
    (copy / "ind.cora_v2.x").write_bytes(b"overwritten")
    # No partial copy is left behind, and the mirror is untouched.
    assert sorted(p.name for p in (root / "dgl").iterdir()) == [CORA]
    assert snapshot(fake_mirror) == before


def test_ensure_dgl_folder_keeps_existing_cache(fake_mirror, tmp_path):
    root = tmp_path / "cache"
    ensure_dgl_folder(CORA, ["ind.cora_v2.x"], root, fake_mirror, False, "cora")
    (root / "dgl" / CORA / "ind.cora_v2.x").write_bytes(b"local edit")
    ensure_dgl_folder(CORA, ["ind.cora_v2.x"], root, fake_mirror, False, "cora")
    assert (root / "dgl" / CORA / "ind.cora_v2.x").read_bytes() == b"local edit"


def test_missing_everywhere_without_download_raises(fake_mirror, tmp_path):
    root = tmp_path / "cache"
    files = ["ind.pubmed.x", "ind.pubmed.allx"]
    with pytest.raises(DataError) as info:
        ensure_dgl_folder("pubmed_0123abcd", files, root, fake_mirror, False, "pubmed")
    message = str(info.value)
    for name in files:
        assert name in message
    assert str(root / "dgl" / "pubmed_0123abcd") in message
    assert str(fake_mirror) in message
    assert not (root / "dgl" / "pubmed_0123abcd").exists()


def test_missing_without_mirror_message(tmp_path):
    with pytest.raises(DataError, match="DGL_MA_MIRROR"):
        ensure_dgl_folder("x_1", ["a.bin"], tmp_path, None, False, "x")


def test_missing_with_download_on_defers_to_dgl(tmp_path):
    raw_dir = ensure_dgl_folder("x_1", ["a.bin"], tmp_path / "cache", None, True, "x")
    assert raw_dir == tmp_path / "cache" / "dgl"
    assert not (raw_dir / "x_1").exists()


def test_data_root_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DGL_MA_DATA", str(tmp_path / "env"))
    assert data_root(str(tmp_path / "arg")) == (tmp_path / "arg").resolve()
    assert data_root(None) == (tmp_path / "env").resolve()
    monkeypatch.delenv("DGL_MA_DATA")
    assert data_root(None) == (tmp_path / "home" / ".cache" / "dgl_ma").resolve()
    assert data_root("~/elsewhere") == (tmp_path / "home" / "elsewhere").resolve()


def test_mirror_root_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("DGL_MA_MIRROR", raising=False)
    assert mirror_root(None) is None
    monkeypatch.setenv("DGL_MA_MIRROR", str(tmp_path / "env"))
    assert mirror_root(None) == (tmp_path / "env").resolve()
    assert mirror_root(str(tmp_path / "arg")) == (tmp_path / "arg").resolve()


def test_dgl_folder_names_match_shared_mirror(monkeypatch):
    monkeypatch.delenv("DGL_REPO", raising=False)
    assert dgl_folder_name("cora_v2", "https://data.dgl.ai/dataset/cora_v2.zip") == CORA
    assert planetoid_folder("cora_v2") == CORA
    assert planetoid_folder("citeseer") == "citeseer_d6836239"
    monkeypatch.setenv("DGL_REPO", "https://example.org/")
    assert planetoid_folder("cora_v2") != CORA


def test_pubmed_missing_from_fake_mirror_raises(fake_mirror, tmp_path, monkeypatch):
    monkeypatch.delenv("DGL_REPO", raising=False)
    cfg = DataConfig(name="pubmed", root=str(tmp_path / "cache"), mirror=str(fake_mirror), download=False)
    with pytest.raises(DataError, match=r"ind\.pubmed\.allx"):
        load_task(cfg, 0)


# --------------------------------------------------------------------------- real data


def real_mirror_folder(name: str) -> Path:
    mirror = os.environ.get("DGL_MA_MIRROR")
    if not mirror:
        pytest.skip("DGL_MA_MIRROR is not set: no offline data mirror to load real datasets from")
    folder = Path(mirror) / "dgl" / name
    if not folder.is_dir():
        pytest.skip(f"the mirror {mirror} has no folder dgl/{name}")
    return folder


def file_digests(folder: Path):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.realdata
def test_cora_from_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("DGL_REPO", raising=False)
    folder = real_mirror_folder(CORA)
    before = file_digests(folder)
    listing = sorted(p.name for p in folder.parent.iterdir())
    task = load_task(DataConfig(name="cora", root=str(tmp_path), download=False), 0)
    g = task.graph
    assert g.num_nodes() == 2708
    assert g.ndata["feat"].shape == (2708, 1433)
    assert task.info == TaskInfo("node", 1433, 7, "cross_entropy", "accuracy")
    assert int(g.ndata["label"].max()) + 1 == 7
    sizes = tuple(int(g.ndata[f"{s}_mask"].sum()) for s in ("train", "val", "test"))
    assert sizes == (140, 500, 1000)
    assert (tmp_path / "dgl" / CORA).is_dir()            # loaded from the cache copy
    assert file_digests(folder) == before
    assert sorted(p.name for p in folder.parent.iterdir()) == listing


@pytest.mark.realdata
def test_pubmed_absent_from_real_mirror_raises(tmp_path, monkeypatch):
    monkeypatch.delenv("DGL_REPO", raising=False)
    real_mirror_folder(CORA)  # skips unless the real mirror is configured
    if (Path(os.environ["DGL_MA_MIRROR"]) / "dgl" / planetoid_folder("pubmed")).exists():
        pytest.skip("this mirror holds pubmed, so the missing-data path cannot be exercised")
    with pytest.raises(DataError, match=r"ind\.pubmed\.allx"):
        load_task(DataConfig(name="pubmed", root=str(tmp_path), download=False), 0)
