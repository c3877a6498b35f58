# Two commands on a fresh machine:  make demo   and   make test
# (On Windows without make: see README, "Windows".)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test install layers lint bench browser clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## make demo: install, then run the main job on the demo town (reports/ and maps/)
demo: $(STAMP)
	$(BIN)/python -m gis_town demo

## make test: install (Python packages, and Chromium + CJK fonts for browser tests), run the tests
test: $(STAMP) browser
	$(BIN)/ruff check gis_town tests benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

## headless Chromium and a CJK font from Debian (browser tests and print maps); skipped where apt is absent
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else echo "no apt-get/root: browser tests will be skipped"; fi; \
	fi

## rebuild the demo town's data under layers/ (deterministic)
layers: $(STAMP)
	$(BIN)/python -m gis_town generate --out layers

lint: $(STAMP)
	$(BIN)/ruff check gis_town tests benchmarks
	$(BIN)/ruff format --check gis_town tests benchmarks

## benchmarks: town and county size, side by side with the baselines
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf reports maps/*.html maps/*.png maps/*.pdf .pytest_cache
