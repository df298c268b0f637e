# make demo   installs everything, starts a local test host, deploys the sample app, prints URLs
# make test   lint + unit + molecule (everything that tests the project)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# Molecule scenarios, in the order they run; `make molecule SCENARIOS=rollback` runs one.
SCENARIOS ?= $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))

.PHONY: all venv testhost lint unit molecule test demo demo-down bench clean
all: test

venv: $(VENV)/.installed
$(VENV)/.installed: requirements-controller.txt
	@python=$$(scripts/find-python) && echo "controller python: $$python" && "$$python" -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-controller.txt
	@touch $@

# Root-only, once per machine: Podman and friends, cgroup mounts, rlimits; then the images (bookworm, bullseye).
# A non-root user (a CI runner) needs sudo without a password: the root steps run through it, and
# .venv/bin/podman (scripts/podman-as-root) sends every later podman call through it too.
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo)
CACHE := $(or $(HKNWEB_CACHE),$(HOME)/.cache/hknweb-deploy)
testhost:
	@$(AS_ROOT) scripts/testhost-prepare
	@$(AS_ROOT) env HKNWEB_CACHE=$(CACHE) scripts/testhost-image >/dev/null
	@$(AS_ROOT) env HKNWEB_CACHE=$(CACHE) scripts/testhost-image bullseye >/dev/null
	@if [ -n "$(AS_ROOT)" ]; then mkdir -p $(BIN) && ln -sfn $(CURDIR)/scripts/podman-as-root $(BIN)/podman; fi

# ruff: the Python rule set in ruff.toml (why each family). zizmor: the GitHub workflows (schema and
# security audits: injection, credentials, pinning), the repository's own and the documented example. Each check prints "CHECK PASS|FAIL: name" so .ci/run can count checks that are not pytest tests.
lint: venv
	@ansible-lint --offline --profile production --nocolor \
	  && echo "CHECK PASS: ansible-lint" || { echo "CHECK FAIL: ansible-lint"; exit 1; }
	@yamllint --strict . && echo "CHECK PASS: yamllint" || { echo "CHECK FAIL: yamllint"; exit 1; }
	@python scripts/check-role-specs roles && echo "CHECK PASS: role specs" || { echo "CHECK FAIL: role specs"; exit 1; }
	@ruff check --quiet . && echo "CHECK PASS: ruff" || { echo "CHECK FAIL: ruff"; exit 1; }
	@zizmor --offline --strict-collection --no-progress --quiet --config .github/zizmor.yml \
	  .github/workflows docs/github-actions-deploy.yml && echo "CHECK PASS: zizmor (workflows)" \
	  || { echo "CHECK FAIL: zizmor (workflows)"; exit 1; }

unit: venv
	pytest -q -p no:cacheprovider tests/unit

molecule: venv testhost
	@failed=(); for s in $(SCENARIOS); do \
	  echo "=== molecule scenario: $$s"; \
	  if molecule test -s "$$s"; then echo "CHECK PASS: molecule $$s"; \
	  else echo "CHECK FAIL: molecule $$s"; failed+=("$$s"); fi; \
	done; \
	if (($${#failed[@]})); then echo "molecule scenarios failed: $${failed[*]}"; exit 1; fi

test: lint unit molecule

demo: venv testhost
	scripts/demo

demo-down:
	scripts/testhost-down hknweb-demo

# make bench [N=5] [BASELINE=<git rev>] [CURRENT=<git rev>]: deploy timings, host module calls and
# requests lost under load, on the bench's own test hosts, plus the prune of 1,000 releases
# (bench/run_bench.py; table printed and written to docs/benchmarks.md). BASELINE also measures that
# revision (own host, runs interleaved, ratios); CURRENT measures a revision instead of the work tree.
bench: venv testhost
	python bench/run_bench.py --runs $(or $(N),5) $(if $(BASELINE),--baseline $(BASELINE)) \
	  $(if $(CURRENT),--current $(CURRENT))

clean:
	scripts/testhost-down $(addprefix $(or $(HKNWEB_TESTHOST_PREFIX),hknweb-molecule)-,$(SCENARIOS)) hknweb-demo
	rm -rf $(VENV)
