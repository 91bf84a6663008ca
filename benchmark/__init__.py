"""The dgl-ma benchmark runner behind ``python -m benchmark``: configs, sweeps, results, leaderboards."""
import dgl_ma  # noqa: F401  (selects DGL's PyTorch backend before anything imports dgl)
