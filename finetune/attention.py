"""Attention for packed training rows: causal inside each conversation, computed per conversation.

transformers (>= 5) keeps packed conversations apart by turning the reset position ids into a
block-diagonal mask over the whole row. SDPA on CPU then computes every query against every key of the
row and masks most of it away: with 1024-token rows of ~450-token conversations that was 29 % of a
SmolLM2 training step (measured with torch.profiler). Here the row is cut at every position-id reset
and each piece runs SDPA with `is_causal`, which skips the upper triangle: the work is the sum of L_i²
over the conversations instead of T² per row, and the result is the same attention.

Registered with transformers' AttentionInterface under PACKED_ATTENTION; an implementation name the
mask interface does not know gets no mask built, which is what we want (the position ids are the mask).
Training and validation forward passes only: generation with a KV cache keeps `sdpa`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

PACKED_ATTENTION = "insabot_packed_sdpa"


def segment_bounds(position_ids: torch.Tensor) -> list[list[tuple[int, int]]]:
    """Per row, the (start, end) of every run of positions that restarts at 0 (one conversation, or
    the padding tail)."""
    resets = (position_ids[:, 1:] != position_ids[:, :-1] + 1).cpu()
    length = position_ids.shape[1]
    bounds = []
    for row in resets:
        cuts = [0, *(row.nonzero().flatten() + 1).tolist(), length]
        bounds.append(list(itertools.pairwise(cuts)))
    return bounds


def _window_mask(length: int, window: int, device: torch.device) -> torch.Tensor:
    """Causal and at most `window` tokens back (transformers' sliding-window rule: q - k < window)."""
    query = torch.arange(length, device=device)[:, None]
    key = torch.arange(length, device=device)[None, :]
    return (key <= query) & (query - key < window)


def packed_sdpa_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    position_ids: torch.Tensor | None = None,
    sliding_window: int | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """query/key/value: (batch, heads, length, head_dim); returns (batch, length, heads, head_dim)."""
    length = query.shape[2]
    if key.shape[2] != length or kwargs.get("softcap") is not None:
        raise RuntimeError(
            f"{PACKED_ATTENTION} is for training forward passes without a KV cache or logit soft-capping; "
            "generate with attn_implementation='sdpa'"
        )
    grouped = getattr(module, "num_key_value_groups", 1) > 1
    if position_ids is None:
        position_ids = torch.arange(length, device=query.device)[None]
    rows = []
    for row, bounds in enumerate(segment_bounds(position_ids.expand(query.shape[0], -1))):
        pieces = []
        for start, end in bounds:
            span = end - start
            windowed = sliding_window is not None and span > sliding_window
            pieces.append(
                torch.nn.functional.scaled_dot_product_attention(
                    query[row : row + 1, :, start:end],
                    key[row : row + 1, :, start:end],
                    value[row : row + 1, :, start:end],
                    attn_mask=_window_mask(span, sliding_window, query.device) if windowed else None,
                    dropout_p=dropout,
                    scale=scaling,
                    is_causal=not windowed,
                    enable_gqa=grouped,
                )
            )
        rows.append(torch.cat(pieces, dim=2))
    return torch.cat(rows).transpose(1, 2).contiguous(), None


def use_packed_attention(model: Any) -> None:
    """Switch a transformers model (or a PEFT wrapper around one) to per-conversation attention."""
    from transformers import AttentionInterface

    AttentionInterface.register(PACKED_ATTENTION, packed_sdpa_attention)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    base.set_attn_implementation(PACKED_ATTENTION)


@contextmanager
def cached_attention(model: Any) -> Iterator[None]:
    """Plain SDPA for a while inside a training run (reply selection at validation encodes a context once and
    reuses its KV cache, which the packed implementation refuses), then per-conversation attention again."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    training_implementation = base.config._attn_implementation
    base.set_attn_implementation("sdpa")
    try:
        yield
    finally:
        base.set_attn_implementation(training_implementation)
