# The companion's commands. `make book` and `make test` are the two a reader needs; each one creates or
# updates the project-local virtual environment (.venv) from the pinned requirements when they changed.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= standard
# GPU=1 installs tensorflow[and-cuda] instead of the default CPU build of TensorFlow.
GPU ?= 0
STAMP := $(VENV)/.installed-gpu$(GPU)
ASSETS_STAMP := book/_vendor/.fetched
BOOK_HTML := _build/html/index.html
TEST_WORKERS ?= auto

.PHONY: book test lab venv assets browser lock clean help exercises

help:
	@echo "make book   - install (if needed), execute the notebooks (PROFILE=$(PROFILE)) and build the site"
	@echo "make test   - install (if needed) and run every test offline: units, notebooks, exercises, site, browser"
	@echo "make lab    - JupyterLab on 127.0.0.1 with a token"
	@echo "make exercises - regenerate notebooks/exercises/ from the chapter notebooks"
	@echo "options: PROFILE=smoke|standard|full  GPU=1 (tensorflow[and-cuda])"

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (the companion needs Python 3.11)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@if [ "$(GPU)" = "1" ]; then \
	  grep -v '^tensorflow-cpu==' requirements.txt > $(VENV)/requirements-gpu.txt; \
	  echo "tensorflow[and-cuda]==$$(sed -n 's/^tensorflow-cpu==//p' requirements.txt)" >> $(VENV)/requirements-gpu.txt; \
	  grep -v '^tensorflow-cpu==' constraints.txt > $(VENV)/constraints-gpu.txt; \
	  $(PY) -m pip install -q -r $(VENV)/requirements-gpu.txt -c $(VENV)/constraints-gpu.txt; \
	else \
	  $(PY) -m pip install -q -r requirements.txt -c constraints.txt; \
	fi
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-gpu*; touch $@

venv: $(STAMP)

# require.js, the ipywidgets HTML manager and MathJax, fetched from the npm registry (not a CDN) into book/_vendor.
$(ASSETS_STAMP): tools/fetch_web_assets.sh
	bash tools/fetch_web_assets.sh book/_vendor

assets: $(ASSETS_STAMP)

# Headless Chromium for the browser test (Debian packages; installed only when missing).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Chromium missing: run 'sudo apt-get install chromium' (the browser test will be skipped)"; fi; \
	fi

# The execution cache does not know the profile: a build in another profile than the last one starts from scratch.
# Notebooks are first executed in parallel into the cache (tools/preexecute.py); the build then only renders.
book: $(STAMP) $(ASSETS_STAMP)
	@if [ -d _build ] && [ "$$(cat _build/.profile 2>/dev/null)" != "$(PROFILE)" ]; then \
	  echo "profile changed to $(PROFILE): removing _build"; rm -rf _build; fi
	@mkdir -p _build && echo "$(PROFILE)" > _build/.profile
	CHAPTERS_PROFILE=$(PROFILE) $(PY) tools/preexecute.py --cache _build/.jupyter_cache notebooks/[0-9]*.ipynb
	CHAPTERS_PROFILE=$(PROFILE) $(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo; echo "Book built with profile '$(PROFILE)'. Open: file://$(CURDIR)/$(BOOK_HTML)"

# Two stages, one execution of each chapter notebook:
# 1. unit tests and exercise checks (tests/), and every chapter notebook under nbval in the smoke profile; the
#    notebooks that pass are kept, executed, in $(TESTED) (notebooks/conftest.py);
# 2. the site tests (tests/test_site.py): the smoke book is built from those executed notebooks (any missing one is
#    executed again by the build) and opened in headless Chromium.
# Both stages always run; the exit status is the first failure. The reader's exercise notebooks
# (notebooks/exercises/) hold stubs and are tested by tests/ instead.
# pytest-xdist runs TEST_WORKERS processes (default: one per core); --dist loadscope keeps each notebook's cells
# (and each test module) in one process, in order. TEST_WORKERS=0 runs everything in this process.
TESTED := _build/tested-notebooks
TEST_ENV := CHAPTERS_OFFLINE=1 CHAPTERS_PROFILE=smoke
test: $(STAMP) $(ASSETS_STAMP) browser
	@rm -rf $(TESTED); status=0; \
	$(TEST_ENV) CHAPTERS_RECORD_NOTEBOOKS=$(TESTED) $(PY) -m pytest tests notebooks/[0-9]*.ipynb \
	  --ignore=tests/test_site.py --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
	  -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS) || { s=$$?; [ $$s = 5 ] || status=$$s; }; \
	$(TEST_ENV) CHAPTERS_TESTED_NOTEBOOKS=$(TESTED) $(PY) -m pytest tests/test_site.py \
	  $(PYTEST_ARGS) || { s=$$?; [ $$s = 5 ] || [ $$status != 0 ] || status=$$s; }; \
	exit $$status

# Regenerate the reader's exercise notebooks from the chapter notebooks (solutions → stubs).
exercises: $(STAMP)
	$(PY) -m chapters_src.exercises generate

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser $$( [ "$$(id -u)" = "0" ] && echo --allow-root )

lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv && .lockvenv/bin/pip install -q -r requirements.txt
	(echo "# Full lock of the CPU environment (pip freeze of a fresh install of requirements.txt), used as pip constraints."; \
	 echo "# Regenerate with: make lock"; .lockvenv/bin/pip freeze) > constraints.txt
	rm -rf .lockvenv

clean:
	rm -rf _build .pytest_cache
