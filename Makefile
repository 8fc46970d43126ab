# Rassembleur — the two commands of README.md, and the helpers around them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export DATABASE_URL ?= sqlite://var/rassembleur.sqlite3
# Where `make run` listens: `make run PORT=8123 HOST=0.0.0.0` (make arguments; a HOST or
# PORT variable in the shell's environment is not used). Without BASE_URL, links in
# e-mails and calendars follow this address.
HOST = 127.0.0.1
PORT = 8000


.PHONY: run test test-pg lint format install migrate demo worker bench clean messages migrations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

var:
	mkdir -p var

migrate: install var
	$(BIN)/rassembleur migrate

run: migrate
	$(BIN)/rassembleur demo --if-empty
	$(BIN)/rassembleur serve --host $(HOST) --port $(PORT)

worker: migrate
	$(BIN)/rassembleur worker

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite again on PostgreSQL (what .ci/run does when a server answers).
test-pg: install
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy core people events registrations campaigns evaluations reports server.py cli.py demo.py

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-extract the message catalog template and update the English catalog.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -o locale/messages.pot --no-location --sort-output .
	for lang in en fr; do \
		if [ -f locale/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update -i locale/messages.pot -d locale -l $$lang --no-fuzzy-matching; \
		else \
			$(BIN)/pybabel init -i locale/messages.pot -d locale -l $$lang; \
		fi; \
	done

bench: install
	$(BIN)/python bench/mail_throughput.py
	$(BIN)/python bench/events_pages.py
	$(BIN)/python bench/checkin_load.py
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache

# Write new migrations after a model change (commit them).
migrations: install
	DATABASE_URL=sqlite://:memory: $(BIN)/tortoise makemigrations
