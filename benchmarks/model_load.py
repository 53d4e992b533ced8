"""Load and decode figures for an embedded model, measured in one run:
first-time GGUF -> safetensors conversion, load straight from the GGUF (the baseline), load from the
insabot cache, the cached tokenizer's cold start in a fresh process, and greedy decode speed on a
Korean prompt.

Run: python benchmarks/model_load.py [--model smollm2-135m] [--tokens 64]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from insabot.config import GenerationConfig, ModelConfig
from insabot.generation import generate_batch, stream_reply

TOKENIZER_COLD_START = """
import json, sys, time
started = time.perf_counter()
from transformers import AutoTokenizer
imported = time.perf_counter()
AutoTokenizer.from_pretrained(sys.argv[1])
done = time.perf_counter()
print(json.dumps({"total": done - started, "from_pretrained": done - imported}))
"""


def tokenizer_cold_start(location: str) -> dict:
    """A fresh interpreter: `from transformers import AutoTokenizer` through a usable tokenizer."""
    completed = subprocess.run(
        [sys.executable, "-c", TOKENIZER_COLD_START, location], capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    os.environ["INSABOT_HOME"] = tempfile.mkdtemp(prefix="insabot-bench-")  # a cold, empty cache
    from insabot.models import loading
    from insabot.models.registry import EMBEDDED

    gguf = loading.locate_embedded_gguf(EMBEDDED[args.model])
    started = time.perf_counter()
    loading.read_gguf(gguf)
    from_gguf = time.perf_counter() - started

    started = time.perf_counter()
    loading.resolve(args.model)
    conversion = time.perf_counter() - started

    tokenizer = tokenizer_cold_start(loading.resolve(args.model).location)
    loaded = loading.load(ModelConfig(base_model=args.model), device="cpu")
    conversation = [
        {"role": "system", "content": "반말로 짧게 답해."},
        {"role": "user", "content": "야, 이거 어때? 성수에 새로 생긴 카페 가볼래?"},
    ]
    greedy = GenerationConfig(max_new_tokens=args.tokens, do_sample=False, repetition_penalty=1.0)
    started = time.perf_counter()
    next(stream_reply(loaded.model, loaded.tokenizer, conversation, greedy))
    first_piece = time.perf_counter() - started
    started = time.perf_counter()
    (reply,) = generate_batch(loaded.model, loaded.tokenizer, [conversation], greedy)
    decode = time.perf_counter() - started
    print(f"model: {args.model}")
    print(f"load straight from GGUF (baseline): {from_gguf:6.1f} s")
    print(f"first-time conversion to the cache: {conversion:6.1f} s")
    print(
        f"load from the insabot cache       : {loaded.load_seconds:6.1f} s  ({from_gguf / loaded.load_seconds:.1f}x faster)"
    )
    print(
        f"tokenizer cold start (fresh process): {tokenizer['total']:6.1f} s  "
        f"(from_pretrained {tokenizer['from_pretrained']:.1f} s, the rest is transformers' first-use imports)"
    )
    print(
        f"greedy decode, Korean prompt      : {reply.new_tokens / decode:6.1f} tokens/s ({reply.new_tokens} tokens), "
        f"first streamed text after {first_piece:.2f} s"
    )


if __name__ == "__main__":
    main()
