"""Training speed: the insabot recipe vs a plain transformers Trainer baseline and TRL's SFTTrainer at its best
correct CPU settings, measured in one run.

For each base, each trainer trains the same LoRA on the same conversations of the bundled train split for one
epoch with as equal a number of optimizer steps as whole packed rows allow, each in its own process (so
peak memory is its own): the recipe (best-fit packing into padding-free rows, attention per
conversation, LM head and loss on supervised rows only, bf16 autocast where supported), the baseline
(Trainer defaults: padding to the longest, loss on every token, fp32) and TRL (`run_trl` says which settings).
Every adapter is then scored with the same validation loss (assistant tokens). Hangul syllables/s counts the syllables of the supervised (assistant)
text, so it compares bases whose tokenizers split Korean very differently.

Run: python -m insabot.finetune.bench [--models smollm2-135m gemma3-270m] [--conversations 48]
     [--variants baseline trl recipe]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _config(args: argparse.Namespace, out: Path, batch_size: int | None = None):
    from insabot.config import load_config

    return load_config(
        None,
        [
            f"model.base_model={args.model}",
            f"data.max_seq_len={args.max_seq_len}",
            f"data.limit={args.conversations}",
            f"train.output_dir={out}",
            "train.epochs=1",
            f"train.batch_size={batch_size or args.batch_size}",
            "train.grad_accum=1",
            "train.log_every=1000",
            "train.eval_every=100000",
            "train.save_every=100000",
            "lora.dropout=0.0",
        ],
    )


def _split(config, name: str):
    from insabot.finetune.splits import assign_splits, load_frozen
    from insabot.finetune.train import load_conversations

    return assign_splits(load_conversations(config), frozen=load_frozen())[name]


def _validation_loss(model, tokenizer, config, limit: int) -> float:
    from insabot.finetune.train import evaluate, micro_batches, precision_dtype, render_all

    validation = _split(config, "validation")[:limit]
    examples, _ = render_all(validation, tokenizer, config.data.max_seq_len)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return evaluate(model, micro_batches(examples, config), pad, precision_dtype("fp32", "cpu"), "cpu")


def _train_subset(config, tokenizer) -> tuple[list, list]:
    """The bench's train conversations and their rendered examples."""
    from insabot.finetune.train import render_all

    train = _split(config, "train")[: config.data.limit]
    return train, render_all(train, tokenizer, config.data.max_seq_len)[0]


def _supervised(train: list, examples: list) -> dict:
    """Supervised tokens and the Hangul syllables of the supervised (assistant) text of the subset."""
    from insabot.korean.locality import HANGUL_SYLLABLE

    syllables = sum(len(HANGUL_SYLLABLE.findall(text)) for c in train for text in c.turns("assistant"))
    return {"supervised_tokens": sum(e.supervised for e in examples), "hangul_syllables": syllables}


def _recipe_batch_size(args: argparse.Namespace, examples: list) -> int:
    """The recipe's train.batch_size (a micro-batch is one packed row of batch_size × max_seq_len
    tokens) that gives it as many optimizer steps as the baseline, or the nearest count (fewer,
    fuller steps would learn less in one epoch and blur the validation-loss comparison)."""
    from insabot.finetune.packing import pack

    baseline_steps = math.ceil(len(examples) / args.batch_size)
    return min(
        range(1, args.batch_size + 1),
        key=lambda size: abs(len(pack(examples, args.max_seq_len * size)) - baseline_steps),
    )


def run_recipe(args: argparse.Namespace, out: Path) -> dict:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from insabot.finetune.train import latest_checkpoint, train
    from insabot.models.loading import resolve

    location = resolve(args.model).location
    tokenizer = AutoTokenizer.from_pretrained(location)
    subset, examples = _train_subset(_config(args, out), tokenizer)
    config = _config(args, out, _recipe_batch_size(args, examples))
    train(config, progress=False)
    # the training loop's own clock (state.json), like the baseline's trainer.train(): model loading,
    # data rendering and the final adapter save are outside both timings
    state = json.loads((latest_checkpoint(out) / "state.json").read_text())
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(location), str(out / "adapter"))
    return {
        "seconds": state["seconds"],
        "steps": state["step"],
        **_supervised(subset, examples),
        "validation_loss": _validation_loss(model, tokenizer, config, args.validation),
    }


