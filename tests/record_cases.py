"""The smallest valid run record, for tests of the readers (store, leaderboard, plots, export)."""


def record(run_id, status="ok", test=0.5, val=None, config_id=None, seed=0, model=None, data=None, train=None,
           **extra):
    """A record as the runner writes it, reduced to what readers use. ``model``/``data``/``train``
    update the config groups; ``extra`` adds top-level fields (history, seconds_per_epoch, …)."""
    out = {"run_id": run_id, "config_id": config_id or "c" + run_id, "seed": seed, "status": status,
           "config": {"model": {"name": "gat", "layers": 2, **(model or {})},
                      "data": {"name": "csbm", **(data or {})}, "train": dict(train or {}), "seeds": [seed]}}
    if status == "ok":
        val = test if val is None else val
        out.update(metric={"name": "accuracy", "higher_is_better": True},
                   test={"accuracy": test, "loss": 1.0 - test}, val={"accuracy": val, "loss": 1.0 - val})
    if status == "failed":
        out["message"] = "RuntimeError: boom"
    return {**out, **extra}
