"""Load conversations that researchers bring: local JSONL / JSON / CSV / Parquet files or Hub datasets,
in OpenAI `messages`, ShareGPT (`conversations` of from/value) or Alpaca (instruction/input/output) shape.

The one data path: `insabot data check`, `data split` and `train` all load through `load_source`.
Everything becomes the one `Conversation` schema. Rows without a system prompt get the persona prompt
of their tone (default 반말), so outside data trains the same persona. Strict mode stops at the first
bad row; lenient mode skips bad rows and returns each problem — nothing is dropped silently.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from insabot.chat import SYSTEM_PROMPTS
from insabot.finetune.conversations import Conversation, DataError, parse_conversation, tone_of
from insabot.textio import InputError, iter_jsonl, read_lines, read_text

SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "system": "system",
}


@dataclass
class Loaded:
    conversations: list[Conversation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """One `file:line: reason` per skipped row (lenient mode)."""


def load_source(
    spec: str, *, strict: bool = True, split: str = "train", default_tone: str = "banmal"
) -> Loaded:
    """Conversations from a local file/directory or a Hub dataset id."""
    loaded = Loaded()
    for where, row in _rows(spec, split):
        try:
            if isinstance(row, InputError):
                raise row
            loaded.conversations.append(normalise_row(row, where, default_tone, Path(spec).stem))
        except InputError as exc:  # DataError included
            if strict:
                raise
            loaded.problems.append(str(exc))
    return loaded


def require_conversations(loaded: Loaded, spec: str) -> list[Conversation]:
    """The loaded conversations, or a DataError when there are none (an empty file, or every row
    skipped in lenient mode): nothing downstream can use an empty dataset."""
    if loaded.conversations:
        return loaded.conversations
    skipped = f": all {len(loaded.problems)} rows were skipped" if loaded.problems else ""
    raise DataError(f"no conversations in {spec}{skipped}")


def normalise_row(row: dict, where: str, default_tone: str, stem: str) -> Conversation:
    """Any supported shape -> `Conversation` (validated: roles, order, empty content, tone). Problems
    name the messages as the row has them (`conversations[0]`, `'output'`), whatever was converted or
    inserted."""
    messages, names = _messages_of(row, where)
    tone = tone_of(row.get("tone", default_tone), where)
    if messages and isinstance(messages[0], dict) and messages[0].get("role") != "system":
        messages = [{"role": "system", "content": SYSTEM_PROMPTS[tone]}, *messages]
        names = ["the persona system prompt", *names]
    number = where.rsplit(":", 1)[-1]
    return parse_conversation(
        {
            "id": row.get("id", f"{stem}-{number}"),
            "category": row.get("category", "external"),
            "tone": tone,
            "messages": messages,
        },
        where,
        names,
    )


def _messages_of(row: dict, where: str) -> tuple[Any, list[str]]:
    """The row's turns as `messages`, and what each is called in the row."""
    if "messages" in row:
        messages = _maybe_json(row["messages"], where, "messages")
        count = len(messages) if isinstance(messages, list) else 0
        return messages, [f"messages[{index}]" for index in range(count)]
    if "conversations" in row:
        return _sharegpt_messages(_maybe_json(row["conversations"], where, "conversations"), where)
    if "instruction" in row and "output" in row:
        return _alpaca_messages(row)
    raise DataError(
        f"{where}: unknown row shape (fields: {', '.join(map(str, row))}); expected 'messages', "
        "ShareGPT 'conversations' or Alpaca 'instruction'/'output'"
    )


def _sharegpt_messages(turns: Any, where: str) -> tuple[list, list[str]]:
    if not isinstance(turns, list):
        raise DataError(f"{where}: 'conversations' must be a list")
    messages = []
    for index, turn in enumerate(turns):
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            raise DataError(f"{where}: conversations[{index}]: expected an object with 'from' and 'value'")
        role = SHAREGPT_ROLES.get(str(turn["from"]).lower())
        if role is None:
            raise DataError(f"{where}: conversations[{index}]: unknown speaker {turn['from']!r}")
        messages.append({"role": role, "content": turn["value"]})
    return messages, [f"conversations[{index}]" for index in range(len(turns))]


def _alpaca_messages(row: dict) -> tuple[list, list[str]]:
    prompt = str(row["instruction"] or "").strip()
    if str(row.get("input") or "").strip():
        prompt = f"{prompt}\n\n{str(row['input']).strip()}"
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": row["output"]}]
    names = ["'instruction'", "'output'"]
    if str(row.get("system") or "").strip():
        return [{"role": "system", "content": row["system"]}, *messages], ["'system'", *names]
    return messages, names


def _maybe_json(value: Any, where: str, name: str) -> Any:
    if isinstance(value, str):  # CSV and Parquet cells hold lists as JSON text
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: {name!r} is text but not valid JSON ({exc.msg})") from None
    return list(value) if hasattr(value, "tolist") else value


def _rows(spec: str, split: str) -> Iterator[tuple[str, dict | InputError]]:
    path = Path(spec)
    if path.is_dir():
        for child in sorted(path.glob("*.jsonl")):
            yield from _file_rows(child)
    elif path.exists():
        yield from _file_rows(path)
    elif spec.endswith((".jsonl", ".json", ".csv", ".parquet")) or spec.startswith((".", "/")):
        raise DataError(f"{spec}: file not found")
    else:
        yield from _hub_rows(spec, split)


def _file_rows(path: Path) -> Iterator[tuple[str, dict | InputError]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl_rows(path)
    elif suffix == ".json":
        yield from _json_rows(path)
    elif suffix == ".csv":
        yield from _csv_rows(path)
    elif suffix == ".parquet":
        from datasets import Dataset

        for index, row in enumerate(Dataset.from_parquet(str(path)), start=1):
            yield f"{path}:row {index}", row
    else:
        raise DataError(f"{path}: unsupported file type {suffix!r} (use .jsonl, .json, .csv or .parquet)")


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict | InputError]]:
    for number, row in iter_jsonl(path):
        yield f"{path}:{number}", row


def _json_rows(path: Path) -> Iterator[tuple[str, dict | InputError]]:
    """A JSON list of rows (what the web chat's "대화 JSON 내려받기" writes) or one row object; a `.json`
    file holding JSON Lines (as Hugging Face `datasets` also accepts) is read as JSONL."""
    text = read_text(path)
    if not text.strip():
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # a complete first value, then more: JSON Lines
            yield from _jsonl_rows(path)
            return
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise DataError(f"{path}: a .json dataset must be a list of rows or one row object")
    for index, row in enumerate(data, start=1):
        where = f"{path}:row {index}"
        yield where, row if isinstance(row, dict) else DataError(f"{where}: not an object")


def _csv_rows(path: Path) -> Iterator[tuple[str, dict]]:
    reader = csv.DictReader(text + "\n" for _, text in read_lines(path))
    previous = reader.line_num
    for row in reader:
        number, previous = previous + 1, reader.line_num  # a quoted record may span several lines
        yield f"{path}:{number}", dict(row)


def _hub_rows(dataset_id: str, split: str) -> Iterator[tuple[str, dict]]:
    from datasets import load_dataset

    try:
        dataset = load_dataset(dataset_id, split=split)
    except Exception as exc:  # datasets raises many types for "not found / offline"
        raise DataError(
            f"{dataset_id}: not a local file and cannot be loaded from the Hub ({type(exc).__name__}: {exc}); "
            "offline machines need a local copy"
        ) from None
    for index, row in enumerate(dataset, start=1):
        yield f"{dataset_id}[{split}]:row {index}", row
