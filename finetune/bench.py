"""Training speed: the insabot recipe vs a plain transformers Trainer baseline, measured in one run.

Both train the same LoRA on the same conversations of the bundled train split for one epoch, each in its own
process (so peak memory is its own): the recipe (packing, LM head on supervised rows, bf16 autocast where
supported) and the baseline (Trainer defaults: padding to the longest, loss on every token, fp32). Both
adapters are then scored with the same validation loss (assistant tokens).

Run: python -m insabot.finetune.bench [--model smollm2-135m] [--conversations 96] [--max-seq-len 1024]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _config(args: argparse.Namespace, out: Path):
    from insabot.config import load_config

    return load_config(
        None,
        [
            f"model.base_model={args.model}",
            f"data.max_seq_len={args.max_seq_len}",
            f"data.limit={args.conversations}",
            f"train.output_dir={out}",
            "train.epochs=1",
            f"train.batch_size={args.batch_size}",
            "train.grad_accum=1",
            "train.log_every=1000",
            "train.eval_every=100000",
            "train.save_every=100000",
            "lora.dropout=0.0",
        ],
    )


def _validation_loss(model, tokenizer, config) -> float:
    from insabot.finetune.packing import pack
    from insabot.finetune.splits import assign_splits, load_frozen
    from insabot.finetune.train import evaluate, load_conversations, precision_dtype, render_all

    validation = assign_splits(load_conversations(config), frozen=load_frozen())["validation"]
    examples, _ = render_all(validation, tokenizer, config.data.max_seq_len)
    sequences = pack(examples, config.data.max_seq_len)
    batches = [sequences[i : i + 4] for i in range(0, len(sequences), 4)]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return evaluate(model, batches, pad, precision_dtype("fp32", "cpu"), "cpu")


def _supervised_tokens(config, tokenizer) -> int:
    from insabot.finetune.splits import assign_splits, load_frozen
    from insabot.finetune.train import load_conversations, render_all

    train = assign_splits(load_conversations(config), frozen=load_frozen())["train"][: config.data.limit]
    examples, _ = render_all(train, tokenizer, config.data.max_seq_len)
    return sum(e.supervised for e in examples)


def run_recipe(args: argparse.Namespace, out: Path) -> dict:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from insabot.finetune.train import latest_checkpoint, train
    from insabot.models.loading import resolve

    config = _config(args, out)
    train(config, progress=False)
    # the training loop's own clock (state.json), like the baseline's trainer.train(): model loading,
    # data rendering and the final adapter save are outside both timings
    seconds = json.loads((latest_checkpoint(out) / "state.json").read_text())["seconds"]
    location = resolve(args.model).location
    tokenizer = AutoTokenizer.from_pretrained(location)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(location), str(out / "adapter"))
    return {
        "seconds": seconds,
        "supervised_tokens": _supervised_tokens(config, tokenizer),
        "validation_loss": _validation_loss(model, tokenizer, config),
    }


def run_baseline(args: argparse.Namespace, out: Path) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainingArguments,
    )

    from insabot.finetune.splits import assign_splits, load_frozen
    from insabot.finetune.train import load_conversations
    from insabot.models.loading import resolve

    config = _config(args, out)
    torch.manual_seed(config.train.seed)
    location = resolve(args.model).location
    tokenizer = AutoTokenizer.from_pretrained(location)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32),
        LoraConfig(
            r=config.lora.r,
            lora_alpha=config.lora.alpha,
            lora_dropout=0.0,
            target_modules=config.lora.target_modules,
            task_type="CAUSAL_LM",
        ),
    )
    train = assign_splits(load_conversations(config), frozen=load_frozen())["train"][: config.data.limit]
    rows = [
        tokenizer(
            tokenizer.apply_chat_template(c.messages, tokenize=False),
            truncation=True,
            max_length=config.data.max_seq_len,
        )
        for c in train
    ]
    dataset = [{"input_ids": r["input_ids"], "attention_mask": r["attention_mask"]} for r in rows]
    arguments = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=1,
        learning_rate=config.train.lr,
        lr_scheduler_type="cosine",
        warmup_steps=round(config.train.warmup_ratio * -(-len(dataset) // args.batch_size)),
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        use_cpu=True,
        seed=config.train.seed,
    )
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=dataset,
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
    )
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "supervised_tokens": _supervised_tokens(config, tokenizer),
        "validation_loss": _validation_loss(model, tokenizer, config),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--conversations", type=int, default=96)
    parser.add_argument("--max-seq-len", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--variant", choices=("recipe", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:  # child process: one variant, JSON on the last line
        result = (run_recipe if args.variant == "recipe" else run_baseline)(args, Path(args.out))
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    results = {}
    for variant in ("baseline", "recipe"):
        out = Path(tempfile.mkdtemp(prefix=f"insabot-bench-{variant}-"))
        command = [
            sys.executable,
            "-m",
            "insabot.finetune.bench",
            "--variant",
            variant,
            "--out",
            str(out / "run"),
            "--model",
            args.model,
            "--conversations",
            str(args.conversations),
            "--max-seq-len",
            str(args.max_seq_len),
            "--batch-size",
            str(args.batch_size),
        ]
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0:
            raise SystemExit(f"{variant} failed:\n{completed.stderr[-3000:]}")
        results[variant] = json.loads(completed.stdout.strip().splitlines()[-1])
    print(f"model {args.model}, {args.conversations} train conversations, one epoch, LoRA r16 all-linear")
    print(f"{'':<10}{'wall s':>9}{'sup. tok/s':>12}{'peak MiB':>10}{'val loss':>10}")
    for variant, r in results.items():
        rate = r["supervised_tokens"] / r["seconds"]
        print(
            f"{variant:<10}{r['seconds']:>9.1f}{rate:>12.1f}{r['peak_rss_mib']:>10.0f}{r['validation_loss']:>10.4f}"
        )
    base, ours = results["baseline"], results["recipe"]
    print(
        f"speed-up: {base['seconds'] / ours['seconds']:.2f}x; validation loss delta: "
        f"{ours['validation_loss'] - base['validation_loss']:+.4f}; peak memory ratio: "
        f"{ours['peak_rss_mib'] / base['peak_rss_mib']:.2f}"
    )


if __name__ == "__main__":
    main()
