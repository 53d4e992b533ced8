"""Where a training step's time goes, measured in one run on the recipe's own micro-batches:
forward + backward of packed rows with transformers' block-diagonal mask (the baseline) and with the
recipe's per-conversation attention, the share of attention in each (torch.profiler), and an fp32 vs
bf16 matrix multiplication of a LoRA-layer shape (whether bf16 autocast can pay off on this CPU).

Run: python benchmarks/train_step.py [--model smollm2-135m] [--max-seq-len 1024] [--batches 3]
"""

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from insabot.config import load_config
from insabot.finetune.loss import supervised_loss_sum
from insabot.finetune.packing import collate
from insabot.finetune.splits import assign_splits, load_frozen
from insabot.finetune.train import batches_for_epoch, build_model, load_conversations, render_all


def step(model, batch) -> float:
    loss_sum, count = supervised_loss_sum(model, batch)
    (loss_sum / count).backward()
    model.zero_grad(set_to_none=True)
    return float(loss_sum.detach()) / count


def measure(model, batches: list[dict]) -> dict:
    step(model, batches[0])  # warm-up
    started = time.perf_counter()
    losses = [step(model, batch) for batch in batches]
    seconds = time.perf_counter() - started
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        step(model, batches[0])
    events = profiler.key_averages()
    attention = sum(e.self_cpu_time_total for e in events if "scaled_dot_product" in e.key)
    return {
        "positions_per_s": sum(b["input_ids"].numel() for b in batches) / seconds,
        "attention_share": attention / sum(e.self_cpu_time_total for e in events),
        "losses": losses,
    }


def matmul_ms(dtype: torch.dtype, repeats: int = 5) -> float:
    left, right = torch.randn(2048, 576).to(dtype), torch.randn(576, 1536).to(dtype)
    left @ right
    started = time.perf_counter()
    for _ in range(repeats):
        left @ right
    return (time.perf_counter() - started) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--max-seq-len", type=int, default=1024)
    parser.add_argument("--batches", type=int, default=3, help="micro-batches timed per variant")
    args = parser.parse_args()
    config = load_config(
        None,
        [
            f"model.base_model={args.model}",
            f"data.max_seq_len={args.max_seq_len}",
            "train.batch_size=2",
            "lora.dropout=0.0",
        ],
    )
    model, tokenizer = build_model(config, "cpu")  # per-conversation attention switched on
    train = assign_splits(load_conversations(config), frozen=load_frozen())["train"][:48]
    examples, _ = render_all(train, tokenizer, config.data.max_seq_len)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    batches = [collate(b, pad) for b in batches_for_epoch(examples, config, 0)[: args.batches]]
    print(
        f"{args.model}: {len(batches)} micro-batches of one packed row "
        f"({', '.join(str(b['input_ids'].shape[1]) for b in batches)} tokens), LoRA r16 all-linear, fp32"
    )
    ours = measure(model, batches)
    model.get_base_model().set_attn_implementation("sdpa")
    masked = measure(model, batches)
    for name, result in (("block-diagonal mask (sdpa)", masked), ("per conversation (recipe)", ours)):
        print(
            f"{name:<28} {result['positions_per_s']:7.1f} positions/s   attention "
            f"{result['attention_share']:5.1%} of a step"
        )
    same = all(abs(a - b) < 1e-4 for a, b in zip(ours["losses"], masked["losses"], strict=True))
    print(
        f"per-conversation attention: {ours['positions_per_s'] / masked['positions_per_s']:.2f}x; "
        f"same losses: {same}"
    )
    fp32, bf16 = matmul_ms(torch.float32), matmul_ms(torch.bfloat16, repeats=1)
    print(
        f"2048x576 @ 576x1536 matmul: fp32 {fp32:.1f} ms, bf16 {bf16:.1f} ms (bf16/fp32 = {bf16 / fp32:.2f})"
    )


if __name__ == "__main__":
    main()
