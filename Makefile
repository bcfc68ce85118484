# Two commands for a fresh machine: `make demo` renders the bundled sample, `make test` runs the tests.
# Both create the virtual environment in .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	mkdir -p out
	$(BIN)/dreamer render dreamer/assets/chelsea.png -o out/chelsea_dream.png

test: $(VENV)/.installed
	$(BIN)/ruff check dreamer tests bench
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/python bench/step.py
	$(BIN)/python bench/grid.py

clean:
	rm -rf $(VENV) out
