# The two commands of the README: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEV_ENV := CERTADMIN_INSECURE_DEV=True
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run run-mtls test test-fast lint format venv system-deps bench screenshots clean

# One virtualenv for running, testing and linting: requirements.txt is what production installs,
# requirements-dev.txt adds the tests' and linters' packages.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# Debian packages the tests drive (chromium for the browser tests, keytool, xmlsec1, nginx).
system-deps:
	./.ci/system-deps

run: venv
	$(DEV_ENV) $(BIN)/python manage.py migrate --no-input
	$(DEV_ENV) $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	@echo "------------------------------------------------------------------"
	@$(DEV_ENV) $(BIN)/python manage.py load_demo
	@echo "Open http://$(HOST):$(PORT)/ and log in with one of the logins above."
	@echo "------------------------------------------------------------------"
	@# One process starts both servers and, on Ctrl-C or TERM, stops both (deploy/run_dev.py).
	@$(DEV_ENV) exec $(BIN)/python deploy/run_dev.py $(HOST):$(PORT)

# The app behind nginx (docs/mtls.md): TLS on https://127.0.0.1:8444 and the mutual-TLS
# listener on https://127.0.0.1:8443, with a self-made server certificate in var/mtls/.
run-mtls: venv
	$(DEV_ENV) $(BIN)/python manage.py migrate --no-input
	$(DEV_ENV) $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	@$(DEV_ENV) $(BIN)/python manage.py load_demo
	$(DEV_ENV) $(BIN)/python deploy/mtls_stack.py run

test: venv system-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: venv
	$(BIN)/python -m pytest -m "not browser"

# Style (ruff), the layers between the apps (import-linter contracts in pyproject.toml) and
# types (mypy strict with django-stubs, [tool.mypy] in pyproject.toml).
lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The screenshots of README.md and docs/ (tests/browser/test_screenshots.py): the demo org in
# chromium at 1400 px, written to docs/screenshots/*.png.
screenshots: venv system-deps
	CERTADMIN_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/browser/test_screenshots.py

clean:
	rm -rf $(VENV) staticfiles var
