"""Shared fixtures. No test touches the network: the Hub is forced offline for the whole session."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest


@pytest.fixture(scope="session")
def smol_tokenizer():
    from insabot.models.tiny import default_tokenizer

    return default_tokenizer()


@pytest.fixture(scope="session")
def tiny(smol_tokenizer):
    """(model, tokenizer): a random 2-layer Llama with the real SmolLM2 tokenizer."""
    from insabot.models.tiny import tiny_llama

    return tiny_llama(smol_tokenizer)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory, smol_tokenizer):
    """A tiny Llama saved as a local Hugging Face directory."""
    from insabot.models.tiny import save_tiny_llama

    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), tokenizer=smol_tokenizer)


@pytest.fixture
def tiny_loaded(tiny_dir):
    from insabot.config import ModelConfig
    from insabot.models.loading import load

    return load(ModelConfig(base_model=str(tiny_dir)), device="cpu")
