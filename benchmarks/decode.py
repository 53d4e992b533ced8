"""Decoding the demo default (Gemma-3-270M + adapters/insabot-gemma3-ko, merged) on this CPU, one run, the same
prompts and lengths for every runtime: plain transformers `generate` on the merged model (full output head, fp32:
the baseline) against insabot's path (trimmed head: fp32; fp32 with int8 block weights, the default on a CPU
without AVX512-BF16; bf16; the default `model.dtype` + `model.weights: auto`, on a CPU with AVX512-BF16 bf16 with
int8 block weights), the runtimes a user might pick instead (CTranslate2 fp32 and int8; onnxruntime-genai), and
transformers with a static KV cache + `torch.compile`.

Each runtime runs in its own process (its own peak memory), batch 1, greedy without a repetition penalty (the
same arithmetic everywhere): time to first token and tokens/s over PROMPTS × repeats at a forced length, peak RSS,
and its first five replies (up to 48 tokens, stopping at the end of turn) to show they say the same. Then the
reranked reply: N = 4 candidates at the chat's sampling, a one-line reply (≤ 30 tokens) whole, against one
unreranked reply on the baseline.

Peers: `pip install -e ".[peers]"` (ctranslate2, onnxruntime-genai); a missing or failing one is reported, not
fatal. Converted models are cached under $INSABOT_HOME/bench/.

Run: python benchmarks/decode.py [--tokens 64] [--repeats 2] [--only NAME ...]
A CPU without AVX512-BF16, imitated on one that has it: ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
MKL_ENABLE_INSTRUCTIONS=AVX2 python benchmarks/decode.py --only plain insabot-fp32 insabot-fp32-int8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

from common import TokenClock, cpu_flags

from insabot.chat import build_conversation, system_prompt_for
from insabot.config import GenerationConfig, default_model
from insabot.paths import insabot_home

PROMPTS = [
    "야 뭐해",
    "오늘 회사에서 완전 털렸어 ㅠㅠ",
    "주말에 성수 카페 갈래? 새로 생긴 데 있대",
    "요즘 왜케 무기력하지",
    "점심 뭐 먹지",
]
GREEDY = GenerationConfig(do_sample=False, repetition_penalty=1.0, stop_loops=False)
CHAT = GenerationConfig(max_new_tokens=30, do_sample=True, temperature=0.7, top_p=0.9)  # the chat's decoding
REPLY_TOKENS = 48
BENCH_DIR = insabot_home() / "bench"
MERGED = BENCH_DIR / "gemma3-insabot-merged"


def conversation(prompt: str) -> list:
    return build_conversation(prompt, [], system_prompt_for("banmal"))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---------------------------------------------------------------- transformers (plain, insabot, compiled)


def load_transformers(name: str):
    """The merged default model: `plain` full head fp32 (what a user gets from transformers), `insabot-*` through
    insabot's loader (trimmed head; fp32 or `auto`), `compiled` plain + static cache + torch.compile."""
    from insabot.models.loading import load

    config = default_model()
    if name in ("plain", "compiled"):
        config = dataclasses.replace(config, output_vocab="full", dtype="float32", weights="native")
    elif name == "insabot-fp32":
        config = dataclasses.replace(config, dtype="float32", weights="native")
    elif name == "insabot-fp32-int8":
        config = dataclasses.replace(config, dtype="float32", weights="int8")
    elif name == "insabot-bf16":
        config = dataclasses.replace(config, dtype="bfloat16", weights="native")
    loaded = load(config, device="cpu")
    if name == "compiled":
        from transformers import CompileConfig

        generation_config = loaded.model.generation_config
        generation_config.cache_implementation = "static"
        generation_config.compile_config = CompileConfig(mode="default")
        generation_config.compile_config._compile_all_devices = (
            True  # transformers compiles only on GPUs else
        )
    return loaded


def transformers_reply(
    loaded, prompt: str, gen: GenerationConfig, forced: int | None
) -> tuple[list[float], list[int]]:
    """Token arrival times (the first measured from before templating) and the new token ids."""
    import torch

    from insabot.generation import encode_conversation, generate_kwargs

    clock = TokenClock()
    started = time.perf_counter()
    inputs = encode_conversation(loaded.tokenizer, conversation(prompt))
    kwargs = generate_kwargs(gen, loaded.tokenizer, loaded.model)
    if forced:
        kwargs.update(max_new_tokens=forced, min_new_tokens=forced)
    with torch.inference_mode():
        output = loaded.model.generate(**inputs, streamer=clock, **kwargs)
    return [started, *clock.times], output[0, inputs["input_ids"].shape[1] :].tolist()


