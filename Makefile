# Two commands on a fresh machine: `make lab` (read and run the book) and `make test` (check everything).
# Setup is idempotent: the venv is built once and rebuilt only when settings.ini or setup.py change.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
NB_BUDGET_S ?= 120
# notebooks run in parallel, one notebook per worker (pytest-xdist --dist loadfile), one torch thread each
NB_WORKERS ?= 2
# root cannot start JupyterLab without --allow-root; add it only when we are root
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

# On a CUDA machine the printed numbers differ from the CPU's: check errors and assertions only there.
NBVAL_MODE = $(shell $(BIN)/python -c "import torch; print('--nbval-lax' if torch.cuda.is_available() else '--nbval')" 2>/dev/null || echo --nbval)

.PHONY: setup export readme lab book docs docs-serve exercises test test-sync test-unit test-nbs test-browser clean

setup: $(STAMP)

$(STAMP): settings.ini setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH_SPEC) 2>&1 | { grep -v "is ignored: it is neither" || true; }
	$(BIN)/python -m pip install -q -e ".[dev]" 2>&1 | { grep -v "is ignored: it is neither" || true; }
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

export: setup
	$(BIN)/nbdev_export

# README.md is generated from nbs/index.ipynb
readme: setup
	$(BIN)/jupyter nbconvert --to markdown --log-level=WARN --output-dir . --output README nbs/index.ipynb

lab: export
	$(BIN)/jupyter lab $(ROOT_FLAG) --notebook-dir=nbs nbs/index.ipynb

book: export
	@mkdir -p _book
	$(BIN)/jupyter nbconvert --to html --execute --ExecutePreprocessor.timeout=600 --output-dir _book nbs/*.ipynb
	@ls _book/*.html

# nbdev_export and nbdev_clean must leave the tree unchanged
test-sync: setup
	@before=$$(find aigc_book nbs README.md -type f \( -name '*.py' -o -name '*.ipynb' -o -name '*.md' \) -print0 | sort -z | xargs -0 md5sum); \
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(MAKE) -s readme && \
	after=$$(find aigc_book nbs README.md -type f \( -name '*.py' -o -name '*.ipynb' -o -name '*.md' \) -print0 | sort -z | xargs -0 md5sum); \
	if [ "$$before" != "$$after" ]; then echo "nbdev_export/nbdev_clean/README changed files (run them and commit):"; diff <(echo "$$before") <(echo "$$after"); exit 1; fi; \
	echo "nbdev_export, nbdev_clean and README: no changes"

test-unit: setup
	$(BIN)/python -m pytest -q tests/

# One torch thread: printed numbers then do not depend on the machine's core count (strict nbval), and
# the per-notebook budget is measured on one core's worth of work. NB_WORKERS notebooks run at once.
test-nbs: setup
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NB_BUDGET_S=$(NB_BUDGET_S) $(BIN)/python -m pytest -q -p no:cacheprovider \
	  -n $(NB_WORKERS) --dist loadfile $(NBVAL_MODE) --nbval-current-env --nbval-cell-timeout=600 --nbval-sanitize-with .nbval_sanitize.cfg nbs/

test: test-sync test-unit test-nbs

# The book as a website in _docs/: stored outputs, nbdev directives applied, API docs, MathJax bundled, search.
# Offline; rebuilds only changed chapters. Open _docs/index.html, or `make docs-serve` for search previews.
docs: export
	$(BIN)/python docs/build.py --nbs nbs --proc _proc --out _docs

DOCS_PORT ?= 8000
docs-serve: docs
	@echo "serving _docs/ on http://127.0.0.1:$(DOCS_PORT)/ (Ctrl-C stops)"
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory _docs $(DOCS_PORT)

# Browser tests in headless Chromium (Debian's `chromium`; CHROMIUM=/path overrides), every non-localhost request
# blocked: the docs site, and every chapter that shows widgets run in JupyterLab with each control exercised.
# Screenshots go to _browser/. Not part of `make test` (which needs no browser); .ci/run runs both.
test-browser: export
	$(BIN)/python -m pytest -p no:cacheprovider -v tests_browser/

clean:
	rm -rf _book _docs _proc _exercises _browser .pytest_cache

# Student copies of the exercises: each solution replaced by a stub, its check kept (tools/exercises.py).
# Standard library only: works on a fresh clone, without the venv and without a network. The checks themselves
# are tested in test-nbs: nbs/conftest.py runs every exercise's check without its solution (it must fail).
exercises:
	$(PYTHON) tools/exercises.py make --src nbs --out _exercises
