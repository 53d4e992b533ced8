"""The LoRA fine-tune recipe: a short loop of our own, top to bottom.

Why not transformers' Trainer or TRL: the speed on CPU comes from (1) best-fit packing with
per-conversation position ids and attention computed per conversation (finetune/attention.py),
(2) running the LM head only on supervised positions, and for Gemma only on the kept output vocabulary,
and (3) bf16 autocast; (2) means owning the loss, and with it the loop is ~the same length as the Trainer
configuration would be.

Run directory (train.output_dir): config.yaml, metrics.jsonl, checkpoints/step-N (atomic, resumable),
adapter/ (final LoRA + tokenizer + chat template), loss.png, README.md (model card).
Multi-process: under `torchrun` / `accelerate launch --multi_gpu` each rank takes every world-th
micro-batch of the same global batch and LoRA gradients are summed across ranks; rank 0 writes.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from insabot.config import Config, dump_config
from insabot.errors import InsabotError
from insabot.finetune.attention import cached_attention, use_packed_attention
from insabot.finetune.conversations import CORPUS_DIR, Conversation
from insabot.finetune.loss import causal_lm, supervised_loss_sum
from insabot.finetune.packing import Packed, collate, pack
from insabot.finetune.render import IGNORE, Example, render
from insabot.finetune.sources import load_source, require_conversations
from insabot.finetune.splits import assign_splits, load_frozen
from insabot.models.loading import atomic_directory, find_adapter_dir, pick_dtype, resolve
from insabot.models.output_vocab import output_vocab_ids, trims
from insabot.selection import selection_scores
from insabot.textio import write_bytes_atomic

CHECKPOINTS = "checkpoints"


class TrainError(InsabotError, RuntimeError):
    pass


@dataclass
class Distributed:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def detect(cls) -> Distributed:
        """Rank and world size from the launcher's environment (`accelerate launch --multi_gpu` and
        `torchrun` both set RANK/WORLD_SIZE/MASTER_ADDR); gloo on CPU, nccl on GPU."""
        import os

        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return cls(torch.distributed.get_rank(), world)

    def sum_floats(self, *values: float) -> list[float]:
        if self.world == 1:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64)
        torch.distributed.all_reduce(tensor)
        return tensor.tolist()

    def sum_gradients(self, parameters: list[torch.nn.Parameter]) -> None:
        if self.world > 1:
            for parameter in parameters:
                if parameter.grad is not None:
                    torch.distributed.all_reduce(parameter.grad)


# ----------------------------------------------------------------------------------- data


def load_conversations(config: Config) -> list[Conversation]:
    """What `insabot data check` reads, through the same loader (every shape and file type it takes);
    strict: training stops at the first bad row."""
    spec = config.data.path or str(CORPUS_DIR)
    return require_conversations(load_source(spec), spec)


def render_all(conversations: list[Conversation], tokenizer: Any, max_len: int) -> tuple[list[Example], int]:
    examples = [render(tokenizer, c.messages, max_len, c.source) for c in conversations]
    return examples, sum(e.truncated for e in examples)


def micro_batches(
    examples: list[Example], config: Config, shuffler: random.Random | None = None
) -> list[list[Packed]]:
    """With packing, a micro-batch is one padding-free row of up to batch_size × max_seq_len tokens
    (the layout of transformers' DataCollatorWithFlattening): the position ids keep conversations
    apart, so it costs what batch_size rows of max_seq_len cost, minus their padding, and a
    best-fit-packed long row wastes less than several short ones (SmolLM2 at 1024: 89 % → 98 % full
    on the bench's 48 conversations). Without packing: batch_size conversations, padded to the longest.
    `shuffler` shuffles the conversations before packing and the rows after (best-fit decreasing hands
    them out longest conversation first)."""
    order = list(examples)
    if shuffler:
        shuffler.shuffle(order)
    size = config.train.batch_size
    if not config.data.packing:
        rows = pack(order, config.data.max_seq_len, packing=False)
        return [rows[i : i + size] for i in range(0, len(rows), size)]
    rows = pack(order, config.data.max_seq_len * size)
    if shuffler:
        shuffler.shuffle(rows)
    return [[row] for row in rows]


def batches_for_epoch(examples: list[Example], config: Config, epoch: int) -> list[list[Packed]]:
    """The epoch's micro-batches: a reproducible shuffle (what resume relies on)."""
    return micro_batches(examples, config, random.Random(config.train.seed * 1000 + epoch))


# ---------------------------------------------------------------------------------- model


def precision_dtype(name: str, device: str) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    if name == "fp32":
        return None
    if name == "auto":  # the dtype generation's `dtype: auto` picks; fp32 means no autocast
        dtype = pick_dtype("auto", device)
        return None if dtype == torch.float32 else dtype
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[name]


def build_model(config: Config, device: str) -> tuple[Any, Any]:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve(config.model.base_model, progress=True)
    kwargs: dict[str, Any] = {
        "trust_remote_code": config.model.trust_remote_code,
        "revision": config.model.revision,
    }
    tokenizer = AutoTokenizer.from_pretrained(source.location, **kwargs)
    if config.train.quantization == "4bit":
        kwargs["quantization_config"] = _four_bit_config(device)
    model = AutoModelForCausalLM.from_pretrained(source.location, dtype=torch.float32, **kwargs).to(device)
    if config.train.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    lora = config.lora
    token_indices = _token_indices(tokenizer, lora.trainable_tokens)
    if config.train.method == "full":
        if config.train.init_adapter:
            raise TrainError("train.init_adapter starts a LoRA; with train.method=full leave it unset")
        model = full_blocks(model, token_indices)
    else:
        peft_config = LoraConfig(
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            target_modules=lora.target_modules,
            task_type="CAUSAL_LM",
            trainable_token_indices=token_indices or None,
        )
        model = get_peft_model(model, peft_config)
        if config.train.init_adapter:
            load_adapter_weights(model, config.train.init_adapter)
    use_packed_attention(model)
    return model, tokenizer


def full_blocks(model: Any, token_indices: list[int]) -> Any:
    """Full fine-tuning of everything but the embeddings: the blocks and the final norm train; the (tied) token
    table stays frozen — for Gemma it is 168 M of 268 M parameters and already knows Korean — except the rows
    in `token_indices`, which train through PEFT's trainable tokens as in the LoRA recipe."""
    from peft import TrainableTokensConfig, get_peft_model

    frozen = {id(p) for p in model.get_input_embeddings().parameters()}
    frozen |= {id(p) for p in model.get_output_embeddings().parameters()}
    if token_indices:
        embeddings = next(n for n, m in model.named_modules() if m is model.get_input_embeddings())
        config = TrainableTokensConfig(
            token_indices=token_indices, target_modules=[embeddings.split(".")[-1]]
        )
        model = get_peft_model(model, config)  # freezes the rest; the blocks are unfrozen below
    for parameter in model.parameters():
        parameter.requires_grad_(id(parameter) not in frozen)
    return model


def load_adapter_weights(model: Any, path: str) -> None:
    """Copy a saved adapter's weights into the freshly built LoRA (strict: the file holds exactly the weights
    this LoRA saves, with their shapes), so a warm start never silently trains from a half-loaded adapter."""
    from peft import get_peft_model_state_dict, load_peft_weights, set_peft_model_state_dict

    folder = find_adapter_dir(path)
    saved = load_peft_weights(str(folder), device="cpu")
    expected = get_peft_model_state_dict(model)  # a head tied to the embeddings shares their token rows
    missing, unexpected = expected.keys() - saved.keys(), saved.keys() - expected.keys()
    wrong_shape = [k for k in expected.keys() & saved.keys() if expected[k].shape != saved[k].shape]
    if missing or unexpected or wrong_shape:
        raise TrainError(
            f"train.init_adapter {folder}: does not fit this lora config (missing {sorted(missing)[:2]}, "
            f"unexpected {sorted(unexpected)[:2]}, other shape {wrong_shape[:2]})"
        )
    set_peft_model_state_dict(model, saved)


def _token_indices(tokenizer: Any, tokens: list[str]) -> list[int]:
    ids = []
    for token in tokens:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == tokenizer.unk_token_id:
            raise TrainError(f"lora.trainable_tokens: {token!r} is not a token of this tokenizer")
        ids.append(token_id)
    return ids


def _four_bit_config(device: str) -> Any:
    if not device.startswith("cuda"):
        raise TrainError(
            "train.quantization=4bit (QLoRA) needs a CUDA GPU; set train.quantization=none on CPU"
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise TrainError("train.quantization=4bit needs bitsandbytes: pip install bitsandbytes") from None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
    )


# ---------------------------------------------------------------------------- checkpoints


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = sorted((run_dir / CHECKPOINTS).glob("step-*"), key=lambda p: int(p.name.split("-")[1]))
    return found[-1] if found else None


def trainable_state(model: Any) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(run_dir: Path, model, optimizer, scheduler, state: dict, keep: int) -> None:
    target = run_dir / CHECKPOINTS / f"step-{state['step']:07d}"
    with atomic_directory(target) as staging:  # a kill mid-save leaves no step-N for resume to pick up
        torch.save(trainable_state(model), staging / "trainable.pt")
        torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, staging / "optim.pt"
        )
        torch.save({"torch": torch.get_rng_state(), "python": random.getstate()}, staging / "rng.pt")
        (staging / "state.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
    for old in sorted((run_dir / CHECKPOINTS).glob("step-*"))[:-keep]:
        shutil.rmtree(old)


def load_checkpoint(path: Path, model, optimizer, scheduler) -> dict:
    saved = torch.load(path / "trainable.pt")
    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in saved.items():
            parameters[name].copy_(value)
    optim = torch.load(path / "optim.pt", weights_only=False)
    optimizer.load_state_dict(optim["optimizer"])
    scheduler.load_state_dict(optim["scheduler"])
    rng = torch.load(path / "rng.pt", weights_only=False)
    torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    return json.loads((path / "state.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------- the loop


@torch.no_grad()
def evaluate(
    model,
    batches: list[list[Packed]],
    pad_id: int,
    autocast: torch.dtype | None,
    device: str,
    kept_ids: torch.Tensor | None = None,
) -> float:
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        tensors = {k: v.to(device) for k, v in collate(batch, pad_id).items()}
        with _autocast(device, autocast):
            loss_sum, n = supervised_loss_sum(model, tensors, kept_ids)
        total, count = total + float(loss_sum), count + n
    model.train()
    return total / max(count, 1)


def validation_selection(
    model, tokenizer: Any, data: TrainData, turns: int, autocast: torch.dtype | None, device: str
) -> dict[str, float]:
    """Reply selection (K = 10) on the first `turns` validation turns, with dropout off."""
    model.eval()
    with cached_attention(model), _autocast(device, autocast):
        scores = selection_scores(model, tokenizer, data.validation_conversations, limit=turns)
    model.train()
    if scores["hits_at_1"] is None:  # too few validation replies to draw distractors from
        return {}
    return {"val_hits_at_1": scores["hits_at_1"], "val_mrr": scores["mrr"]}


def _autocast(device: str, dtype: torch.dtype | None):
    return torch.autocast(device.split(":")[0], dtype=dtype or torch.float32, enabled=dtype is not None)


def training_device(dist: Distributed, device: str | None) -> str:
    """The requested device, else CUDA when present (each rank on its own GPU), else the CPU."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return f"cuda:{dist.rank}" if device == "cuda" and dist.world > 1 else device


@dataclass
class TrainData:
    train: list[Example]
    validation: list[list[Packed]]
    """Validation micro-batches (empty when the dataset was too small to hold any out)."""
    truncated_train: int
    truncated_validation: int
    validation_conversations: list[Conversation]


def prepare_data(config: Config, conversations: list[Conversation], tokenizer: Any) -> TrainData:
    """Split (the bundled corpus keeps its frozen split), limit and render the training data."""
    splits = assign_splits(conversations, frozen=load_frozen() if config.data.path is None else None)
    train_conversations = splits["train"][: config.data.limit] if config.data.limit else splits["train"]
    if not train_conversations:
        raise TrainError(f"{config.data.path or CORPUS_DIR}: no conversations left for the train split")
    train_examples, truncated = render_all(train_conversations, tokenizer, config.data.max_seq_len)
    val_examples, val_truncated = render_all(splits["validation"], tokenizer, config.data.max_seq_len)
    return TrainData(
        train_examples, micro_batches(val_examples, config), truncated, val_truncated, splits["validation"]
    )


def training_output_vocab(config: Config, model, tokenizer: Any, data: TrainData, device: str):
    """The sorted token ids training's loss normalises over when `model.output_vocab` trims this model (else
    None, the whole head): the kept set generation uses, plus every token the data supervises (a dataset of
    one's own may hold tokens the bundled texts do not)."""
    lm = causal_lm(model)
    if not trims(config.model.output_vocab, lm):
        return None
    rows = [*data.train, *(row for batch in data.validation for row in batch)]
    supervised = {label for row in rows for label in row.labels if label != IGNORE}
    return torch.tensor(sorted(supervised.union(output_vocab_ids(tokenizer, lm))), device=device)


def forget_metrics_after(run_dir: Path, step: int) -> None:
    """Drop what a killed run logged after its last checkpoint: the resumed run logs those steps again, and the
    curve should hold each step once."""
    path = run_dir / "metrics.jsonl"
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if json.loads(line)["step"] <= step]
        write_bytes_atomic(
            "".join(line + "\n" for line in kept).encode("utf-8"), path
        )  # a kill keeps the old


def write_run_header(run_dir: Path, config: Config, data: TrainData, steps: int, autocast) -> None:
    """config.yaml and data.json: what a run was asked to do, written before its first step."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(dump_config(config), encoding="utf-8")
    data_report = {
        "train_conversations": len(data.train),
        "validation_conversations": len(data.validation_conversations),
        "truncated_train": data.truncated_train,
        "truncated_validation": data.truncated_validation,
        "max_seq_len": config.data.max_seq_len,
        "steps": steps,
        "precision": str(autocast).removeprefix("torch.") if autocast else "fp32",
    }
    (run_dir / "data.json").write_text(json.dumps(data_report, indent=2), encoding="utf-8")
    if data.truncated_train:
        print(
            f"warning: {data.truncated_train} training conversation(s) longer than "
            f"data.max_seq_len={config.data.max_seq_len} were cut"
        )


@dataclass
class Window:
    """Loss and throughput since the last logged step."""

    loss: float = 0.0
    supervised: int = 0
    tokens: int = 0
    started: float = field(default_factory=time.perf_counter)

    def record(self, dist: Distributed, step: int, steps_per_epoch: int, lr: float) -> tuple[dict, float]:
        """The metrics line for `step` (summed over ranks) and the seconds the window took."""
        elapsed = time.perf_counter() - self.started
        loss, supervised, tokens = dist.sum_floats(self.loss, self.supervised, self.tokens)
        return {
            "step": step,
            "epoch": round(step / steps_per_epoch, 3),
            "loss": round(loss / max(supervised, 1), 4),
            "lr": lr,
            "tokens_per_s": round(tokens / elapsed, 1),
            "supervised_tokens_per_s": round(supervised / elapsed, 1),
        }, elapsed


def train_step(
    model,
    step_batches: list[list[Packed]],
    pad_id: int,
    dist: Distributed,
    device: str,
    autocast,
    window: Window,
    kept_ids: torch.Tensor | None = None,
) -> int:
    """Forward and backward over this rank's share of one optimizer step's micro-batches; returns the
    step's supervised token count (the loss is normalised by it, summed over every rank's batches)."""
    collated = [collate(b, pad_id) for b in step_batches]
    # Every rank sees the same step_batches, so the global normaliser needs no communication.
    step_supervised = sum(int((c["labels"][:, 1:] != -100).sum()) for c in collated)
    for tensors in collated[dist.rank :: dist.world]:
        tensors = {k: v.to(device) for k, v in tensors.items()}
        with _autocast(device, autocast):
            loss_sum, count = supervised_loss_sum(model, tensors, kept_ids)
        (loss_sum / max(step_supervised, 1)).backward()
        window.loss += float(loss_sum.detach())
        window.supervised += count
        window.tokens += int(tensors["input_ids"].numel())
    return step_supervised


def train(config: Config, *, resume: bool = False, progress: bool = True, device: str | None = None) -> Path:
    from tqdm.auto import tqdm
    from transformers import get_cosine_schedule_with_warmup

    # Where, and whether this run may write there.
    dist = Distributed.detect()
    device = training_device(dist, device)
    run_dir = Path(config.train.output_dir)
    checkpoint = latest_checkpoint(run_dir) if resume else None
    if not resume and (run_dir / "metrics.jsonl").exists():
        raise TrainError(
            f"{run_dir} already holds a run; pass --resume to continue it or choose another output_dir"
        )
    torch.manual_seed(config.train.seed)
    random.seed(config.train.seed)

    # The data first: a bad row fails in a second, not after the model has loaded.
    conversations = load_conversations(config)
    model, tokenizer = build_model(config, device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    data = prepare_data(config, conversations, tokenizer)
    kept_ids = training_output_vocab(config, model, tokenizer, data, device)
    micro_per_step = config.train.grad_accum * dist.world
    steps_per_epoch = max(1, len(batches_for_epoch(data.train, config, 0)) // micro_per_step)
    total_steps = config.train.max_steps or max(1, math.ceil(steps_per_epoch * config.train.epochs))

    # Optimiser, schedule, and the state a checkpoint restores.
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.train.lr, weight_decay=config.train.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(
        optimizer, round(total_steps * config.train.warmup_ratio), total_steps
    )
    state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "tokens": 0, "supervised_tokens": 0, "seconds": 0.0}
    if checkpoint is not None:
        state = load_checkpoint(checkpoint, model, optimizer, scheduler)
        if dist.main:
            forget_metrics_after(run_dir, state["step"])
    autocast = precision_dtype(config.train.precision, device)
    if dist.main:
        write_run_header(run_dir, config, data, total_steps, autocast)
    metrics_file = (run_dir / "metrics.jsonl").open("a", encoding="utf-8") if dist.main else None

    model.train()
    bar = tqdm(total=total_steps, initial=state["step"], desc="train", disable=not (progress and dist.main))
    window = Window()
    epoch_batches = batches_for_epoch(data.train, config, state["epoch"])
    while state["step"] < total_steps:
        if state["batch_in_epoch"] + micro_per_step > len(epoch_batches):
            state["epoch"] += 1
            state["batch_in_epoch"] = 0
            epoch_batches = batches_for_epoch(data.train, config, state["epoch"])
        step_batches = epoch_batches[state["batch_in_epoch"] : state["batch_in_epoch"] + micro_per_step]
        step_supervised = train_step(model, step_batches, pad_id, dist, device, autocast, window, kept_ids)
        dist.sum_gradients(trainable)
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] += 1
        state["batch_in_epoch"] += micro_per_step
        state["supervised_tokens"] += step_supervised
        bar.update(1)

        step, last = state["step"], state["step"] == total_steps
        record = None
        if step % config.train.log_every == 0 or last:
            record, elapsed = window.record(dist, step, steps_per_epoch, scheduler.get_last_lr()[0])
            state["seconds"] += elapsed
            bar.set_postfix(loss=record["loss"], tok_s=record["tokens_per_s"])
            window = Window()
        # A dataset too small to hold out a validation split (one exported chat) has no eval loss.
        if data.validation and (step % config.train.eval_every == 0 or last):
            record = record or {"step": step}
            record["eval_loss"] = round(
                evaluate(model, data.validation, pad_id, autocast, device, kept_ids), 4
            )
            if config.train.selection_turns:
                record |= validation_selection(
                    model, tokenizer, data, config.train.selection_turns, autocast, device
                )
        if dist.main and record:
            metrics_file.write(json.dumps(record) + "\n")
            metrics_file.flush()
        if dist.main and (step % config.train.save_every == 0 or last):
            save_checkpoint(run_dir, model, optimizer, scheduler, state, config.train.keep_checkpoints)
    bar.close()
    if dist.main:
        metrics_file.close()
        from insabot.finetune.report import finish_run

        finish_run(run_dir, model, tokenizer, config)
    return run_dir
