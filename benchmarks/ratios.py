"""``python -m benchmarks.ratios [--machine NAME] [--results FILE] [--format github|plain]``:
the speed targets of the performance issue, computed from one asv result file (by default the
newest under ``.asv/results``, optionally of one machine), followed by the absolute times.

Each target case shows the two asv medians and their ratio, and the ratio that
``benchmarks.pairs`` measured by interleaving both sides in one process (``track_ratio``; the
verdict uses it when present: separate processes drift by up to ±20 % on a shared machine):

* our GAT layer, norm off / ``dgl.nn.GATConv``            target ≤ 1.10
* LipschitzNorm on / off (same layer; deep GAT epoch)     target ≤ 1.30
* activation probes on / off (same model, forward)        target ≤ 1.15
* each of our layers / the matching PyG layer              target ≤ 1.00

Not a benchmark module: asv imports it and finds nothing to run.
"""
import argparse
import ast
import itertools
import json
import math
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

RESULTS_DIR = Path(".asv/results")

Table = Dict[Tuple, float]


def newest_result_file(results_dir: Path = RESULTS_DIR, machine: Optional[str] = None) -> Path:
    folders = [results_dir / machine] if machine else [p for p in results_dir.iterdir() if p.is_dir()]
    files = [f for d in folders if d.is_dir() for f in d.glob("*.json") if f.name != "machine.json"]
    if not files:
        raise SystemExit(f"no asv result file under {results_dir}" + (f"/{machine}" if machine else "")
                         + ": run `make bench` first")
    return max(files, key=lambda f: f.stat().st_mtime)


def load(path: Path) -> Tuple[dict, Dict[str, Table]]:
    """``(header, {benchmark name: {param tuple: median}})``; NaN where a case failed or was skipped."""
    data = json.loads(path.read_text())
    columns = data["result_columns"]
    out: Dict[str, Table] = {}
    for name, row in data["results"].items():
        record = dict(zip(columns, row))
        params = [[ast.literal_eval(p) for p in axis] for axis in record.get("params") or []]
        values = record["result"]
        if values is None:
            continue
        combos = list(itertools.product(*params)) if params else [()]
        out[name] = {combo: (math.nan if v is None else float(v)) for combo, v in zip(combos, values)}
    return {k: v for k, v in data.items() if k != "results"}, out


