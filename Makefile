# One command to run the app and one to run the tests; each creates or refreshes .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt requirements-spark.txt | cksum | cut -d' ' -f1)

.PHONY: run test test-fast venv lint sample lemmas bench clean

# The venv also gets a .pth naming this folder, so `python -m funnel` works from any directory.
$(STAMP): requirements.txt requirements-dev.txt requirements-spark.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'funnel_project.pth').write_text('$(CURDIR)\\n')"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

run: venv  ## open the app on the bundled sample data
	$(BIN)/streamlit run app.py

test: venv  ## the whole test suite (what CI runs)
	$(BIN)/python -m pytest -q

# The developer loop: unit and engine tests only; AppTests, the browser, the real exports, the
# Spark engine and the slow tests (markers given in tests/conftest.py and the test files) are
# left to `make test`.
test-fast: venv  ## unit + engine tests, under two minutes
	$(BIN)/python -m pytest -q -m "not app and not browser and not real and not slow and not spark"

lint: venv  ## ruff on everything, mypy on the engine (config in pyproject.toml)
	$(BIN)/ruff check funnel ui views tests app.py scripts bench
	$(BIN)/mypy

sample: venv  ## regenerate sample_data/ (fixed seed: the files do not change)
	$(BIN)/python scripts/make_sample_data.py

lemmas: venv  ## rewrite funnel/data/english_lemmas.toml after changing the loss-reason keywords
	$(BIN)/python scripts/make_english_lemmas.py

bench: venv  ## the performance benchmark (see README)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
