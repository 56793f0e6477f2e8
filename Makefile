# git-exp — everything runs from a virtualenv this Makefile creates (.venv).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SOURCES := $(shell find git_exp -name '*.py') setup.cfg pyproject.toml man/git-exp.1
PYTEST_ARGS ?=
BENCH_ARGS ?=
APT_PACKAGES := lighttpd openssh-server gitolite3 git-lfs

.PHONY: test demo man man-check lint install bench test-deps clean

$(STAMP): $(SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q '.[test]'
	touch $(STAMP)

# The test servers (sshd, lighttpd, gitolite, git-lfs) come from apt when we are root (CI);
# elsewhere the tests that need a missing one are skipped with the command that enables them.
test-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing test servers:$$missing"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } \
			|| echo "could not install$$missing: their tests will be skipped"; \
	elif [ -n "$$missing" ]; then echo "not installed (their tests will be skipped):$$missing"; fi

test: $(STAMP) test-deps
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n auto -q --durations=10 $(PYTEST_ARGS)

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
