"""What a finished run leaves behind: the adapter, a loss plot and a model card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from insabot.config import Config
from insabot.models.loading import atomic_directory
from insabot.textio import read_jsonl


def read_metrics(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    return [row for _, row in read_jsonl(path)]


def plot_losses(metrics: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    train = [(m["step"], m["loss"]) for m in metrics if "loss" in m]
    evals = [(m["step"], m["eval_loss"]) for m in metrics if "eval_loss" in m]
    if train:
        axis.plot(*zip(*train, strict=True), label="train (assistant tokens)")
    if evals:
        axis.plot(*zip(*evals, strict=True), marker="o", label="validation")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("loss")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left")
    hits = [(m["step"], m["val_hits_at_1"]) for m in metrics if "val_hits_at_1" in m]
    if hits:  # reply selection on a validation slice, on its own 0–1 axis
        selection = axis.twinx()
        selection.plot(
            *zip(*hits, strict=True), marker="s", color="tab:green", label="validation hits@1 (K=10)"
        )
        selection.set_ylim(0, 1)
        selection.set_ylabel("hits@1")
        selection.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def finish_run(run_dir: Path, model: Any, tokenizer: Any, config: Config) -> None:
    """The run's result — `adapter/` (LoRA) or `model/` (full: the whole model, trained token rows merged) with
    its tokenizer — then the loss plot and the card."""
    if config.train.method == "full":
        folder = "model"
        model = model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
    else:
        folder = "adapter"
    with atomic_directory_replacing(run_dir / folder) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
    metrics = read_metrics(run_dir)
    plot_losses(metrics, run_dir / "loss.png")
    (run_dir / "README.md").write_text(model_card(run_dir, config, metrics), encoding="utf-8")


def atomic_directory_replacing(target: Path):
    """Like atomic_directory, but an existing target (an earlier finish of a resumed run) is replaced."""
    import shutil

    if target.exists():
        shutil.rmtree(target)
    return atomic_directory(target)


def model_card(run_dir: Path, config: Config, metrics: list[dict]) -> str:
    data = (
        json.loads((run_dir / "data.json").read_text(encoding="utf-8"))
        if (run_dir / "data.json").exists()
        else {}
    )
    last_train = next((m for m in reversed(metrics) if "loss" in m), {})
    last_eval = next((m for m in reversed(metrics) if "eval_loss" in m), {})
    lora, train = config.lora, config.train
    what = "LoRA adapter" if train.method == "lora" else "fine-tuned model"
    return f"""# insabot {what}: {run_dir.name}

A {what} that makes `{config.model.base_model}` chat like a Korean friend on KakaoTalk
(반말 by default, 존댓말 when the system prompt asks). Trained with `insabot train`.

## Use

```bash
{f"insabot chat --model {run_dir / 'model'}" if train.method == "full" else f"insabot chat --model {config.model.base_model} --adapter {run_dir}"}
```

## Base and data
- base model: `{config.model.base_model}`
- data: {config.data.path or "the bundled insabot corpus (finetune/corpus)"}; train conversations: {data.get("train_conversations")}, validation: {data.get("validation_conversations")}; the frozen test split is never trained on
- sequences: packed to {config.data.max_seq_len} tokens, loss on assistant tokens only; truncated conversations: {data.get("truncated_train")}
- started from: {f"the adapter `{train.init_adapter}` (a warm start: fresh optimiser and schedule)" if train.init_adapter else "a zero LoRA"}

## Hyper-parameters
| LoRA r | alpha | dropout | target modules | trainable tokens | lr | batch x accum | steps | precision | seed |
|---|---|---|---|---|---|---|---|---|---|
| {lora.r if train.method == "lora" else "full (blocks)"} | {lora.alpha if train.method == "lora" else "-"} | {lora.dropout if train.method == "lora" else "-"} | {lora.target_modules if train.method == "lora" else "all but embeddings"} | {lora.trainable_tokens or "-"} | {train.lr} | {train.batch_size} x {train.grad_accum} | {data.get("steps")} | {data.get("precision")} | {train.seed} |

## Final metrics
- train loss (last window): {last_train.get("loss")} at step {last_train.get("step")}
- validation loss (assistant tokens): {last_eval.get("eval_loss")} at step {last_eval.get("step")}
- validation reply selection (K = 10, chance 0.10, {train.selection_turns} turns): hits@1 {last_eval.get("val_hits_at_1")}, MRR {last_eval.get("val_mrr")}
- throughput (last window): {last_train.get("tokens_per_s")} tokens/s, {last_train.get("supervised_tokens_per_s")} supervised tokens/s

![loss](loss.png)

License: the adapter follows the base model's license; the insabot data is Apache-2.0.{_notice(config.model.base_model)}
"""


def _notice(base_model: str) -> str:
    from insabot.models.registry import EMBEDDED

    entry = EMBEDDED.get(base_model)
    return f"\n\nNotice: {entry.notice}." if entry and entry.notice else ""
