"""Deterministic train/validation/test splits, stratified by category and tone.

Within each (category, tone) group conversations are ordered by a hash of their id, and the first
ones go to test, the next to validation (at least one each). A group too small to hold out one of each
and still train on one (fewer than 3 conversations, e.g. a chat exported from the web UI) goes to train
whole. The assignment depends only on the ids, so it is the same on every machine and for every run;
the test split is never seen by training.

The bundled corpus freezes its assignment in `finetune/corpus/splits.json` (`insabot data split
--freeze`, after adding conversations): conversations listed there keep their split forever, so adding conversations later
never moves one into or out of the test set; only new ids are assigned by the rule above.
"""

from __future__ import annotations

import collections
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from insabot.finetune.conversations import CORPUS_DIR, Conversation
from insabot.textio import write_bytes_atomic

SPLITS = ("train", "validation", "test")
FROZEN_SPLITS = CORPUS_DIR / "splits.json"


def load_frozen(path: Path = FROZEN_SPLITS) -> dict[str, str]:
    """id -> split for the frozen ids (empty when there is no file)."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {conversation_id: name for name in SPLITS for conversation_id in data[name]}


def freeze(splits: dict[str, list[Conversation]], path: Path = FROZEN_SPLITS) -> None:
    """Record the ids of every split; written atomically."""
    data = {name: sorted(c.id for c in splits[name]) for name in SPLITS}
    write_bytes_atomic((json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"), path)


def _rank(conversation_id: str) -> str:
    return hashlib.sha256(f"insabot-split:{conversation_id}".encode()).hexdigest()


def assign_splits(
    conversations: Sequence[Conversation],
    validation: float = 0.05,
    test: float = 0.05,
    frozen: dict[str, str] | None = None,
) -> dict[str, list[Conversation]]:
    """Split by the frozen ids where given (`load_frozen()`), the stratified hash rule otherwise.

    Ids missing from a frozen assignment (conversations added later) are placed one by one by their
    hash value against the fractions, so a handful of additions never lands wholesale in test."""
    groups: dict[tuple[str, str], list[Conversation]] = collections.defaultdict(list)
    result: dict[str, list[Conversation]] = {name: [] for name in SPLITS}
    for conversation in conversations:
        if frozen and conversation.id in frozen:
            result[frozen[conversation.id]].append(conversation)
        elif frozen:
            point = int(_rank(conversation.id)[:8], 16) / 16**8
            name = "test" if point < test else "validation" if point < test + validation else "train"
            result[name].append(conversation)
        else:
            groups[(conversation.category, conversation.tone)].append(conversation)
    for members in groups.values():
        ordered = sorted(members, key=lambda c: _rank(c.id))
        n_test = max(1, round(len(ordered) * test)) if test else 0
        n_val = max(1, round(len(ordered) * validation)) if validation else 0
        if n_test + n_val >= len(ordered):
            n_test = n_val = 0
        result["test"] += ordered[:n_test]
        result["validation"] += ordered[n_test : n_test + n_val]
        result["train"] += ordered[n_test + n_val :]
    order = {c.id: i for i, c in enumerate(conversations)}
    return {name: sorted(items, key=lambda c: order[c.id]) for name, items in result.items()}
