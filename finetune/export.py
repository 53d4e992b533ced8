"""Merge a LoRA adapter into its base and write a standalone Hugging Face model."""

from __future__ import annotations

import json
from pathlib import Path

from insabot.config import ModelConfig
from insabot.models.loading import atomic_directory, find_adapter_dir, load


def base_model_of(run_or_adapter: str) -> str:
    """The base a run was trained on: its config.yaml, else the adapter's own record."""
    run = Path(run_or_adapter)
    if (run / "config.yaml").is_file():
        import yaml

        return yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))["model"]["base_model"]
    adapter = find_adapter_dir(run_or_adapter)
    return json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))[
        "base_model_name_or_path"
    ]


def export_merged(run_or_adapter: str, out: Path, base_model: str | None = None) -> Path:
    loaded = load(
        ModelConfig(
            base_model=base_model or base_model_of(run_or_adapter),
            adapter=run_or_adapter,
            dtype="float32",
            output_vocab="full",  # the exported model is a plain one, whole head included
        ),
        device="cpu",
    )
    merged = loaded.model  # load() merges the adapter into the base weights
    with atomic_directory(out) as staging:
        merged.save_pretrained(staging, safe_serialization=True)
        loaded.tokenizer.save_pretrained(staging)
    return out


SHIPPED_FILES = ("adapter_config.json", "adapter_model.safetensors", "chat_template.jinja")
RUN_FILES = ("README.md", "config.yaml", "data.json", "metrics.jsonl", "loss.png")


def export_adapter(run_dir: str, out: Path, weights_dtype: str = "float32") -> Path:
    """A compact, shippable copy of a run: the LoRA weights and config, the chat template, the model card,
    metrics and loss plot — no tokenizer (the base model's own is used) and no checkpoints. `weights_dtype`
    "bfloat16" halves the weights file (PEFT loads them back into the base's dtype)."""
    import shutil

    run = Path(run_dir)
    adapter = find_adapter_dir(run_dir)
    with atomic_directory(out) as staging:
        for name in SHIPPED_FILES:
            if (adapter / name).exists():
                shutil.copy2(adapter / name, staging / name)
        for name in RUN_FILES:
            if (run / name).exists():
                shutil.copy2(run / name, staging / name)
        if weights_dtype != "float32":
            _cast_weights(staging / "adapter_model.safetensors", weights_dtype)
        card = staging / "README.md"
        if card.exists():  # the card's usage line should name where the adapter now lives
            card.write_text(
                card.read_text(encoding="utf-8").replace(f"--adapter {run}", f"--adapter {out}"),
                encoding="utf-8",
            )
        config = json.loads((staging / "adapter_config.json").read_text(encoding="utf-8"))
        config["base_model_name_or_path"] = base_model_of(run_dir)  # the alias, not this machine's cache path
        (staging / "adapter_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def _cast_weights(path: Path, dtype: str) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    target = getattr(torch, dtype)
    tensors = {
        name: tensor.to(target) if tensor.is_floating_point() else tensor
        for name, tensor in load_file(path).items()
    }
    save_file(tensors, path, metadata={"format": "pt"})
