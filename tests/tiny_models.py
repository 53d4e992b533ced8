"""Tiny random Llama models with the real SmolLM2 tokenizer and chat template, for fast tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from insabot.models.registry import LLAMA_MODEL


def default_tokenizer() -> Any:
    """The embedded Llama-family base's tokenizer (converts the embedded model on first use)."""
    from transformers import AutoTokenizer

    from insabot.models.loading import resolve

    return AutoTokenizer.from_pretrained(resolve(LLAMA_MODEL).location)


def tiny_llama(
    tokenizer: Any | None = None, *, layers: int = 2, hidden: int = 64, seed: int = 0
) -> tuple[Any, Any]:
    """A randomly initialised LlamaForCausalLM sized for unit tests (a few hundred thousand
    parameters plus the embedding), sharing SmolLM2's vocabulary, special tokens and chat template."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tokenizer or default_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        initializer_range=0.2,  # large enough that a LoRA can move the logits past the final norm
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    return model, tokenizer


def save_tiny_llama(directory: str | Path, **kwargs: Any) -> Path:
    """Write a tiny model as a local Hugging Face directory, loadable as a `base_model` path."""
    model, tokenizer = tiny_llama(**kwargs)
    directory = Path(directory)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def tiny_gemma3(
    tokenizer: Any, *, layers: int = 4, hidden: int = 64, sliding_window: int = 16, seed: int = 0
):
    """A random Gemma3ForCausalLM mixing sliding-window and global attention layers, for tests of
    what must hold on both architectures (packing, masks, loss)."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=hidden // 4,
        sliding_window=sliding_window,
        layer_types=["sliding_attention", "full_attention"] * (layers // 2),
        max_position_embeddings=2048,
        initializer_range=0.2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return Gemma3ForCausalLM(config).eval()
