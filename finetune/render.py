"""Conversations -> token ids and labels, with the loss on assistant tokens only.

The tokenizer's own chat template renders the text. An assistant turn's supervised span is what the
template adds between "the conversation so far + the generation prompt" and "the conversation
including this reply": the reply and its end-of-turn token. Everything else (system, user, the
`<|im_start|>assistant` header, the newline after end-of-turn) is masked with -100.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from insabot.errors import InsabotError

IGNORE = -100


class RenderError(InsabotError, ValueError):
    pass


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]
    source: str
    truncated: bool = False

    @property
    def supervised(self) -> int:
        return sum(label != IGNORE for label in self.labels)


_END_OF_TURN: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def end_of_turn_text(tokenizer: Any) -> str:
    """Cached per tokenizer: Gemma's `added_tokens_encoder` rebuilds a dict of 6k tokens on every read, which
    made rendering the 6,000-conversation corpus take minutes instead of seconds."""
    if tokenizer not in _END_OF_TURN:
        _END_OF_TURN[tokenizer] = _find_end_of_turn_text(tokenizer)
    return _END_OF_TURN[tokenizer]


def _find_end_of_turn_text(tokenizer: Any) -> str:
    """What closes an assistant turn in this template: the special tokens right after the reply (`<|im_end|>`,
    `<end_of_turn>`, `<|eot_id|>`; HyperCLOVA X SEED closes with two, `<|im_end|><|endofturn|>`, and stops
    generating at the second, so the loss covers both)."""
    probe = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    rendered = tokenizer.apply_chat_template(probe, tokenize=False)
    after = rendered[rendered.rindex("b") + 1 :].lstrip()
    # Whitespace-only added tokens (Gemma's "\n", "\n\n", ...) are the template's layout, not the turn's end.
    specials = [t for t in tokenizer.all_special_tokens + list(tokenizer.added_tokens_encoder) if t.strip()]
    closing = ""
    while token := next((t for t in specials if after.startswith(t, len(closing))), None):
        closing += token
    if not closing:
        raise RenderError(
            f"cannot find the end-of-turn token after an assistant reply in this chat template: {after!r}"
        )
    return closing


def assistant_spans(tokenizer: Any, messages: Sequence[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of each assistant reply + its end-of-turn token."""
    eot = end_of_turn_text(tokenizer)
    full = tokenizer.apply_chat_template(list(messages), tokenize=False)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(
            list(messages[:index]), tokenize=False, add_generation_prompt=True
        )
        through = tokenizer.apply_chat_template(list(messages[: index + 1]), tokenize=False)
        if not full.startswith(through) or not through.startswith(before):
            raise RenderError(
                "this chat template does not render conversations prefix by prefix; cannot mask turns"
            )
        end = through.find(eot, len(before))
        if end < 0:
            raise RenderError(f"assistant turn {index} is not closed by {eot!r} in the rendered template")
        spans.append((len(before), end + len(eot)))
    return full, spans


def render(tokenizer: Any, messages: Sequence[dict[str, str]], max_length: int, source: str = "") -> Example:
    """Token ids and labels of one conversation; longer ones are cut at `max_length` and flagged."""
    text, spans = assistant_spans(tokenizer, messages)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    labels = [IGNORE] * len(ids)
    span_index = 0
    for position, (start, end) in enumerate(offsets):
        while span_index < len(spans) and start >= spans[span_index][1]:
            span_index += 1
        if span_index < len(spans) and start >= spans[span_index][0] and end > start:
            labels[position] = ids[position]
    truncated = len(ids) > max_length
    return Example(ids[:max_length], labels[:max_length], source, truncated)
