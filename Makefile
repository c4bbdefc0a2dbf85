# Two commands do everything: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test coverage lint format install migrate seed check clean bench messages translations

run: install translations .env migrate seed
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Tests run with DEBUG off, like production; the key below exists only for the test run.
test: export SECRET_KEY ?= insecure-key-for-the-test-suite-only
test: export DEBUG = False
# In parallel: a process per core (pytest-xdist), each with its own test database; the tests on
# the shared test Redis share one process. `make test PYTEST_PROCESSES=` runs in one process.
PYTEST_PROCESSES ?= --numprocesses=auto --dist=loadgroup
test: install translations
	$(BIN)/pytest $(PYTEST_PROCESSES) $(PYTEST_ARGS)

# The suite with coverage of the portal's own code (.coveragerc); fails under 95%. CI runs this.
coverage:
	$(MAKE) test PYTEST_ARGS="--cov --cov-report=term $(PYTEST_ARGS)"

# ruff (ruff.toml): lint rules and the formatter's check; CI fails on either.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Rewrite files in the house format and apply ruff's safe fixes.
format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Performance benchmark on PostgreSQL (bench/README.md): builds the large clinic once, reusing it
# while it is fresh (BENCH_BUILD_ARGS=--rebuild to start over), then times the booking paths, then
# the load run over HTTP with 1, 2 and 4 gunicorn workers (BENCH_LOAD=no skips it,
# BENCH_LOAD_ARGS sizes it, e.g. "--requests 200 --workers 2").
BENCH_LOAD ?= yes
bench: export SECRET_KEY ?= insecure-key-for-the-benchmark-only
bench: export DEBUG = False
bench: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/clinic_bench
bench: install
	$(BIN)/python -m bench.build $(BENCH_BUILD_ARGS)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(if $(filter no,$(BENCH_LOAD)),,$(BIN)/python -m bench.http_load $(BENCH_LOAD_ARGS))

install: $(VENV)/.installed node_modules/.installed

# Translations (README, "Languages"): each language's catalogue is locale/<code>/LC_MESSAGES/
# django.po (and locale-django/<code>/...: Django's own strings its catalogue leaves out); the
# compiled .mo files are built from them here (gettext's msgfmt), never committed.
CATALOGUES := $(wildcard locale/*/LC_MESSAGES/*.po locale-django/*/LC_MESSAGES/*.po)
translations: $(CATALOGUES:.po=.mo)

%.mo: %.po
	@command -v msgfmt >/dev/null || { echo "msgfmt not found: install gettext (apt-get install gettext)" >&2; exit 1; }
	msgfmt --check --output-file=$@ $<

# After marking new text: adds the new strings to every catalogue (and drops those gone), for a
# translator to fill in. Locations by file only, so that moving a line does not change the files.
messages: install
	$(BIN)/python manage.py makemessages --all --no-obsolete --add-location=file \
		--ignore='.venv/*' --ignore='node_modules/*' --ignore='staticfiles/*' \
		--ignore='bench/*' --ignore='*/tests/*' --ignore='conftest.py'

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# A development .env with a fresh secret key, made once; edit it freely afterwards.
.env:
	sed "s/^SECRET_KEY=.*/SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')/" .env.example > $@

migrate: install .env
	$(BIN)/python manage.py migrate --noinput

seed: install .env
	$(BIN)/python manage.py seed_demo

check: install .env
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) node_modules staticfiles
