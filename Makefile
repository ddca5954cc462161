# One command per intent: make run, make test, make check, make bench.
# Everything installs into .venv from PyPI (and Debian's chromium for browser tests).

VENV    ?= .venv
PY      := $(VENV)/bin/python
UV      := $(VENV)/bin/uv
STAMP   := $(VENV)/.installed
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTHON  ?= python3
# Tests run side by side in this many processes (pytest-xdist); 0 runs them in this one.
TEST_WORKERS ?= 2

.PHONY: install run test check bench schema system-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Bytecode is compiled once here: where Python may not write it (PYTHONDONTWRITEBYTECODE, as on
# this project's machines) every process would compile all it imports again: an MLflow server
# took 15 s to start instead of 7, `import mlflow` twice as long, Ray and Streamlit 1.5 times.
# The checkout's own modules too (__pycache__ is ignored by git and the wheel); bench/*.py, not
# bench/, which holds the MLflow venvs (bench/servers.py compiles those).
$(STAMP): pyproject.toml Makefile | $(PY)  # a changed recipe installs again
	$(PY) -m pip install --quiet --upgrade uv
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -e '.[dev]'
	$(PY) -m compileall -q -j 0 hub connectors dashboard tests bench/*.py >/dev/null
	touch $(STAMP)

install: $(STAMP)  ## Create .venv and install Salon with its development tools.

run: install  ## Start hub + dashboard on ./.salon with demo data; prints where to sign in.
	$(VENV)/bin/salon up

system-deps:  ## Debian packages the tests need (headless Chromium for page tests).
	@command -v chromium >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; }

# Caddy from Debian for the load-balancer tests, unpacked here rather than installed: no
# service is started, nothing listens until a test runs it on 127.0.0.1.
CADDY := .tools/caddy/usr/bin/caddy
$(CADDY):
	mkdir -p .tools/caddy
	cd .tools && { apt-get download caddy 2>/dev/null || { $(SUDO) apt-get update -qq && apt-get download caddy; }; }
	dpkg-deb -x .tools/caddy_*.deb .tools/caddy && rm .tools/caddy_*.deb
	touch $(CADDY)

MLFLOW := bench/.mlflow-venv/bin/mlflow
$(MLFLOW): | $(STAMP)  # the reference MLflow server, in its own venv (see bench/servers.py)
	$(PY) -c "from bench.servers import ensure_mlflow_venv; ensure_mlflow_venv()"

MLFLOW2 := bench/.mlflow2-venv/bin/mlflow
$(MLFLOW2): | $(STAMP)  # the last MLflow 2 client, for the tests of older clients
	$(PY) -c "from bench.servers import ensure_mlflow2_venv; ensure_mlflow2_venv()"

test: install system-deps $(CADDY) $(MLFLOW) $(MLFLOW2)  ## Install what tests need, then run them all.
	$(PY) -m pytest -q --numprocesses $(TEST_WORKERS)

check: install  ## Lint, format check and type check.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy hub connectors dashboard

schema: install  ## Regenerate schema/hub.graphql from the code.
	$(PY) -m hub.api.export > schema/hub.graphql

bench: install  ## Salon against MLflow, side by side, printed as a table.
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
