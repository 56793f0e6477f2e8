# git-exp — everything runs from a virtualenv this Makefile creates (.venv).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SOURCES := $(shell find git_exp completion -type f -not -name '*.pyc') setup.cfg pyproject.toml man/git-exp.1
PYTEST_ARGS ?=
BENCH_ARGS ?=
APT_PACKAGES := lighttpd openssh-server gitolite3 git-lfs bash-completion zsh fish chromium chromium-driver

.PHONY: dvc test test-system test-current git-current demo man man-check lint install bench stress test-deps clean

$(STAMP): $(SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q '.[test]'
	touch $(STAMP)

# The test servers (sshd, lighttpd, gitolite, git-lfs), the shells the completion tests
# drive (bash-completion, zsh, fish) and the report's browser (chromium, chromium-driver)
# come from apt when we are root (CI);
# elsewhere the tests that need a missing one are skipped with the command that enables them.
test-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing test servers:$$missing"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } \
			|| echo "could not install$$missing: their tests will be skipped"; \
	elif [ -n "$$missing" ]; then echo "not installed (their tests will be skipped):$$missing"; fi

# `make test` runs the suite twice: with the system git and git's default repositories
# (SHA-1, files refs), then with a current git (>= 2.47) making every repository SHA-256 with
# reftable refs (tests/formats.py). The current git is Debian 13's source package, built
# once into a cache outside the checkout by .ci/git-current.sh (GIT_EXP_CURRENT_GIT=/path/to/git
# uses another); where it cannot be had, the second pass is skipped with the reason.
PYTEST := $(BIN)/python -m pytest -n auto -q --durations=10 $(PYTEST_ARGS)
CURRENT_FORMATS := GIT_EXP_TEST_OBJECT_FORMAT=sha256 GIT_EXP_TEST_REF_FORMAT=reftable

test: test-system test-current

# DVC for the tests that check git-exp against it: .ci/dvc.sh builds a cached virtualenv
# with dvc==3.67.1 once (outside the checkout) and prints its `dvc`; where it cannot be
# had, those tests skip with the reason.  DVC is heavy, so it is not in the test extra.
DVC_ENV = dvc=$$(.ci/dvc.sh) && export GIT_EXP_TEST_DVC="$$dvc" || echo "DVC tests will be skipped: $$dvc"

test-system: $(STAMP) test-deps
	@echo "== tests 1/2: $$(git --version) ($$(command -v git)); SHA-1 objects, files refs"
	@$(DVC_ENV); set -x; PATH="$(CURDIR)/$(BIN):$$PATH" $(PYTEST)

test-current: $(STAMP) test-deps
	@git=$$(.ci/git-current.sh); rc=$$?; \
	if [ $$rc = 3 ]; then \
		echo "== tests 2/2 SKIPPED (current git, SHA-256 objects, reftable refs):"; \
		echo "$$git" | sed 's/^/   /'; exit 0; \
	fi; [ $$rc = 0 ] || exit $$rc; \
	echo "== tests 2/2: $$($$git --version) ($$git); SHA-256 objects, reftable refs"; \
	set -x; PATH="$(CURDIR)/$(BIN):$$(dirname "$$git"):$$PATH" $(CURRENT_FORMATS) $(PYTEST)

git-current:
	@.ci/git-current.sh

dvc:
	@.ci/dvc.sh

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python demo/demo.py

man:
	$(PYTHON) man/build.py man/git-exp.1.md > man/git-exp.1

man-check:
	@$(PYTHON) man/build.py man/git-exp.1.md | cmp -s - man/git-exp.1 || \
		{ echo "man/git-exp.1 is stale: run make man"; exit 1; }
	@echo "man/git-exp.1 is current"

lint: $(STAMP)
	$(BIN)/ruff check git_exp tests man demo

install: $(STAMP)
	@echo "installed into $(VENV); put $(CURDIR)/$(BIN) on PATH to use \`git exp\`"

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info

# The adversarial suite (issue 10): make stress STRESS_ARGS='--only kill --seed 1'
STRESS_ARGS ?=
stress: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tests.stress --size full $(STRESS_ARGS)
