"""Node tasks on sampled neighbourhoods (train.fanouts): the subgraph sampler, and the
ma_proteins suite (ogbn-proteins, node level) end to end on a miniature in OGB's format."""
import dgl
import numpy as np
import torch

from benchmark.runner import execute
from benchmark.suites import load_suite
from benchmark.sweep import expand
from dgl_ma.data.sampling import sample_subgraph
from tests.graph_cases import make
from test_graph_datasets import write_mini_ogbn_proteins


def test_sampled_neighbourhood_has_the_seeds_first_and_only_sampled_original_edges():
    g, feat = make("homogeneous")
    g.ndata["feat"], g.edata["w"] = feat, torch.arange(g.num_edges()).float()
    dgl.seed(0)
    seeds = torch.tensor([4, 1])
    sub = sample_subgraph(g, seeds, fanouts=[2, 3])
    nid, eid = sub.ndata[dgl.NID], sub.edata[dgl.EID]
    assert nid[:2].tolist() == [4, 1] and sub.ndata["seed"].tolist() == [True, True] + [False] * (len(nid) - 2)
    assert len(set(nid.tolist())) == len(nid) and len(set(eid.tolist())) == len(eid)
    src, dst = sub.edges()
    osrc, odst = g.find_edges(eid)
    assert torch.equal(nid[src], osrc) and torch.equal(nid[dst], odst)          # the original edges
    torch.testing.assert_close(sub.ndata["feat"], feat[nid])
    torch.testing.assert_close(sub.edata["w"], g.edata["w"][eid])
    into = torch.bincount(dst, minlength=sub.num_nodes())
    assert all(into[i] == min(3, g.in_degrees(int(s))) for i, s in enumerate(seeds))   # fanouts[-1] per seed
    assert into.max() <= 3
    full = sample_subgraph(g, seeds, fanouts=[-1])                               # -1: every in-edge of the seeds
    assert full.num_edges() == int(g.in_degrees(seeds).sum())


def test_ma_proteins_runs_on_sampled_neighbourhoods_of_an_ogbn_miniature(tmp_path, no_network):  # noqa: F811
    mirror = tmp_path / "mirror"
    write_mini_ogbn_proteins(mirror / "ogb" / "ogbn_proteins", np.random.default_rng(1))
    suite = load_suite("ma_proteins")
    plan = expand(suite, {"model.layers": 1, "train.epochs": 2, "seeds": [0], "model.ebt": ["none", "sink"],
                          "model.use_bias": False, "analysis.attack_steps": 1, "analysis.cap_edges": 1000,
                          "data.root": str(tmp_path / "data"), "data.mirror": str(mirror), "data.download": False,
                          "output.dir": str(tmp_path / "out")})
    assert len(plan.runs) == 6 and {r.config.train.fanouts[-1] for r in plan.runs} == {15}
    summary = execute(plan, progress=False)
    assert summary.count("ok") == 6, [r.get("message") for r in summary.executed]
    for record in summary.executed:
        assert record["metric"]["name"] == "rocauc" and 0.0 <= record["test"]["rocauc"] <= 1.0
        assert record["final"]["epoch"] == 2
        rows = record["massive"]["final"]
        assert len(rows) == 1 and rows[0]["elements"] > 0 and rows[0]["gamma"]["n"] > 0
        assert [a["sigma"] for a in record["attack"]] == [0.01, 0.0316, 0.1]
        assert all(np.isfinite(a["gain"]) for a in record["attack"])
