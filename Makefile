# electra-tf: `make demo`, `make test` and `make lint` create .venv from setup.py when needed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-fast demo recipe reproduce validate-finetuning lint format clean

venv: $(STAMP)

$(STAMP): setup.py
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found (electra-tf needs Python 3.11; set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

test: venv
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m pytest -q -n 2 --dist worksteal --durations=15 tests

# The suite without the tests marked slow (training, fine-tuning, real-data builds): < 3 min on 2 cores.
test-fast: venv
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m pytest -q -n 2 --dist worksteal -m "not slow" tests

# make demo [DEMO_FLAGS=--start=scratch]  (the default downloads all-MiniLM-L6-v2 once, ~83 MB)
demo: venv
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) scripts/demo.py $(DEMO_FLAGS)

# make recipe RECIPE=small_cpu CORPUS=../shared/data/corpus/AA DATA_DIR=/tmp/small_cpu [VOCAB=vocab.txt]
recipe: venv
	@test -n "$(RECIPE)" -a -n "$(CORPUS)" -a -n "$(DATA_DIR)" || { echo "make recipe: set RECIPE=, CORPUS= and DATA_DIR= (VOCAB= if the recipe learns no vocabulary)"; exit 1; }
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) scripts/recipe.py --recipe=$(RECIPE) --corpus_dir=$(CORPUS) --data_dir=$(DATA_DIR) $(if $(VOCAB),--vocab_file=$(VOCAB))

# make reproduce DATA_DIR=/tmp/small_cpu [BUDGET=smoke|cpu|paper] [ARGS="--tasks=rte,mrpc --dry_run"]
reproduce: venv
	@test -n "$(DATA_DIR)" || { echo "make reproduce: set DATA_DIR= (pretrain_tfrecords/, vocab.txt, finetuning_data/; see docs/reproduce.md)"; exit 1; }
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) scripts/reproduce_paper.py --budget=$(or $(BUDGET),cpu) --data_dir=$(DATA_DIR) $(ARGS)

# make validate-finetuning DATA_DIR=/tmp/vft [ARGS="--glue_dir=... --model_dir=... --tasks=rte,mrpc --dry_run"]
validate-finetuning: venv
	@test -n "$(DATA_DIR)" || { echo "make validate-finetuning: set DATA_DIR= (finetuning_data/ or glue_data/ unless ARGS has --glue_dir; see docs/validate_finetuning.md)"; exit 1; }
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) scripts/validate_finetuning.py --data_dir=$(DATA_DIR) $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
