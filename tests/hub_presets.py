"""What the Korean Hub presets' real checkpoints are, and tiny random models built the same way.

The weights cannot be fetched here (no Hub access in tests), so each preset's architecture is written down once,
below, with where each fact comes from. Facts marked UNVERIFIED are recalled, not read from the model's own
config.json or tokenizer_config.json; the tests only rely on them being right in kind (grouped-query attention,
an explicit head_dim, tied embeddings, plain RoPE, the chat template's turn markers).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HubArchitecture:
    hub_id: str
    parameters_b: str
    """Total parameters in billions, to the precision the model card states them."""
    hidden_size: int
    intermediate_size: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    tie_word_embeddings: bool
    rope_theta: float | None
    """None: unknown; the tiny model keeps transformers' default. Both models use plain RoPE (no rope_scaling)."""
    max_position_embeddings: int
    bos_token: str
    eos_token: str
    pad_token: str
    special_tokens: tuple[str, ...]
    chat_template: str
    closing: str
    """What the template writes after an assistant reply, before the next turn: the recipe's supervised end."""

    def __post_init__(self) -> None:
        assert self.heads % self.kv_heads == 0, f"{self.hub_id}: GQA needs whole groups of query heads"


# The Llama 3 template (as in Meta-Llama-3-8B-Instruct), which kanana's instruct models use: BOS once, a header
# per turn, each turn closed by <|eot_id|>. UNVERIFIED in its details: whether kanana's copy injects a default
# system prompt when there is none (insabot always sends one, so the rendering below is the one it gets).
LLAMA3_TEMPLATE = (
    "{% for message in messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

# HyperCLOVA X SEED's ChatML: <|im_start|>role ... <|im_end|>, and an assistant turn also ends with <|endofturn|>
# (the model generates up to it; its model card stops generation there). Source: the HyperCLOVA X SEED model
# cards' prompt format ("{assistant_answer}<|im_end|><|endofturn|>\n<|im_start|>user ..."). UNVERIFIED: the
# 0.5B tokenizer_config.json's own Jinja text; its model card always passes an empty `tool_list` turn first,
# which insabot's conversations do not (fine-tuning teaches the model insabot's shape).
HCX_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' }}"
    "{% if message['role'] == 'assistant' %}{{ '<|endofturn|>' }}{% endif %}"
    "{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Keyed by preset: configs/train/<key>.yaml.
HUB_PRESETS: dict[str, HubArchitecture] = {
    "kanana15-2.1b-ko-casual": HubArchitecture(
        hub_id="kakaocorp/kanana-1.5-2.1b-instruct-2505",
        parameters_b="2.1",  # the model's name
        # hidden 1792, 24 heads, 8 KV heads, head_dim 128 (so q is 3072 wide, not 1792): kanana-1.5-2.1b-base's
        # config.json as quoted in huggingface/transformers#47707, and kanana-nano-2.1b-base's config.json.
        hidden_size=1792,
        heads=24,
        kv_heads=8,
        head_dim=128,
        # intermediate 8064, 32 layers, vocab 128256, tied embeddings, rope_theta 5e5: kanana-nano-2.1b-base's
        # config.json; assumed unchanged in 1.5 (same size class and tokenizer). UNVERIFIED for 1.5's rope_theta:
        # 1.5 was trained to a 32K context and may use a larger theta.
        intermediate_size=8064,
        layers=32,
        vocab_size=128256,
        tie_word_embeddings=True,
        rope_theta=500000.0,
        # 1.5's model card, as recalled: 32K tokens natively (YaRN beyond). UNVERIFIED, as is config.json's value.
        max_position_embeddings=32768,
        # BOS 128000 and PAD 128001 (<|end_of_text|>), EOS 128009 (<|eot_id|>): kanana-nano-2.1b-instruct's GGUF
        # metadata; assumed the same for 1.5.
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        pad_token="<|end_of_text|>",
        special_tokens=("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|end_of_text|>"),
        chat_template=LLAMA3_TEMPLATE,
        closing="<|eot_id|>",
    ),
    "hyperclovax-seed-0.5b-ko-casual": HubArchitecture(
        hub_id="naver-hyperclovax/HyperCLOVAX-SEED-Text-Instruct-0.5B",
        parameters_b="0.57",  # model card: 0.57 B total, 0.45 B without the (tied) token embeddings
        # LlamaForCausalLM: the Hub lists it as `llama`, loaded without trust_remote_code (model card example).
        # The dimensions below are UNVERIFIED (recalled). They are at least consistent with the card: 0.566 B in
        # all (a test checks the card's 0.57) and 0.453 B without the embeddings (the card's 0.45).
        hidden_size=1024,
        intermediate_size=4096,
        layers=24,
        heads=16,
        kv_heads=8,
        head_dim=128,
        vocab_size=110592,
        tie_word_embeddings=True,  # model card: "tied embeddings"
        rope_theta=None,  # UNVERIFIED: not known
        max_position_embeddings=4096,  # model card: 4K context. config.json UNVERIFIED.
        # <|im_start|>, <|im_end|>, <|endofturn|>, <|stop|>: the model card (stop_strings) and the SEED prompt
        # format. Which of them config/tokenizer name BOS/EOS/PAD is UNVERIFIED (<|endoftext|> as BOS/PAD and
        # <|endofturn|> as EOS is a guess); insabot stops on <|im_end|> and <|endofturn|> either way.
        bos_token="<|endoftext|>",
        eos_token="<|endofturn|>",
        pad_token="<|endoftext|>",
        special_tokens=("<|im_start|>", "<|im_end|>", "<|endofturn|>", "<|stop|>"),
        chat_template=HCX_TEMPLATE,
        closing="<|im_end|><|endofturn|>",
    ),
}


def llama_config(arch: HubArchitecture, **tiny: Any) -> Any:
    """The LlamaConfig of the real checkpoint, or, with keyword overrides, of a tiny model of its kind."""
    from transformers import LlamaConfig

    settings: dict[str, Any] = {
        "vocab_size": arch.vocab_size,
        "hidden_size": arch.hidden_size,
        "intermediate_size": arch.intermediate_size,
        "num_hidden_layers": arch.layers,
        "num_attention_heads": arch.heads,
        "num_key_value_heads": arch.kv_heads,
        "head_dim": arch.head_dim,
        "tie_word_embeddings": arch.tie_word_embeddings,
        "max_position_embeddings": arch.max_position_embeddings,
    }
    if arch.rope_theta is not None:
        settings["rope_parameters"] = {"rope_type": "default", "rope_theta": arch.rope_theta}
    return LlamaConfig(**(settings | tiny))


def tiny_tokenizer(arch: HubArchitecture, base: Any) -> Any:
    """SmolLM2's vocabulary with the preset's special tokens and chat template (the real vocabularies are 110-128k
    tokens; only the turn markers matter to the recipe)."""
    tokenizer = copy.deepcopy(base)
    tokenizer.add_special_tokens(
        {
            "bos_token": arch.bos_token,
            "eos_token": arch.eos_token,
            "pad_token": arch.pad_token,
            "extra_special_tokens": list(arch.special_tokens),
        }
    )
    tokenizer.chat_template = arch.chat_template
    return tokenizer


def tiny_model(arch: HubArchitecture, tokenizer: Any, *, seed: int = 0) -> Any:
    """A random 2-layer LlamaForCausalLM of the preset's kind: the same query heads per KV head, an explicit
    head_dim with the query projection as much wider than the model as the real one's, tied embeddings and RoPE."""
    import torch
    from transformers import LlamaForCausalLM

    kv_heads = 2
    heads = kv_heads * arch.heads // arch.kv_heads
    head_dim = 16
    hidden = heads * head_dim * arch.hidden_size // (arch.heads * arch.head_dim)
    # transformers 5.25 wants hidden_size to be a multiple of the heads even with head_dim given; kanana's real
    # 1792 / 24 is not, which test_presets pins (huggingface/transformers#46082).
    hidden -= hidden % heads
    config = llama_config(
        arch,
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * arch.intermediate_size // arch.hidden_size,
        num_hidden_layers=2,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=head_dim,
        initializer_range=0.2,  # as tiny_models.tiny_llama: large enough for a LoRA to move the logits
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config).eval()
