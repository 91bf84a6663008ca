"""asv benchmarks for dgl-ma (https://asv.readthedocs.io). Run them with ``make bench``.

Modules:
    common      device (``DGL_MA_BENCH_DEVICE``), seeded synthetic inputs, timing attributes
    cases       the tables of layers and models that the benchmarks cover: a new layer or
                model is one entry there
    layers      forward+backward of each attention layer and of the reference implementations
                (``dgl.nn.GATConv``, PyG ``GATConv``/``TransformerConv``)
    models      forward+backward and peak memory of each model; activation probes off vs on
    training    one full-batch training epoch of deep GAT (depth 2/8/32, LipschitzNorm off/on)
    loading     graph batching, self-loop preparation and ``GraphDataLoader`` iteration
    ratios      not a benchmark: ``python -m benchmarks.ratios`` prints the target ratios from
                the newest asv result file
"""
