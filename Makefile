# cdgate: the two commands a newcomer needs.
#   make demo   set up .venv and run the gate on the bundled example CD repo
#   make test   set up .venv and system packages, then run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -n 2

.PHONY: demo test venv system-packages clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[scanners,opa,test]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests use for real: an OCI registry and skopeo.
system-packages:
	@if command -v docker-registry >/dev/null 2>&1 && command -v skopeo >/dev/null 2>&1; then \
		echo "system packages: docker-registry and skopeo present"; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry skopeo; \
	else \
		echo "system packages: not root; install docker-registry and skopeo with apt-get (registry tests will skip)"; \
	fi

demo: venv
	@mkdir -p reports
	@$(BIN)/cdgate check examples/cd-repo --env prod --output-dir reports; code=$$?; \
	echo; echo "exit code $$code (0 passed, 1 a gate failed, 2 could not evaluate); reports in reports/"; \
	ls -1 reports/; test $$code -le 1

# The test suite starts what it needs itself (docker-registry on 127.0.0.1, on a free port).
test: venv system-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: venv
	$(BIN)/python benchmarks/manifests/run.py
	$(BIN)/python benchmarks/kyverno/run.py

clean:
	rm -rf $(VENV) reports/*.sarif reports/*.json reports/*.xml reports/*.md reports/*.html