def fmt_time(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_bytes(n: float) -> str:
    if n is None or math.isnan(n):
        return "n/a"
    return f"{n / 2**20:.1f} MiB"


def _get(results: Dict[str, Table], suffix: str, key: Tuple) -> float:
    """The median of benchmark ``<module>.<suffix>`` for the parameters ``key`` (NaN if absent)."""
    for name, table in results.items():
        if name.endswith("." + suffix):
            return table.get(key, math.nan)
    return math.nan


def ratio_rows(results: Dict[str, Table]) -> List[List[str]]:
    """One row per target case: the asv medians of both sides, their ratio, the interleaved
    same-process ratio of ``benchmarks.pairs`` (what the verdict uses when present)."""
    from benchmarks.cases import MODELS
    from benchmarks.common import GRAPHS
    from benchmarks.pairs import LAYER_PAIRS, PROBES_TARGET

    rows = []

    def add(target: str, limit: float, case: str, graph: str, num: float, den: float, paired: float = math.nan):
        r = num / den if den and not math.isnan(num) and not math.isnan(den) else math.nan
        judged = paired if not math.isnan(paired) else r
        if math.isnan(judged):
            verdict = "n/a"
        elif judged <= limit:
            verdict = "met"
        else:
            verdict = f"missed by {100 * (judged / limit - 1):.0f} %"
        rows.append([target, case, graph, fmt_time(num), fmt_time(den), "n/a" if math.isnan(r) else f"{r:.2f}",
                     "n/a" if math.isnan(paired) else f"{paired:.2f}", f"≤ {limit:.2f}", verdict])

    layer, pair = "LayerForwardBackward.time_forward_backward", "LayerRatios.track_ratio"
    names = {"dgl_gatconv": "GAT layer / dgl GATConv", "gat": "LipschitzNorm on / off",
             "transformer": "LipschitzNorm on / off", "pyg_gatconv": "ours / PyG", "pyg_transformerconv": "ours / PyG"}
    for key, limit in LAYER_PAIRS.items():
        num, den = key.split("/")
        for graph in GRAPHS:
            add(names.get(den, key), limit, f"{num} / {den}", graph, _get(results, layer, (num, graph)),
                _get(results, layer, (den, graph)), _get(results, pair, (key, graph)))
    epoch = "DeepGATEpoch.time_epoch"
    for depth in (2, 8, 32):
        add("LipschitzNorm on / off", 1.30, f"deep GAT epoch, {depth} layers", "cora",
            _get(results, epoch, (depth, "lipschitz")), _get(results, epoch, (depth, "none")))
    probes, pair = "Probes.time_forward", "ProbeRatios.track_ratio"
    for graph in GRAPHS:
        for name, case in MODELS.items():
            if case.probed and not (case.full_graph and graph != "molecules"):
                add("probes on / off", PROBES_TARGET, f"{name} forward", graph,
                    _get(results, probes, (name, graph, "on")), _get(results, probes, (name, graph, "off")),
                    _get(results, pair, (name, graph)))
    return rows


def absolute_tables(results: Dict[str, Table]) -> List[Tuple[str, List[str], List[List[str]]]]:
    from benchmarks.cases import LAYERS, MODELS
    from benchmarks.common import GRAPHS

    tables = []
    layer = "LayerForwardBackward.time_forward_backward"
    tables.append(("Layers, forward+backward (64 → 8 heads × 8)", ["layer", *GRAPHS],
                   [[n, *(fmt_time(_get(results, layer, (n, g))) for g in GRAPHS)] for n in LAYERS]))
    fb, probes = "ModelForwardBackward.time_forward_backward", "Probes.time_forward"
    peak, saved = "ModelMemory.peakmem_train_step", "ModelMemory.track_saved_activation_bytes"
    rows = [[n, g, fmt_time(_get(results, fb, (n, g))), fmt_time(_get(results, probes, (n, g, "off"))),
             fmt_bytes(_get(results, saved, (n, g))), fmt_bytes(_get(results, peak, (n, g)))]
            for g in GRAPHS for n, case in MODELS.items() if not (case.full_graph and g != "molecules")]
    tables.append(("Models (4 layers, width 64): training step, forward in eval mode, memory",
                   ["model", "graph", "fwd+bwd", "fwd (eval, no grad)", "saved activations", "peak RSS"], rows))
    epoch = "DeepGATEpoch.time_epoch"
    tables.append(("Deep GAT training epoch, Cora-sized graph", ["layers", "norm none", "norm lipschitz"],
                   [[str(d), fmt_time(_get(results, epoch, (d, "none"))), fmt_time(_get(results, epoch, (d, "lipschitz")))]
                    for d in (2, 8, 32)]))
    loading = [("dgl.batch, 128 molecules", "Batching.time_batch_128"),
               ("dgl.unbatch, 128 molecules", "Batching.time_unbatch_128"),
               ("prepare_graph (GAT self-loops), batch of 128", "Batching.time_prepare_batch_128"),
               ("GraphDataLoader pass, 1024 molecules / 128", "DataLoaderEpoch.time_iterate")]
    tables.append(("Batching and loading", ["operation", "time"],
                   [[label, fmt_time(_get(results, name, ()))] for label, name in loading]))
    return tables


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--machine", help="asv machine name (a folder of .asv/results)")
    parser.add_argument("--results", type=Path, help="one asv result file (default: the newest)")
    parser.add_argument("--format", default="github", help="tabulate format (default github)")
    args = parser.parse_args(argv)
    from tabulate import tabulate

    path = args.results or newest_result_file(machine=args.machine)
    header, results = load(path)
    p = header.get("params", {})
    print(f"asv results: {path}")
    print(f"machine {p.get('machine')}: {p.get('cpu')}, {p.get('num_cpu')} CPUs, {p.get('os')}; "
          f"commit {header.get('commit_hash', '')[:8]}\n")
    print(tabulate(ratio_rows(results), headers=["target", "case", "graph", "A (asv)", "B (asv)", "A/B (asv)",
                                                 "A/B interleaved", "target", "verdict"], tablefmt=args.format))
    for title, head, rows in absolute_tables(results):
        print(f"\n{title}\n")
        print(tabulate(rows, headers=head, tablefmt=args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
