"""Reranked decoding: of N sampled candidates, answer with the most relevant one the analysers let through.

A small tuned model's single sample is often a loop, the wrong speech level, or a reply that would fit any
message. The candidates that loop (insabot/korean/loops.py), are empty, or miss the tone the system prompt asks
for are dropped; the rest are ranked by relevance as reply selection (insabot/selection.py) defines it, PMI:
mean log P(reply | conversation) − λ · mean log P(reply | the same system prompt and an empty user turn), so a
generic "ㅋㅋ 인정" that fits anything gains nothing from it. Whole candidates are needed, so only the paths
that do not stream rerank (`generation.generate_batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from insabot.chat import Message, tone_of
from insabot.korean.analyze import analyze
from insabot.korean.loops import has_repeated_unit, is_loop
from insabot.korean.speech_level import tone_ok
from insabot.likelihood import mean_log_likelihoods

Relevance = Callable[[Sequence[Message], Sequence[str]], list[float]]
"""(conversation, candidate texts) → one relevance score per text, higher is better."""


class HasText(Protocol):
    @property
    def text(self) -> str: ...


Candidate = TypeVar("Candidate", bound=HasText)


def acceptable(texts: Sequence[str], tone: str | None, category: str | None = None) -> list[bool]:
    """Whether each text is a reply worth ranking: not empty, no repeated line or sentence (nor, when the
    category is known and is not a quoting one, only a quotation), and, when `tone` is known, in that tone.
    A text without any speech level (ㅋㅋ, 헐) misses the tone, as the eval counts it: a reply must show it."""
    analyses = analyze(texts)
    return [
        bool(text.strip())
        and not (has_repeated_unit(text) if category is None else is_loop(text, category))
        and (tone is None or tone_ok(analysis.sentences, tone) is True)
        for text, analysis in zip(texts, analyses, strict=True)
    ]


def pmi_relevance(model: Any, tokenizer: Any, lam: float) -> Relevance:
    """Relevance by `model`: the reply's mean log-likelihood after the conversation minus `lam` times its mean
    log-likelihood after the conversation's system prompt and an empty user turn."""

    def relevance(conversation: Sequence[Message], texts: Sequence[str]) -> list[float]:
        null = [m for m in conversation if m["role"] == "system"] + [{"role": "user", "content": ""}]
        conditional = mean_log_likelihoods(model, tokenizer, conversation, texts)
        generic = mean_log_likelihoods(model, tokenizer, null, texts)
        return [c - lam * g for c, g in zip(conditional, generic, strict=True)]

    return relevance


def choose(
    candidates: Sequence[Candidate],
    conversation: Sequence[Message],
    relevance: Relevance,
    category: str | None = None,
) -> Candidate:
    """The most relevant acceptable candidate; the most relevant of all when none is acceptable (a reply is
    always given). Only the pool is scored: scoring costs a forward pass per candidate."""
    kept = acceptable([c.text for c in candidates], tone_of(conversation), category)
    pool = [i for i, ok in enumerate(kept) if ok] or list(range(len(candidates)))
    scores = relevance(conversation, [candidates[i].text for i in pool])
    # max keeps the first of equal scores: the lower candidate index, so ties are reproducible
    best = max(range(len(pool)), key=lambda k: scores[k])
    return candidates[pool[best]]
