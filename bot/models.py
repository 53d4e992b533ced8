"""Which models the web chat offers, and loading them once each, off the event loop.

A choice is a base model plus an optional adapter (or training run). The dropdowns offer the configured
model, every embedded base that is installed, each alone and with every adapter found under the
configured folders (shipped `adapters/`, training `runs/`), so the arena can set any two side by side.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from insabot.config import ModelConfig
from insabot.models.loading import LoadedModel, find_adapter_dir, load
from insabot.models.registry import EMBEDDED


@dataclass(frozen=True)
class ModelChoice:
    base_model: str
    adapter: str | None = None

    @property
    def label(self) -> str:
        return f"{self.base_model} + {self.adapter}" if self.adapter else f"{self.base_model} (기본 모델)"


def adapter_base(adapter_dir: Path) -> str:
    """The base model an adapter was trained on (peft writes it into adapter_config.json)."""
    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    return config["base_model_name_or_path"]


def find_adapters(model_dirs: Iterable[str]) -> list[ModelChoice]:
    """Adapters and run directories (holding `adapter/`) directly under each folder, sorted by path."""
    found = []
    for folder in map(Path, model_dirs):
        if not folder.is_dir():
            continue
        for candidate in sorted(p for p in folder.iterdir() if p.is_dir()):
            for adapter_dir in (candidate, candidate / "adapter"):
                if (adapter_dir / "adapter_config.json").is_file():
                    found.append(ModelChoice(adapter_base(adapter_dir), str(candidate)))
                    break
    return found


def installed_embedded() -> list[str]:
    return [alias for alias, entry in EMBEDDED.items() if importlib.util.find_spec(entry.package) is not None]


def discover_choices(model: ModelConfig, model_dirs: Iterable[str]) -> list[ModelChoice]:
    """The configured model first, then its base alone, then adapters found, then other bases alone."""
    configured = ModelChoice(model.base_model, model.adapter)
    adapters = find_adapters(model_dirs)
    bases = [model.base_model, *installed_embedded(), *(choice.base_model for choice in adapters)]
    choices = [configured, ModelChoice(model.base_model), *adapters, *(ModelChoice(base) for base in bases)]
    unique: dict[tuple[str, str | None], ModelChoice] = {}
    for choice in choices:
        key = (choice.base_model, choice.adapter and str(find_adapter_dir(choice.adapter).resolve()))
        unique.setdefault(key, choice)
    return list(unique.values())


class ModelPool:
    """Loads each choice at most once (concurrent requests for one choice wait for the same load)."""

    def __init__(
        self,
        template: ModelConfig,
        choices: list[ModelChoice],
        loader: Callable[[ModelConfig], LoadedModel] = load,
    ):
        self.template = template
        self.choices = {choice.label: choice for choice in choices}
        self._loader = loader
        self._loaded: dict[str, LoadedModel] = {}
        self._locks: dict[str, threading.Lock] = {label: threading.Lock() for label in self.choices}

    @property
    def labels(self) -> list[str]:
        return list(self.choices)

    def is_loaded(self, label: str) -> bool:
        return label in self._loaded

    def get(self, label: str) -> LoadedModel:
        if label not in self.choices:
            raise KeyError(f"unknown model {label!r}; choose one of: {', '.join(self.choices)}")
        with self._locks[label]:
            if label not in self._loaded:
                choice = self.choices[label]
                config = dataclasses.replace(
                    self.template, base_model=choice.base_model, adapter=choice.adapter
                )
                self._loaded[label] = self._loader(config)
            return self._loaded[label]
