"""Exact and near-duplicate conversations, found on normalised text.

exact: the same turns after NFC and whitespace folding.
near:  the same turns once punctuation, spacing, laughter/crying runs (ㅋㅋ, ㅠㅠ) and emoji are
       dropped and Latin letters lowercased — the copies that differ only in how they were typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from insabot.finetune.conversations import Conversation

_SPACE = re.compile(r"\s+")
_NOISE = re.compile(r"[\W_]|[ㅋㅎㅠㅜ]+", re.UNICODE)


@dataclass(frozen=True)
class Duplicate:
    conversation: Conversation
    original: Conversation
    kind: str  # "exact" | "near"


def _turns(conversation: Conversation) -> list[str]:
    return [m["content"] for m in conversation.messages if m["role"] != "system"]


def exact_key(conversation: Conversation) -> tuple[str, ...]:
    return tuple(_SPACE.sub(" ", text).strip() for text in _turns(conversation))


def near_key(conversation: Conversation) -> tuple[str, ...]:
    return tuple(_NOISE.sub("", text).lower() for text in _turns(conversation))


def deduplicate(conversations: list[Conversation]) -> tuple[list[Conversation], list[Duplicate]]:
    """Keep the first of each group of duplicates; report every removed one with what it duplicates."""
    kept: list[Conversation] = []
    removed: list[Duplicate] = []
    seen_exact: dict[tuple[str, ...], Conversation] = {}
    seen_near: dict[tuple[str, ...], Conversation] = {}
    for conversation in conversations:
        exact, near = exact_key(conversation), near_key(conversation)
        if exact in seen_exact:
            removed.append(Duplicate(conversation, seen_exact[exact], "exact"))
        elif near in seen_near:
            removed.append(Duplicate(conversation, seen_near[near], "near"))
        else:
            seen_exact[exact] = seen_near[near] = conversation
            kept.append(conversation)
    return kept, removed


def text_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character bigrams of two messages, noise dropped as in `near_key`: 1.0 for
    copies, about 0.5 and up for one sentence reworded ('월급 들어온 지 3일 됐는데 벌써 반 씀' vs '… 벌써
    텅장' = 0.75). Held-out message sets are kept below `HELD_OUT_SIMILARITY` against every corpus turn, so
    training never sees a near copy of what the eval asks. Texts under three bigrams compare as 0."""
    first, second = _bigrams(a), _bigrams(b)
    if len(first) < 3 or len(second) < 3:
        return 0.0
    return len(first & second) / len(first | second)


HELD_OUT_SIMILARITY = 0.45


def _bigrams(text: str) -> set[str]:
    text = _NOISE.sub("", text).lower()
    return {text[i : i + 2] for i in range(len(text) - 1)}
