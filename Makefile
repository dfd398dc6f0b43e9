# `make run` and `make test` work on a fresh machine with Python 3.11+ and make:
# the first use creates .venv and installs sheetgen with what its tests need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint golden bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sheetgen generate
	$(BIN)/sheetgen report

# Two processes: the suite is mostly one-threaded Python, and each engine run has its own profile.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist worksteal

# The inner loop: every test but those that start LibreOffice, Gnumeric or Chromium, or are slow.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist worksteal -m "not libreoffice and not gnumeric and not browser and not slow"

lint: $(STAMP)
	$(BIN)/ruff check sheetgen tests bench

# Rewrites tests/check/golden/ from the model; review the diff before committing it.
golden: $(STAMP)
	$(BIN)/python tests/check/make_golden.py

# Renders the default workbooks with LibreOffice to outputs/screenshots/: PDF and PNG pages; and
# every shipped example in LibreOffice's and Gnumeric's windows at 1366x768 (window/: the summary,
# a learning-rate sheet on opening and scrolled 1,000 rows; needs Xvfb and xdotool).
screenshots: $(STAMP)
	BIN=$(BIN) sh scripts/screenshots.sh outputs/screenshots

# Times big runs against pandas and the no-library floor (README, Performance): a few minutes.
bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
