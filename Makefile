# Gongjian 共建: the two commands are `make run` and `make test`.
.PHONY: setup run test bench bench-http lint format

VENV := .venv
FLASK := $(VENV)/bin/flask --app app

setup:
	@scripts/setup.sh

run: setup
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: setup
	scripts/test.sh

bench: setup
	$(VENV)/bin/python bench/run.py

bench-http: setup
	$(VENV)/bin/python bench/http_load.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
