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
