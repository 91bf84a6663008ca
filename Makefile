# The two commands of the README: `make demo` and `make test`. Both create .venv on first use
# and install the package with the exact pins of constraints.txt.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test venv clean-venv

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: venv
	$(PY) -m benchmark run suite=quickstart

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)

# asv benchmarks (benchmarks/, asv.conf.json; results and html in the ignored .asv/).
# `make bench`: the whole suite on this machine, then `asv publish` and the table of target ratios.
# `make bench-check` (CI): `asv check` and one quick dry run of every benchmark, nothing saved
# (DGL_MA_BENCH_PAIRS=1: one A/B pair per ratio benchmark).
# BENCH_DEVICE=cuda runs on the GPU; results go to the asv machine <hostname>-<device>.
BENCH_DEVICE ?= cpu
ASV_MACHINE ?= $(shell uname -n)-$(BENCH_DEVICE)
ASV_ARGS ?=
ASV := DGL_MA_BENCH_DEVICE=$(BENCH_DEVICE) $(PY) -m asv
ASV_ENV = -E existing:$(abspath $(PY)) --machine $(ASV_MACHINE)

.PHONY: bench bench-check

bench: venv
	DGL_MA_BENCH_DEVICE=$(BENCH_DEVICE) $(PY) -m benchmarks.asv_machine $(ASV_MACHINE)
	$(ASV) run $(ASV_ENV) --set-commit-hash "$$(git rev-parse HEAD)" --launch-method forkserver \
	    --show-stderr --durations 10 $(ASV_ARGS)
	$(ASV) publish
	$(PY) -m benchmarks.ratios --machine $(ASV_MACHINE)

bench-check: venv
	$(ASV) check -E existing:$(abspath $(PY))
	DGL_MA_BENCH_DEVICE=$(BENCH_DEVICE) $(PY) -m benchmarks.asv_machine $(ASV_MACHINE)
	DGL_MA_BENCH_PAIRS=1 $(ASV) run $(ASV_ENV) --quick --dry-run --launch-method forkserver --show-stderr \
	    $(ASV_ARGS)
