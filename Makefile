# evo-circuits: every target sets up what it needs by itself, from a fresh machine.
#   make demo   virtualenv + install + a real evolution run (champion and plots in runs/demo/), then a
#               small discovery campaign (2 tasks x 3 seeds; report in runs/demo-discover/report.html)
#   make test   the whole test suite (Brian2 agreement included)
#   make bench  benchmarks/simulate.py (workload S vs Brian2)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BRIAN2 := .venv-brian2/.installed
DEMO   := runs/demo
DISCOVER := runs/demo-discover

.PHONY: demo test bench bench-train venv brian2 clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,dask,nir,train]'
	@# Optional peers (PyTorch autograd check, snnTorch and Norse NIR import, training peer): torch 2.13.0 is
	@# a local CPU build on these machines; --no-deps keeps snntorch/nirtorch/norse from pulling another torch.
	-$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0 && \
		$(PY) -m pip install --quiet --disable-pip-version-check --no-deps snntorch==1.0.0 nirtorch==2.6 norse==1.1.0
	@touch $@

brian2: $(BRIAN2)

$(BRIAN2): mk/brian2-venv.sh
	bash mk/brian2-venv.sh

test: $(STAMP) $(BRIAN2)
	$(PY) -m pytest

demo: $(STAMP)
	@rm -rf $(DEMO) $(DISCOVER) && mkdir -p runs
	$(VENV)/bin/evo-circuits evolve runs/demo.toml --out $(DEMO)
	$(VENV)/bin/evo-circuits runs show $(DEMO)
	$(VENV)/bin/evo-circuits score $(DEMO)/champion.json --fitness fitness/itd.toml --seed 7 \
		--plot $(DEMO)/plots/champion_fresh_trials.png
	$(VENV)/bin/evo-circuits motifs list --task itd
	$(VENV)/bin/evo-circuits discover --tasks timing_pattern memory --seeds 3 --generations 40 --out $(DISCOVER)
	@echo "demo outputs in $(DEMO)/ (plots in $(DEMO)/plots/); motif library: motifs/library.db"
	@echo "discovery report (recurring cores per task, nearest named motifs): $(DISCOVER)/report.html"

bench: $(STAMP) $(BRIAN2)
	$(PY) benchmarks/simulate.py

bench-train: $(STAMP)
	$(PY) benchmarks/train.py

clean:
	rm -rf $(VENV) .venv-brian2 .pytest_cache