def _lora_model(location: str, config):
    """The base in fp32 with the bench's LoRA (dropout off), for the trainers that take a ready model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    return get_peft_model(
        AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32),
        LoraConfig(
            r=config.lora.r,
            lora_alpha=config.lora.alpha,
            lora_dropout=0.0,
            target_modules=config.lora.target_modules,
            task_type="CAUSAL_LM",
        ),
    )


def _one_epoch_schedule(config, out: Path) -> dict:
    """The arguments the Trainer baseline and TRL share (SFTConfig extends TrainingArguments): one epoch at the
    recipe's learning rate on a cosine schedule, on the CPU, nothing saved or logged."""
    return {
        "output_dir": str(out),
        "num_train_epochs": 1,
        "learning_rate": config.train.lr,
        "lr_scheduler_type": "cosine",
        "report_to": [],
        "save_strategy": "no",
        "logging_strategy": "no",
        "use_cpu": True,
        "seed": config.train.seed,
    }


def _train_and_score(trainer, tokenizer, config, train: list, examples: list, validation: int) -> dict:
    """Run a transformers/TRL trainer on its own clock (as the recipe's state.json times its loop), then score."""
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "steps": trainer.state.global_step,
        **_supervised(train, examples),
        "validation_loss": _validation_loss(trainer.model, tokenizer, config, validation),
    }


def run_baseline(args: argparse.Namespace, out: Path) -> dict:
    import torch
    from transformers import (
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainingArguments,
    )

    from insabot.models.loading import resolve

    config = _config(args, out)
    torch.manual_seed(config.train.seed)
    location = resolve(args.model).location
    tokenizer = AutoTokenizer.from_pretrained(location)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = _lora_model(location, config)
    train, examples = _train_subset(config, tokenizer)
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
        per_device_train_batch_size=args.batch_size,
        warmup_steps=round(config.train.warmup_ratio * -(-len(dataset) // args.batch_size)),
        **_one_epoch_schedule(config, out),
    )
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=dataset,
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
    )
    return _train_and_score(trainer, tokenizer, config, train, examples, args.validation)


