"""The conversation schema of insabot's data, and the strict reader of the bundled corpus's shards.

Every problem is a `DataError` naming the file and line; nothing is skipped silently. Outside data in
other shapes comes in through `finetune/sources.py`, which ends in `parse_conversation` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from insabot.chat import canonical_tone, nfc, unknown_tone_message
from insabot.textio import InputError, read_jsonl

CORPUS_DIR = Path(__file__).parent / "corpus"
ROLES = ("system", "user", "assistant")


class DataError(InputError):
    """A readable row that is not a valid conversation; the message starts with `file:line:`."""


@dataclass(frozen=True)
class Conversation:
    id: str
    category: str
    tone: str
    messages: list[dict[str, str]]
    source: str
    """`file:line` the conversation was read from."""

    def turns(self, role: str) -> list[str]:
        return [m["content"] for m in self.messages if m["role"] == role]


def tone_of(name: object, where: str) -> str:
    """The stable tone label of a row's tone name (`반말`, `polite`... see `insabot.chat.TONE_ALIASES`)."""
    tone = canonical_tone(name)
    if tone is None:
        raise DataError(f"{where}: {unknown_tone_message(name)}")
    return tone


def parse_conversation(row: dict, where: str, names: Sequence[str] = ()) -> Conversation:
    """A validated `Conversation`. `names[i]` is what message i is called in the user's file (default
    `messages[i]`), so a row whose messages were converted or given a system prompt is still reported
    as the user wrote it."""
    for key in ("id", "category", "tone", "messages"):
        if key not in row:
            raise DataError(f"{where}: missing field {key!r}")
    tone = tone_of(row["tone"], where)
    messages = row["messages"]
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{where}: 'messages' must be a non-empty list")
    names = list(names) or [f"messages[{index}]" for index in range(len(messages))]
    clean = []
    for index, message in enumerate(messages):
        at = f"{where}: {names[index]}"
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise DataError(f"{at}: expected an object with 'role' and 'content'")
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise DataError(f"{at}: unknown role {role!r} (expected one of {', '.join(ROLES)})")
        if not isinstance(content, str) or not content.strip():
            raise DataError(f"{at}: empty content")
        clean.append({"role": role, "content": nfc(content)})
    _check_order([m["role"] for m in clean], where, names)
    return Conversation(str(row["id"]), nfc(str(row["category"])), tone, clean, where)


def _check_order(roles: list[str], where: str, names: list[str]) -> None:
    """Optional system first, then user/assistant alternating, starting with user, ending with assistant."""
    body = roles[1:] if roles[0] == "system" else roles
    expected = ["user", "assistant"] * (len(body) // 2 + 1)
    for index, (got, want) in enumerate(zip(body, expected, strict=False)):
        if got != want:
            offset = index + (len(roles) - len(body))
            raise DataError(
                f"{where}: {names[offset]} is {got!r} but {want!r} was expected (roles out of order)"
            )
    if not body or body[-1] != "assistant":
        raise DataError(f"{where}: the conversation must end with an assistant turn")


def read_conversations(path: Path) -> list[Conversation]:
    return [parse_conversation(row, f"{path}:{number}") for number, row in read_jsonl(path)]


def load_corpus(directory: Path = CORPUS_DIR) -> list[Conversation]:
    """The bundled dataset: every shard in `finetune/corpus/`, in file then line order."""
    conversations = []
    for path in sorted(directory.glob("*.jsonl")):
        conversations += read_conversations(path)
    return conversations