def run_transformers(name: str, tokens: int, repeats: int) -> dict:
    from insabot.generation import decode_replies, generate_batch
    from insabot.models.int8 import Int8Linear

    started = time.perf_counter()
    loaded = load_transformers(name)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    transformers_reply(loaded, PROMPTS[0], GREEDY, 8)  # warm-up (compiles, for `compiled`)
    warm_up_s = time.perf_counter() - started
    timings = [transformers_reply(loaded, p, GREEDY, tokens)[0] for _ in range(repeats) for p in PROMPTS]
    reply_gen = dataclasses.replace(GREEDY, max_new_tokens=REPLY_TOKENS)
    replies = [
        decode_replies(loaded.model, loaded.tokenizer, [transformers_reply(loaded, p, reply_gen, None)[1]])[
            0
        ].text
        for p in PROMPTS
    ]
    result = {"load_s": load_s, "warm_up_s": warm_up_s, "timings": timings, "replies": replies}
    if name in ("plain", "insabot-auto"):  # the reranking comparison: one reply today vs N = 4 reranked
        rerank = dataclasses.replace(CHAT, candidates=4 if name == "insabot-auto" else 1, seed=0)
        whole = []
        for _ in range(repeats):
            for prompt in PROMPTS:
                started = time.perf_counter()
                generate_batch(loaded.model, loaded.tokenizer, [conversation(prompt)], rerank)
                whole.append(time.perf_counter() - started)
        result["chat_reply_s"] = whole
    result["dtype"] = str(loaded.model.dtype).removeprefix("torch.")
    if any(isinstance(m, Int8Linear) for m in loaded.model.modules()):
        result["dtype"] += ", int8 weights"
    return result


# ---------------------------------------------------------------- peers


def merged_model() -> Path:
    """The default model merged and saved as a plain Hugging Face model, the input of the peers' converters."""
    if not (MERGED / "config.json").is_file():
        from insabot.finetune.export import export_merged

        export_merged(default_model().adapter, MERGED, default_model().base_model)
    return MERGED


def run_ctranslate2(compute_type: str, tokens: int, repeats: int) -> dict:
    import ctranslate2
    from transformers import AutoTokenizer

    folder = BENCH_DIR / "ctranslate2"
    started = time.perf_counter()
    if not (folder / "model.bin").is_file():
        ctranslate2.converters.TransformersConverter(str(merged_model())).convert(str(folder), force=True)
    convert_s = time.perf_counter() - started
    tokenizer = AutoTokenizer.from_pretrained(merged_model())
    generator = ctranslate2.Generator(str(folder), device="cpu", compute_type=compute_type, intra_threads=2)
    load_s = time.perf_counter() - started - convert_s

    def reply(prompt: str, forced: int | None) -> tuple[list[float], list[int]]:
        started = time.perf_counter()
        ids = tokenizer.apply_chat_template(
            conversation(prompt), add_generation_prompt=True, return_dict=True
        )
        prompt_tokens = tokenizer.convert_ids_to_tokens(ids["input_ids"])
        times, new = [started], []
        options = (
            {"max_length": forced, "end_token": []}
            if forced
            else {"max_length": REPLY_TOKENS, "end_token": "<end_of_turn>"}
        )
        for step in generator.generate_tokens(prompt_tokens, sampling_topk=1, **options):
            times.append(time.perf_counter())
            new.append(step.token_id)
        return times, new

    started = time.perf_counter()
    reply(PROMPTS[0], 8)
    warm_up_s = time.perf_counter() - started
    timings = [reply(p, tokens)[0] for _ in range(repeats) for p in PROMPTS]
    replies = [tokenizer.decode(reply(p, None)[1], skip_special_tokens=True).strip() for p in PROMPTS]
    return {
        "convert_s": convert_s,
        "load_s": load_s,
        "warm_up_s": warm_up_s,
        "timings": timings,
        "replies": replies,
        "dtype": compute_type,
    }


def run_onnxruntime_genai(tokens: int, repeats: int) -> dict:
    import onnxruntime_genai as og

    folder = BENCH_DIR / "onnxruntime-genai"
    if not (folder / "genai_config.json").is_file():
        build = subprocess.run(
            [
                sys.executable,
                "-m",
                "onnxruntime_genai.models.builder",
                "-m",
                str(merged_model()),
                "-o",
                str(folder),
                "-p",
                "fp32",
                "-e",
                "cpu",
                "-c",
                str(BENCH_DIR / "onnxruntime-genai-cache"),
            ],
            capture_output=True,
            text=True,
        )
        if build.returncode:
            raise RuntimeError(f"its model builder failed: {build.stderr.strip().splitlines()[-1]}")
    model = og.Model(str(folder))
    tokenizer = og.Tokenizer(model)
    from transformers import AutoTokenizer

    template = AutoTokenizer.from_pretrained(merged_model())
    end_of_turn = template.convert_tokens_to_ids("<end_of_turn>")

    def reply(prompt: str, forced: int | None) -> tuple[list[float], list[int]]:
        started = time.perf_counter()
        ids = template.apply_chat_template(conversation(prompt), add_generation_prompt=True, return_dict=True)
        ids = ids["input_ids"]
        params = og.GeneratorParams(model)
        new_tokens = forced or REPLY_TOKENS
        params.set_search_options(
            do_sample=False, max_length=len(ids) + new_tokens, min_length=len(ids) + (forced or 0)
        )
        generator = og.Generator(model, params)
        generator.append_tokens(ids)
        times, new = [started], []
        while not generator.is_done() and len(new) < new_tokens:
            generator.generate_next_token()
            new.append(int(generator.get_next_tokens()[0]))
            times.append(time.perf_counter())
            if not forced and new[-1] == end_of_turn:
                break
        return times, new

    started = time.perf_counter()
    reply(PROMPTS[0], 8)
    warm_up_s = time.perf_counter() - started
    timings = [reply(p, tokens)[0] for _ in range(repeats) for p in PROMPTS]
    replies = [tokenizer.decode(reply(p, None)[1]).replace("<end_of_turn>", "").strip() for p in PROMPTS]
    return {"warm_up_s": warm_up_s, "timings": timings, "replies": replies, "dtype": "float32"}


