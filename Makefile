# The two commands: `make run` serves the app, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test venv worker relay lint migrations-check reset stack

run: venv  ## Serve on http://127.0.0.1:5000 (embedded PostgreSQL, demo data, in-process jobs)
	$(BIN)/python -m app.devserver

# Two workers, whole files to each (module fixtures such as live servers start once), each on a
# database of its own (tests/__init__.py): most tests wait on PostgreSQL half the time.
test: venv  ## The whole suite against real PostgreSQL and Redis
	$(BIN)/python -m pytest -n 2 --dist loadfile

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

stack: venv  ## The production process model here: nginx on :8080, 2 gunicorns, 2 RQ workers, relay, scheduler, PgBouncer, PostgreSQL + replica, Redis
	$(BIN)/python -m deploy.stack

reset:  ## Forget the embedded database: the next `make run` seeds the demo again
	rm -rf instance/pgdata

worker: venv  ## An RQ worker (needs REDIS_URL)
	$(BIN)/python worker.py

relay: venv  ## The outbox relay (needs REDIS_URL; beside the workers)
	$(BIN)/flask --app wsgi jobs relay

lint: venv
	$(BIN)/ruff check .
