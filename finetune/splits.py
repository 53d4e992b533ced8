"""Deterministic train/validation/test splits, stratified by category and tone.

Within each (category, tone) group conversations are ordered by a hash of their id, and the first
ones go to test, the next to validation. The assignment depends only on the ids, so it is the same
on every machine and for every run; the test split is never seen by training.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Sequence

from insabot.finetune.conversations import Conversation

SPLITS = ("train", "validation", "test")


def _rank(conversation_id: str) -> str:
    return hashlib.sha256(f"insabot-split:{conversation_id}".encode()).hexdigest()


def assign_splits(
    conversations: Sequence[Conversation], validation: float = 0.05, test: float = 0.05
) -> dict[str, list[Conversation]]:
    groups: dict[tuple[str, str], list[Conversation]] = collections.defaultdict(list)
    for conversation in conversations:
        groups[(conversation.category, conversation.tone)].append(conversation)
    result: dict[str, list[Conversation]] = {name: [] for name in SPLITS}
    for members in groups.values():
        ordered = sorted(members, key=lambda c: _rank(c.id))
        n_test = max(1, round(len(ordered) * test)) if test else 0
        n_val = max(1, round(len(ordered) * validation)) if validation else 0
        result["test"] += ordered[:n_test]
        result["validation"] += ordered[n_test : n_test + n_val]
        result["train"] += ordered[n_test + n_val :]
    order = {c.id: i for i, c in enumerate(conversations)}
    return {name: sorted(items, key=lambda c: order[c.id]) for name, items in result.items()}
