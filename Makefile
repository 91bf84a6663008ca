# The two commands of the README: `make demo` and `make test`. Both create .venv on first use
# and install the package with the exact pins for the interpreter's version (tools/make_venv.sh):
# Python 3.11 -> constraints.txt (DGL 1.1.3), Python 3.12 -> constraints-py312.txt (DGL 2.1.0).
# `make demo PYTHON=python3.12` picks the interpreter; other versions stop with a message.
# PINS=none uses an existing $(VENV) as it is (CUDA builds of torch and DGL installed by hand).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
PINS ?= exact
PYTHON_GIVEN := $(if $(filter command line environment,$(origin PYTHON)),explicit,default)

.PHONY: demo test venv clean-venv

venv:
	sh tools/make_venv.sh "$(PYTHON)" "$(VENV)" $(PYTHON_GIVEN) $(PINS)

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
