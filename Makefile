# basin: the two commands of a fresh machine.
#
#   make demo   build, then run the digits demo pipeline end to end
#   make test   build, run every test, run the demo and check its outputs
#               open in pandas/pyarrow and DuckDB, that its report works in
#               headless Chromium and that the notebook runs (what .ci/run runs)
#   make test-slurm
#               the demo through a real single-node SLURM started here
#               (root: installs slurm-wlm and munge; about 25 minutes)
#
# One build profile (release) serves the tests, the benches and the demo, so
# nothing is compiled twice. Cargo's target dir lives outside the clone so
# repeated runs stay warm; override with CARGO_TARGET_DIR.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/basin/target
# candle 0.11 parses /proc/cpuinfo on every CPU matmul unless this is set
# (the basin binary sets it itself; this covers the test harnesses).
export RAYON_NUM_THREADS ?= $(shell nproc)
BASIN := $(CARGO_TARGET_DIR)/release/basin
JOBS ?= 2
VENV ?= $(HOME)/.cache/basin/venv
PY := $(VENV)/bin/python

# --tests: the test harnesses share this build's features, so `cargo test`
# afterwards compiles nothing new (a plain `cargo build` unifies features
# without dev-dependencies and would rebuild candle and polars a second time).
build:
	cargo build --release --workspace --tests

demo: build
	$(MAKE) -C pipelines/digits BASIN=$(BASIN) -j$(JOBS)

test: build
	cargo test --release --workspace
	$(MAKE) demo
	$(MAKE) interop report-check notebook cifar10-smoke

# pandas + pyarrow and DuckDB open every Parquet output of the demo.
interop: $(VENV)/.installed
	$(PY) tests/interop.py pipelines/digits/out

# The report opens in headless Chromium: figures render, hovering an embedded
# point shows its tooltip, clicking a net shows its curves (needs Debian's
# chromium and chromium-driver; .ci/run installs them).
report-check: $(VENV)/.installed
	mkdir -p pipelines/digits/out/checks
	$(PY) tests/report_browser.py pipelines/digits/out/report/report.html pipelines/digits/out/checks/report-explorer.png

# pipelines/cifar10's whole DAG on a tiny file in CIFAR-10's binary format.
cifar10-smoke: build
	tests/cifar10_smoke.sh $(BASIN)

# The notebook runs top to bottom on the demo's outputs.
notebook: $(VENV)/.installed
	mkdir -p pipelines/digits/out/checks
	$(PY) tests/run_notebook.py notebooks/explore.ipynb pipelines/digits/out/checks/explore.executed.ipynb

$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

test-slurm: build
	tests/slurm/run.sh $(BASIN)

clean-demo:
	$(MAKE) -C pipelines/digits clean

.PHONY: build demo test test-slurm interop report-check notebook cifar10-smoke clean-demo
