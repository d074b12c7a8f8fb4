# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check calibrate hostile causes bench compat resolve lock lint clean

# The course's own environment: the package's ranges (pyproject.toml), at the exact versions of constraints.txt.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p demo-output
	-$(BIN)/grade examples/submission --json demo-output/results.json --feedback demo-output/feedback
	@echo
	@echo "Gradescope results: demo-output/results.json; feedback page and plots: demo-output/feedback/"

test: $(STAMP)
	$(BIN)/ruff check grader tests benchmarks
	$(BIN)/pytest -q --durations=25 -n 2 --dist loadgroup
	$(BIN)/grade validate -a convolution  # all five: `grade validate` (about 7 min)

# The convergence runs behind each rubric's margin: ten seeds of the reference and of an equivalent spelling, three
# of each broken variant, under the quick profile (about 15 min on 2 cores). Recorded in benchmarks/results/, which
# `make test` holds the margins to.
calibrate: $(STAMP)
	$(BIN)/python -m benchmarks.convergence calibrate

# The quick tier, for the edit-test loop: lint, and the tests that start no child and import no TensorFlow.
check: $(STAMP)
	$(BIN)/ruff check grader tests benchmarks
	$(BIN)/pytest -q -m quick -p no:cacheprovider

# Every hostile fixture graded, and what stopped each (about 5 min); the assertions are in tests/sandbox/test_hostile.py.
hostile: $(STAMP)
	$(BIN)/python -m benchmarks.hostile

# How many items "What to fix" lists for each bug fixture (or CAUSES_ARGS=FOLDER), against how many mistakes it has
# (about 5 min). Recorded in benchmarks/results/causes.txt; tests/rubrics/test_rubrics.py asserts the same for the fixtures.
# CAUSES_ARGS=benchmarks/single_mistakes: 12 submissions no test reads (benchmarks/results/causes-single-mistakes.txt).
causes: $(STAMP)
	$(BIN)/python -m benchmarks.causes $(CAUSES_ARGS)

# Speed and memory of grading, printed (about 20 min on 2 cores; BENCH_ARGS=--skip-batch: 6 min).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.speed $(BENCH_ARGS)

# The compatibility matrix (not part of `make test`; about 25 min): fresh environments with the oldest supported
# versions, Colab's and the newest, each grading the reference and the bug fixtures of every assignment, compared
# with this environment's verdicts and messages. Recorded in benchmarks/results/compat.txt.
compat: $(STAMP)
	$(BIN)/python -m benchmarks.compat $(COMPAT_ARGS)

# What pip would install for the student release on macOS arm64, Windows and Linux, Python 3.11 to 3.13, asked of
# the real package index (about 2 min). Recorded in benchmarks/results/resolve.txt.
resolve: $(STAMP)
	$(BIN)/python -m benchmarks.resolve

# constraints.txt made again from a fresh environment with the newest versions the ranges admit (then `make test`).
lock:
	rm -rf build/lock && $(PYTHON) -m venv build/lock && build/lock/bin/pip install --quiet --upgrade pip
	build/lock/bin/pip install --quiet '.[test]'
	{ sed -n '1,/^[^#]/{/^#/p}' constraints.txt; build/lock/bin/pip freeze | grep -v '^cnn-grader'; } > constraints.new
	mv constraints.new constraints.txt && rm -rf build/lock

lint: $(STAMP)
	$(BIN)/ruff check grader tests benchmarks

clean:
	rm -rf $(VENV) .grader-cache demo-output
