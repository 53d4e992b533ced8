"""Output-vocabulary trimming (model.output_vocab), measured in one run against the full head as the baseline:
the kept set's size and its coverage of text it was not built from; greedy and sampled decoding of the default
model (Gemma-3-270M + adapters/insabot-gemma3-ko), time to first token and tokens/s, the two heads taking turns on
the same loaded model; and a training step of the Gemma recipe (configs/train/gemma3-ko-casual.yaml) with its loss
over the full and over the kept vocabulary, again taking turns.

Run: python benchmarks/output_vocab.py [--tokens 64] [--repeats 3] [--train-batches 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch
from common import TokenClock, cpu_flags

from insabot.chat import build_conversation, system_prompt_for
from insabot.config import GenerationConfig, default_model, load_config
from insabot.eval.real_messages import load_real_messages
from insabot.generation import encode_conversation, generate_kwargs
from insabot.models.loading import load
from insabot.models.output_vocab import (
    TrimmedHead,
    build_kept_set,
    chat_conversations,
    coverage,
    output_vocab_ids,
)

PROMPTS = ["야 뭐해", "오늘 회사에서 완전 털렸어 ㅠㅠ", "주말에 성수 카페 갈래? 새로 생긴 데 있대"]
GREEDY = GenerationConfig(do_sample=False)
SAMPLED = GenerationConfig(do_sample=True, temperature=0.7, top_p=0.9, seed=0)  # the chat's decoding


def timed_reply(
    model, tokenizer, prompt: str, gen: GenerationConfig, tokens: int
) -> tuple[float, float, list]:
    """(time to first token, decode tokens/s, the new token ids) of one reply of exactly `tokens` tokens."""
    clock = TokenClock()
    if gen.seed is not None:
        torch.manual_seed(gen.seed)
    started = time.perf_counter()  # templating and tokenising count
    inputs = encode_conversation(tokenizer, build_conversation(prompt, [], system_prompt_for("banmal")))
    kwargs = generate_kwargs(dataclasses.replace(gen, max_new_tokens=tokens), tokenizer, model)
    with torch.inference_mode():
        output = model.generate(**inputs, streamer=clock, min_new_tokens=tokens, **kwargs)
    decode = (len(clock.times) - 1) / (clock.times[-1] - clock.times[0])
    return clock.times[0] - started, decode, output[0, inputs["input_ids"].shape[1] :].tolist()


def decoding(model, tokenizer, heads: dict, gen: GenerationConfig, tokens: int, repeats: int) -> dict:
    """Each head's times to first token, decode tokens/s and token ids over PROMPTS × repeats, the heads taking
    turns (a busy machine's drift falls on both)."""
    results: dict[str, list] = {name: [] for name in heads}
    for _ in range(repeats):
        for prompt in PROMPTS:
            for name, head in heads.items():
                model.set_output_embeddings(head)
                results[name].append(timed_reply(model, tokenizer, prompt, gen, tokens))
    return {
        name: {
            "ttft": [r[0] for r in rows],
            "tokens_per_s": [r[1] for r in rows],
            "ids": [r[2] for r in rows],
        }
        for name, rows in results.items()
    }


def print_decoding(title: str, figures: dict) -> None:
    """Medians, and the best run of each (on a shared machine, the one least slowed by other work)."""
    print(f"\n{title}")
    ttft = {name: (statistics.median(row["ttft"]), min(row["ttft"])) for name, row in figures.items()}
    speed = {
        name: (statistics.median(row["tokens_per_s"]), max(row["tokens_per_s"]))
        for name, row in figures.items()
    }
    for name in figures:
        print(
            f"  {name:<13} time to first token {ttft[name][0]:6.3f} s (best {ttft[name][1]:.3f})   "
            f"decode {speed[name][0]:5.1f} tokens/s (best {speed[name][1]:.1f})"
        )
    (full_ttft, trimmed_ttft), (full_speed, trimmed_speed) = ttft.values(), speed.values()
    print(
        f"  trimmed / full: decode x{trimmed_speed[0] / full_speed[0]:.2f} (best x{trimmed_speed[1] / full_speed[1]:.2f}), "
        f"time to first token x{trimmed_ttft[0] / full_ttft[0]:.2f} (best x{trimmed_ttft[1] / full_ttft[1]:.2f}); "
        f"same tokens: {figures['trimmed head']['ids'] == figures['full head']['ids']}"
    )


def measure_decoding(tokens: int, repeats: int) -> None:
    """The kept set and its coverage, then greedy and sampled decoding with each head."""
    config = dataclasses.replace(default_model(), output_vocab="full")
    loaded = load(config, device="cpu")
    model, tokenizer = loaded.model, loaded.tokenizer
    full_head = model.get_output_embeddings()
    started = time.perf_counter()
    trimmed_head = TrimmedHead(full_head, output_vocab_ids(tokenizer, model))
    kept_size = len(trimmed_head.kept_ids)
    print(
        f"model: {config.base_model} + {config.adapter}; kept {kept_size:,} of {full_head.out_features:,} tokens "
        f"({kept_size / full_head.out_features:.1%}), head {full_head.weight.numel() / 1e6:.0f} M -> "
        f"{trimmed_head.kept_weight.numel() / 1e6:.1f} M weights; kept set ready in "
        f"{time.perf_counter() - started:.1f} s (built once, then cached)"
    )
    without_test_half = set(build_kept_set(tokenizer, chat_conversations(real_split="dev")))
    held_out = coverage(tokenizer, without_test_half, [m.text for m in load_real_messages("test")])
    print(
        f"coverage of the real-style test half by a kept set built without it: {held_out:.2%} of its tokens"
    )

    heads = {"full head": full_head, "trimmed head": trimmed_head}
    timed_reply(model, tokenizer, PROMPTS[0], GREEDY, 8)  # warm-up
    print(f"\n{len(PROMPTS)} one-line prompts x {repeats}, {tokens} new tokens each, batch 1, fp32")
    greedy = decoding(model, tokenizer, heads, GREEDY, tokens, repeats)
    print_decoding("greedy (the eval's decoding)", greedy)
    kept = set(trimmed_head.kept_ids.tolist())
    chosen = [token for ids in greedy["full head"]["ids"] for token in ids]
    print(
        f"  the full head's greedy choices inside the kept set: {sum(t in kept for t in chosen) / len(chosen):.2%}"
    )
    sampled = decoding(model, tokenizer, heads, SAMPLED, tokens, repeats)
    print_decoding("sampled: temperature 0.7, top-p 0.9, seed 0 (the chat's decoding)", sampled)


def measure_training_step(batches: int) -> None:
    """Seconds per forward + backward of the Gemma recipe's micro-batches (one packed 2,048-token row each), loss
    over the full head and over the kept ids taking turns, after a warm-up of each."""
    from insabot.finetune.loss import supervised_loss_sum
    from insabot.finetune.packing import collate
    from insabot.finetune.train import (
        batches_for_epoch,
        build_model,
        load_conversations,
        precision_dtype,
        prepare_data,
        training_output_vocab,
    )

    config = load_config("configs/train/gemma3-ko-casual.yaml", ["lora.dropout=0.0"])
    model, tokenizer = build_model(config, "cpu")
    data = prepare_data(config, load_conversations(config), tokenizer)
    variants = {
        "full head": None,
        "trimmed head": training_output_vocab(config, model, tokenizer, data, "cpu"),
    }
    autocast = precision_dtype(config.train.precision, "cpu")
    rows = [collate(b, tokenizer.pad_token_id) for b in batches_for_epoch(data.train, config, 0)[:batches]]
    print(
        f"\ntraining step: {config.model.base_model}, LoRA r{config.lora.r} all-linear + the "
        f"{' '.join(config.lora.trainable_tokens)} rows, micro-batches of "
        f"{', '.join(str(r['input_ids'].shape[1]) for r in rows)} packed tokens, "
        f"{str(autocast).removeprefix('torch.') if autocast else 'fp32'}; loss over {len(variants['trimmed head']):,} "
        f"kept ids vs all"
    )
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    losses: dict[str, list[float]] = {name: [] for name in variants}
    for batch in [rows[0], *rows]:  # the first round warms up
        for name, kept_ids in variants.items():
            started = time.perf_counter()
            with torch.autocast("cpu", dtype=autocast or torch.float32, enabled=autocast is not None):
                loss_sum, count = supervised_loss_sum(model, batch, kept_ids)
            (loss_sum / count).backward()
            model.zero_grad(set_to_none=True)
            seconds[name].append(time.perf_counter() - started)
            losses[name].append(float(loss_sum.detach()) / count)
    for name in variants:
        print(
            f"  {name:<13} {statistics.median(seconds[name][1:]):6.2f} s per micro-batch (forward + backward), "
            f"loss {statistics.mean(losses[name][1:]):.4f}"
        )
    full, trimmed = (statistics.median(seconds[name][1:]) for name in variants)
    print(f"  trimmed / full: step time x{trimmed / full:.2f} (speed-up {full / trimmed:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per reply")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over the prompts per decoding")
    parser.add_argument("--train-batches", type=int, default=2, help="micro-batches timed per variant")
    args = parser.parse_args()
    print(f"CPU: {cpu_flags()}")
    measure_decoding(args.tokens, args.repeats)
    measure_training_step(args.train_batches)


if __name__ == "__main__":
    main()