# ---------------------------------------------------------------- the run


RUNTIMES = {
    "plain": "transformers generate, full head, fp32 (baseline)",
    "insabot-fp32": "insabot: trimmed head, fp32",
    "insabot-fp32-int8": "insabot: trimmed head, fp32, int8 block weights (the default without AVX512-BF16)",
    "insabot-bf16": "insabot: trimmed head, bf16",
    "insabot-auto": "insabot: trimmed head, dtype and weights auto",
    "compiled": "transformers + static cache + torch.compile, fp32",
    "ct2-float32": "CTranslate2 4.x, fp32",
    "ct2-int8": "CTranslate2 4.x, int8 weights",
    "ort-genai": "onnxruntime-genai, fp32",
}


def worker(name: str, tokens: int, repeats: int) -> dict:
    if name.startswith("ct2-"):
        result = run_ctranslate2(name.removeprefix("ct2-"), tokens, repeats)
    elif name == "ort-genai":
        result = run_onnxruntime_genai(tokens, repeats)
    else:
        result = run_transformers(name, tokens, repeats)
    return {**result, "peak_rss_mib": peak_rss_mib()}


def in_subprocess(name: str, tokens: int, repeats: int) -> dict:
    out = BENCH_DIR / f"decode-{name}.json"
    out.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, __file__, "--worker", name, "--tokens", str(tokens), "--repeats", str(repeats)],
        capture_output=True,
        text=True,
    )
    if done.returncode or not out.is_file():
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()] or ["no output"]
        return {"error": lines[-1]}
    return json.loads(out.read_text())


def summarise(timings: list[list[float]]) -> tuple[float, float]:
    """Median time to first token and median decode tokens/s (after the first token)."""
    ttft = statistics.median(t[1] - t[0] for t in timings)
    speed = statistics.median((len(t) - 2) / (t[-1] - t[1]) for t in timings)
    return ttft, speed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per timed reply (forced length)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds over the five prompts")
    parser.add_argument("--only", nargs="+", choices=list(RUNTIMES), help="runtimes to run (default: all)")
    parser.add_argument("--worker", choices=list(RUNTIMES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if args.worker:
        try:
            result = worker(args.worker, args.tokens, args.repeats)
        except Exception as exc:  # reported by the parent as this runtime's row
            traceback.print_exc()
            sys.exit(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        (BENCH_DIR / f"decode-{args.worker}.json").write_text(json.dumps(result, ensure_ascii=False))
        return

    print(f"CPU: {cpu_flags()}")
    print(
        f"{len(PROMPTS)} one-line prompts x {args.repeats}, {args.tokens} new tokens each, batch 1, greedy\n"
    )
    names = args.only or list(RUNTIMES)
    results = {}
    for name in names:
        results[name] = in_subprocess(name, args.tokens, args.repeats)
        print(f"  ran {name}", flush=True)
    baseline = results.get("plain", {})
    base_ttft, base_speed = summarise(baseline["timings"]) if "timings" in baseline else (None, None)
    print(
        "\n| runtime | dtype | time to first token | decode tokens/s | vs baseline | peak RSS MiB | first 8-token reply s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in names:
        result = results[name]
        if "error" in result:
            print(f"| {RUNTIMES[name]} | – | not usable: {result['error']} | | | | |")
            continue
        ttft, speed = summarise(result["timings"])
        ratio = (
            f"×{speed / base_speed:.2f} decode, ×{ttft / base_ttft:.2f} first token" if base_speed else "–"
        )
        print(
            f"| {RUNTIMES[name]} | {result['dtype']} | {ttft:.3f} s | {speed:.1f} | {ratio} | "
            f"{result['peak_rss_mib']:.0f} | {result['warm_up_s']:.1f} |"
        )
    if "chat_reply_s" in baseline and "chat_reply_s" in results.get("insabot-auto", {}):
        one = statistics.median(baseline["chat_reply_s"])
        reranked = statistics.median(results["insabot-auto"]["chat_reply_s"])
        print(
            f"\nthe chat's sampling, a whole reply of ≤ {CHAT.max_new_tokens} tokens: one reply on the baseline "
            f"{one:.2f} s (median); insabot, N = 4 candidates reranked {reranked:.2f} s: ×{reranked / one:.2f}"
        )
    print("\nfirst five greedy replies (≤ 48 tokens):")
    for i, prompt in enumerate(PROMPTS):
        print(f"\n  {prompt}")
        for name in names:
            if "replies" in results[name]:
                print(f"    {name:<13} {results[name]['replies'][i]}")


if __name__ == "__main__":
    main()
