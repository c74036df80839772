# cdgate: the two commands a newcomer needs.
#   make demo   set up .venv and run the gate on the bundled example CD repo
#   make test   set up .venv and system packages, then run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -n 2

.PHONY: demo test typecheck venv system-packages interop-deps clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[scanners,test]'
	# test-only: real OPA (Go) for the remote-OPA tests; it declares Python >=3.12 but runs on 3.11
	$(BIN)/python -m pip install --quiet --ignore-requires-python opa-golib-python-bindings==0.4.4
	touch $(STAMP)

# Bytecode ahead of time: where PYTHONDONTWRITEBYTECODE is set, every run would otherwise
# compile cdgate's modules again (about 0.2 s of each `cdgate check`).
BYTECODE := $(VENV)/.bytecode-stamp
$(BYTECODE): $(STAMP) $(shell find scanner -name '*.py')
	$(BIN)/python -m compileall -q scanner >/dev/null
	touch $(BYTECODE)

venv: $(BYTECODE)


# Debian packages the tests use for real: an OCI registry, skopeo, Node.js
# for the independent cosign-format implementation in tests/supplychain/interop,
# headless Chromium (the HTML report test) and git (the merge gate).
SYSTEM_TOOLS := docker-registry skopeo node npm chromium git
system-packages:
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then \
		echo "system packages: $(SYSTEM_TOOLS) present"; \
	elif [ "$$(id -u)" = 0 ]; then \
		pkgs=""; for tool in $$missing; do case $$tool in node) pkgs="$$pkgs nodejs";; *) pkgs="$$pkgs $$tool";; esac; done; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$pkgs; \
	else \
		echo "system packages: not root; install$$missing with apt-get (the tests that need them will skip)"; \
	fi

INTEROP := tests/supplychain/interop
$(INTEROP)/node_modules/.package-lock.json: $(INTEROP)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix $(INTEROP) --no-audit --no-fund --loglevel=error; \
	else echo "npm missing: cosign interop tests will skip"; fi

interop-deps: system-packages $(INTEROP)/node_modules/.package-lock.json

demo: venv
	@mkdir -p reports
	@$(BIN)/cdgate check examples/cd-repo --env prod --output-dir reports; code=$$?; \
	echo; echo "exit code $$code (0 passed, 1 a gate failed, 2 could not evaluate); reports in reports/"; \
	ls -1 reports/; test $$code -le 1

# Types are checked (mypy --strict over scanner/, configured in pyproject.toml) before the suite runs.
typecheck: venv
	$(BIN)/mypy

# The test suite starts what it needs itself (docker-registry on 127.0.0.1, on a free port).
test: venv system-packages interop-deps typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: venv
	$(BIN)/python benchmarks/manifests/run.py
	$(BIN)/python benchmarks/kyverno/run.py
	$(BIN)/python benchmarks/gatekeeper/run.py
	$(BIN)/python benchmarks/cel/run.py
	$(BIN)/python benchmarks/merge_gate/run.py
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/scanners/run.py
	$(BIN)/python benchmarks/webhook/run.py

clean:
	rm -rf $(VENV) reports/*.sarif reports/*.json reports/*.xml reports/*.md reports/*.html
