"""Load conversations that researchers bring: local JSONL / JSON / CSV / Parquet files or Hub datasets,
in OpenAI `messages`, ShareGPT (`conversations` of from/value) or Alpaca (instruction/input/output) shape.

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
from insabot.finetune.conversations import Conversation, DataError, iter_jsonl, parse_conversation

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
            if isinstance(row, DataError):
                raise row
            loaded.conversations.append(normalise_row(row, where, default_tone, Path(spec).stem))
        except DataError as exc:
            if strict:
                raise
            loaded.problems.append(str(exc))
    return loaded


def normalise_row(row: dict, where: str, default_tone: str, stem: str) -> Conversation:
    """Any supported shape -> `Conversation` (validated: roles, order, empty content, tone)."""
    messages = _messages_of(row, where)
    tone = row.get("tone", default_tone)
    if tone not in SYSTEM_PROMPTS:
        raise DataError(f"{where}: unknown tone {tone!r} (expected one of {', '.join(SYSTEM_PROMPTS)})")
    if messages and isinstance(messages[0], dict) and messages[0].get("role") != "system":
        messages = [{"role": "system", "content": SYSTEM_PROMPTS[tone]}, *messages]
    number = where.rsplit(":", 1)[-1]
    return parse_conversation(
        {
            "id": row.get("id", f"{stem}-{number}"),
            "category": row.get("category", "external"),
            "tone": tone,
            "messages": messages,
        },
        where,
    )


def _messages_of(row: dict, where: str) -> list:
    if "messages" in row:
        return _maybe_json(row["messages"], where, "messages")
    if "conversations" in row:
        turns = _maybe_json(row["conversations"], where, "conversations")
        if not isinstance(turns, list):
            raise DataError(f"{where}: 'conversations' must be a list")
        messages = []
        for index, turn in enumerate(turns):
            if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
                raise DataError(
                    f"{where}: conversations[{index}]: expected an object with 'from' and 'value'"
                )
            role = SHAREGPT_ROLES.get(str(turn["from"]).lower())
            if role is None:
                raise DataError(f"{where}: conversations[{index}]: unknown speaker {turn['from']!r}")
            messages.append({"role": role, "content": turn["value"]})
        return messages
    if "instruction" in row and "output" in row:
        prompt = str(row["instruction"] or "").strip()
        if str(row.get("input") or "").strip():
            prompt = f"{prompt}\n\n{str(row['input']).strip()}"
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": row["output"]}]
        if str(row.get("system") or "").strip():
            messages.insert(0, {"role": "system", "content": row["system"]})
        return messages
    raise DataError(
        f"{where}: unknown row shape (fields: {', '.join(map(str, row))}); expected 'messages', "
        "ShareGPT 'conversations' or Alpaca 'instruction'/'output'"
    )


def _maybe_json(value: Any, where: str, name: str) -> Any:
    if isinstance(value, str):  # CSV and Parquet cells hold lists as JSON text
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: {name!r} is text but not valid JSON ({exc.msg})") from None
    return list(value) if hasattr(value, "tolist") else value


def _rows(spec: str, split: str) -> Iterator[tuple[str, dict | DataError]]:
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


def _file_rows(path: Path) -> Iterator[tuple[str, dict | DataError]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        for number, row in iter_jsonl(path):
            yield f"{path}:{number}", row
    elif suffix == ".json":
        rows = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rows, list):
            raise DataError(f"{path}: a .json dataset must be a list of rows")
        for index, row in enumerate(rows, start=1):
            yield (
                f"{path}:row {index}",
                row if isinstance(row, dict) else DataError(f"{path}:row {index}: not an object"),
            )
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            previous = reader.line_num
            for row in reader:
                number, previous = previous + 1, reader.line_num
                yield f"{path}:{number}", dict(row)
    elif suffix == ".parquet":
        from datasets import Dataset

        for index, row in enumerate(Dataset.from_parquet(str(path)), start=1):
            yield f"{path}:row {index}", row
    else:
        raise DataError(f"{path}: unsupported file type {suffix!r} (use .jsonl, .json, .csv or .parquet)")


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
