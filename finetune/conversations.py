"""The conversation schema of insabot's data, and a strict reader for `messages`-shaped JSONL.

Every problem is a `DataError` naming the file and line; nothing is skipped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from insabot.chat import SYSTEM_PROMPTS, nfc
from insabot.errors import InsabotError

CORPUS_DIR = Path(__file__).parent / "corpus"
ROLES = ("system", "user", "assistant")


class DataError(InsabotError, ValueError):
    """A malformed row; the message starts with `file:line:`."""


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


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict | DataError]]:
    """(line number, object or the DataError for that line) for every non-empty line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, DataError(f"{where}: not valid UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, DataError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})")
                continue
            if not isinstance(row, dict):
                yield number, DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
                continue
            yield number, row


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-empty line; the first bad line raises with file:line."""
    for number, row in iter_jsonl(path):
        if isinstance(row, DataError):
            raise row
        yield number, row


def parse_conversation(row: dict, where: str) -> Conversation:
    for key in ("id", "category", "tone", "messages"):
        if key not in row:
            raise DataError(f"{where}: missing field {key!r}")
    if row["tone"] not in SYSTEM_PROMPTS:
        raise DataError(
            f"{where}: unknown tone {row['tone']!r} (expected one of {', '.join(SYSTEM_PROMPTS)})"
        )
    messages = row["messages"]
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{where}: 'messages' must be a non-empty list")
    clean = []
    for index, message in enumerate(messages):
        at = f"{where}: messages[{index}]"
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise DataError(f"{at}: expected an object with 'role' and 'content'")
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise DataError(f"{at}: unknown role {role!r} (expected one of {', '.join(ROLES)})")
        if not isinstance(content, str) or not content.strip():
            raise DataError(f"{at}: empty content")
        clean.append({"role": role, "content": nfc(content)})
    _check_order([m["role"] for m in clean], where)
    return Conversation(str(row["id"]), nfc(str(row["category"])), row["tone"], clean, where)


def _check_order(roles: list[str], where: str) -> None:
    """Optional system first, then user/assistant alternating, starting with user, ending with assistant."""
    body = roles[1:] if roles[0] == "system" else roles
    expected = ["user", "assistant"] * (len(body) // 2 + 1)
    for index, (got, want) in enumerate(zip(body, expected, strict=False)):
        if got != want:
            offset = index + (len(roles) - len(body))
            raise DataError(
                f"{where}: messages[{offset}] is {got!r} but {want!r} was expected (roles out of order)"
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