def run_trl(args: argparse.Namespace, out: Path) -> dict:
    """TRL's SFTTrainer at its best settings that are correct on a CPU: the same LoRA, data and optimizer steps
    (best-fit-decreasing packing into one padding-free row per step, as the recipe packs), loss on the assistant
    turns through TRL's own training template (its `{% generation %}` markers), bf16 where the CPU has it, and
    gradient checkpointing off (TRL turns it on by default; it trades ~30 % of a step for memory not needed here).
    Padding-free rows are correct under SDPA: given no attention mask and no KV cache (SFTTrainer passes
    use_cache=False), transformers builds the block-diagonal mask from the restarting position ids
    (tests/test_bench.py checks the row's loss against the conversations' own)."""
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from insabot.finetune.packing import pack
    from insabot.finetune.train import precision_dtype
    from insabot.models.loading import resolve

    config = _config(args, out)
    torch.manual_seed(config.train.seed)
    location = resolve(args.model).location
    tokenizer = AutoTokenizer.from_pretrained(location)
    train, examples = _train_subset(config, tokenizer)
    rows_per_step = _recipe_batch_size(args, examples)
    model = _lora_model(location, config)
    steps = len(pack(examples, args.max_seq_len * rows_per_step))  # ≈ TRL's bfd rows: for the warm-up
    rows, loss_settings = _trl_rows_and_loss(tokenizer, train)
    arguments = SFTConfig(
        per_device_train_batch_size=1,
        warmup_steps=round(config.train.warmup_ratio * steps),
        packing=True,
        packing_strategy="bfd",
        max_length=args.max_seq_len * rows_per_step,
        **loss_settings,
        gradient_checkpointing=False,
        bf16=precision_dtype("auto", "cpu") is not None,
        **_one_epoch_schedule(config, out),
    )
    trainer = SFTTrainer(
        model=model,
        args=arguments,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    return _train_and_score(trainer, tokenizer, config, train, examples, args.validation)


def _trl_rows_and_loss(tokenizer, conversations: list) -> tuple[list[dict], dict]:
    """TRL's dataset rows and SFTConfig loss settings for loss on the assistant turns only.

    With a training template (`{% generation %}` markers): conversational rows and `assistant_only_loss`. TRL
    matches templates by their exact text; the embedded Gemma's template (converted from the GGUF) is worded
    differently from TRL's `gemma3.jinja` but renders the same, so the shipped training template that renders
    every train conversation exactly as the tokenizer's own does is passed as `chat_template_path`. Where TRL
    ships none (SmolLM2's template): one prompt-completion row per assistant turn, the conversation before it as
    the prompt (TRL's completion-only loss), which supervises the same tokens at the cost of re-reading prefixes."""
    import trl
    from trl.chat_template_utils import get_training_chat_template

    try:
        get_training_chat_template(tokenizer)
        return [{"messages": c.messages} for c in conversations], {"assistant_only_loss": True}
    except ValueError:
        pass
    own = [tokenizer.apply_chat_template(c.messages, tokenize=False) for c in conversations]
    for candidate in sorted((Path(trl.__file__).parent / "chat_templates").glob("*_training.jinja")):
        try:
            rendered = [
                tokenizer.apply_chat_template(c.messages, tokenize=False, chat_template=candidate.read_text())
                for c in conversations
            ]
        except Exception:  # a template for another family refuses these messages (e.g. a system turn)
            continue
        if rendered == own:
            rows = [{"messages": c.messages} for c in conversations]
            return rows, {"assistant_only_loss": True, "chat_template_path": str(candidate)}
    rows = [
        {"prompt": c.messages[:i], "completion": [message]}
        for c in conversations
        for i, message in enumerate(c.messages)
        if message["role"] == "assistant"
    ]
    return rows, {"completion_only_loss": True}


def compare(args: argparse.Namespace) -> dict[str, dict]:
    """Baseline and recipe on `args.model`, each in a fresh process."""
    results = {}
    for variant in args.variants:
        out = Path(tempfile.mkdtemp(prefix=f"insabot-bench-{variant}-"))
        command = [
            sys.executable,
            "-m",
            "insabot.finetune.bench",
            "--variant",
            variant,
            "--out",
            str(out / "run"),
        ]
        for option in ("model", "conversations", "validation", "max_seq_len", "batch_size"):
            command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0:
            raise SystemExit(f"{args.model} {variant} failed:\n{completed.stderr[-3000:]}")
        results[variant] = json.loads(completed.stdout.strip().splitlines()[-1])
    return results


VARIANTS = {"baseline": run_baseline, "trl": run_trl, "recipe": run_recipe}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=["smollm2-135m", "gemma3-270m"])
    parser.add_argument("--conversations", type=int, default=48)
    parser.add_argument("--validation", type=int, default=48, help="validation conversations scored")
    parser.add_argument("--max-seq-len", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=4, help="conversations per baseline step")
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument(
        "--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS), help="trainers to compare"
    )
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:  # child process: one variant, JSON on the last line
        result = VARIANTS[args.variant](args, Path(args.out))
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    print(
        f"{args.conversations} train conversations, one epoch, LoRA r16 all-linear, "
        f"validation loss on {args.validation} validation conversations (assistant tokens)"
    )
    header = f"{'variant':<10}{'steps':>6}{'wall s':>8}{'sup. tok/s':>11}{'syll./s':>9}{'peak MiB':>9}{'val loss':>9}"
    for model in args.models:
        args.model = model
        results = compare(args)
        print(f"model: {model}\n{header}")
        for variant, r in results.items():
            print(
                f"{variant:<10}{r['steps']:>6}{r['seconds']:>8.1f}"
                f"{r['supervised_tokens'] / r['seconds']:>11.1f}{r['hangul_syllables'] / r['seconds']:>9.1f}"
                f"{r['peak_rss_mib']:>9.0f}{r['validation_loss']:>9.4f}"
            )
        ours = results.get("recipe")
        for variant, other in results.items():
            if ours and variant != "recipe":
                print(
                    f"{model}: recipe vs {variant}: speed-up {other['seconds'] / ours['seconds']:.2f}x; validation "
                    f"loss delta {ours['validation_loss'] - other['validation_loss']:+.4f}; peak memory ratio "
                    f"{ours['peak_rss_mib'] / other['peak_rss_mib']:.2f}",
                    flush=True,
                )
        print()


if __name__ == "__main__":
    main()
