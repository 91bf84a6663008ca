"""What ``python -m benchmark list`` prints: suites, models, datasets, config keys (type,
default, allowed values, the meaning of 0) and the leaderboard's metric columns, every line at
most :data:`WIDTH` characters."""
from typing import Any, List, Sequence

from tabulate import tabulate

from benchmark.config import LAUNCHERS, SAVE_MODEL, valid_keys
from benchmark.leaderboard import METRIC_COLUMNS, METRIC_HELP
from benchmark.suites import load_suite, suite_names, suites_dir
from dgl_ma.data import DATASETS
from dgl_ma.data.registry import SPLIT_SOURCES
from dgl_ma.models import MODELS
from dgl_ma.models.options import EBT_FORMS, KERNELS, READOUTS, readers

WIDTH = 100

# Allowed values and the meaning of special values, for the keys that need one.
KEY_NOTES = {
    "model.name": "see models above",
    "model.norm": "per model, see models above",
    "model.readout": f"{', '.join(READOUTS)} (graph tasks)",
    "model.pos_enc": "Laplacian eigenvectors; 0 = none",
    "model.kernel": ", ".join(KERNELS),
    "model.shared_qk": "keys tied to queries; null = the reference's choice",
    "model.ebt": ", ".join(EBT_FORMS),
    "data.name": "see datasets above",
    "data.root": "null = $DGL_MA_DATA or ~/.cache/dgl_ma",
    "data.mirror": "null = $DGL_MA_MIRROR or none",
    "data.missing_rate": "percent of non-training nodes without features (0-100)",
    "data.fold": "0-9 (proteins)",
    "data.split_source": ", ".join(SPLIT_SOURCES),
    "data.subset": "first N graphs of each split; 0 = all",
    "train.batch_size": "graph tasks only",
    "train.patience": "epochs without a lower val loss before stopping; 0 = never stop early",
    "train.lr_patience": "epochs without a lower val loss before lowering lr; 0 = never",
    "train.max_seconds": "wall-clock budget per run; 0 = none",
    "train.device": "cpu, cuda, cuda:N",
    "train.diagnostics_every": "gradient/score diagnostics every k epochs; 0 = off",
    "train.fanouts": "sampled neighbours per layer (node tasks); [] = full batch",
    "train.checkpoint_every": "epochs between mid-run checkpoints; 0 = none",
    "analysis.abs_threshold": "null = the relative threshold only",
    "analysis.gamma_elements": "elements of the gamma fit; 0 = every finite one",
    "launcher": ", ".join(LAUNCHERS),
    "workers": "runs at once",
    "threads": "torch threads per run; 0 = automatic",
    "slurm.gpus_per_task": "0 = none",
    "seeds": "one run per seed, each in 0..2**32-1",
    "output.dir": "records go to <dir>/<suite>/<run id>.json",
    "output.save_model": ", ".join(SAVE_MODEL),
}


def _note(key: str) -> str:
    """The key's note, plus which models read it when not all do."""
    note = KEY_NOTES.get(key, "")
    if key.startswith("model.") and key != "model.name":
        names = readers(key.split(".", 1)[1])
        if len(names) < len(MODELS.names()):
            note = f"{note}; " if note else ""
            note += f"read by {', '.join(names)}"
    return note


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str] = (), width: int = WIDTH) -> str:
    """A plain table whose last column is wrapped so that no line exceeds ``width``."""
    rows = [[("" if v is None and i == len(row) - 1 else v) for i, v in enumerate(row)] for row in rows]
    fixed = tabulate([row[:-1] for row in rows], headers=list(headers[:-1]), tablefmt="plain", disable_numparse=True)
    used = max((len(line) for line in fixed.splitlines()), default=0) + 2
    return tabulate(rows, headers=list(headers), tablefmt="plain", disable_numparse=True,
                    maxcolwidths=[None] * (len(rows[0]) - 1) + [max(width - used, 20)])


def render() -> str:
    suites = [(name, load_suite(name).description) for name in suite_names()]
    keys = [(key, kind, repr(default) if isinstance(default, str) else default, _note(key))
            for key, kind, default in valid_keys()]
    metrics = [(name, METRIC_HELP.get(name, "")) for name in METRIC_COLUMNS if not name.startswith("gain@0.")
               or name == "gain@0.01"]
    parts: List[str] = [
        f"suites ({suites_dir()}):", table(suites),
        "\nmodels:", table(MODELS.describe()),
        "\ndatasets:", table(DATASETS.describe()),
        "\nconfig keys (set as key=value; a 0 that means 'off' is noted):",
        table(keys, headers=("key", "type", "default", "values / meaning")),
        "\nleaderboard columns (leaderboard: metrics: [...] in a suite, metric= on the command line):",
        table(metrics),
    ]
    return "\n".join(parts)
