# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p demo-output
	-$(BIN)/grade examples/submission --json demo-output/results.json --feedback demo-output/feedback
	@echo
	@echo "Gradescope results: demo-output/results.json; feedback page and plots: demo-output/feedback/"

test: $(STAMP)
	$(BIN)/ruff check grader tests benchmarks
	$(BIN)/pytest -q --durations=15
	$(BIN)/grade validate -a convolution  # all five: `grade validate` (about 7 min)

# Speed and memory of grading, printed (about 20 min on 2 cores; BENCH_ARGS=--skip-batch: 6 min).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.speed $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check grader tests benchmarks

clean:
	rm -rf $(VENV) .grader-cache demo-output
