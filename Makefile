# Two commands for a fresh machine: `make demo` renders the bundled sample, `make test` runs the tests.
# Both create the virtual environment in .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test browser bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	mkdir -p out
	$(BIN)/dreamer render dreamer/assets/chelsea.png -o out/chelsea_dream.png

test: $(VENV)/.installed browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The gallery page is checked in headless Chromium; install Debian's package where we can (root + apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "chromium could not be installed: the browser test will be skipped"

bench: $(VENV)/.installed
	$(BIN)/python bench/step.py
	$(BIN)/python bench/grid.py

clean:
	rm -rf $(VENV) out
