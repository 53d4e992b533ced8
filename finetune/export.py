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
            base_model=base_model or base_model_of(run_or_adapter), adapter=run_or_adapter, dtype="float32"
        ),
        device="cpu",
    )
    merged = loaded.model.merge_and_unload()
    with atomic_directory(out) as staging:
        merged.save_pretrained(staging, safe_serialization=True)
        loaded.tokenizer.save_pretrained(staging)
    return out
