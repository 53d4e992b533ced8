"""Reading texts from plain, CSV/TSV and JSONL files (or stdin), with errors that name the line.

Shared by the command-line tools that take "a file of texts" (`insabot analyze`, later `generate`).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from insabot.chat import message_text, nfc
from insabot.errors import InsabotError

Format = Literal["auto", "text", "csv", "tsv", "jsonl"]
FORMATS: tuple[str, ...] = ("auto", "text", "csv", "tsv", "jsonl")


class InputError(InsabotError, ValueError):
    """A row that cannot be read; the message starts with `file:line:`."""


@dataclass(frozen=True)
class TextRow:
    line: int
    text: str
    turn: int | None = None
    """Index into `messages` when the row came from a messages-shaped JSONL row."""


def detect_format(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffix = Path(path).suffix.lower()
    return {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}.get(suffix, "text")


def read_lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, decoded line without newline); `-` is standard input. Bad UTF-8 names the line."""
    name = "<stdin>" if path == "-" else path
    handle = sys.stdin.buffer if path == "-" else _open(path)
    try:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{name}:{number}: not valid UTF-8 ({exc.reason} at byte {exc.start})"
                ) from None
            yield number, text.removesuffix("\n").removesuffix("\r")
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def _open(path: str):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None


def read_texts(
    path: str,
    fmt: str = "auto",
    *,
    column: str = "text",
    field: str = "text",
    role: str | None = None,
    on_error: Callable[[InputError], None] | None = None,
) -> Iterator[TextRow]:
    """Texts in input order. With `on_error`, bad rows are reported to it and skipped (lenient);
    without it the first bad row raises."""
    name = "<stdin>" if path == "-" else path
    fmt = detect_format(path, fmt)
    lines = read_lines(path)
    if fmt == "text":
        rows = (TextRow(number, nfc(text)) for number, text in lines)
    elif fmt in ("csv", "tsv"):
        rows = _table_rows(lines, name, "\t" if fmt == "tsv" else ",", column)
    else:
        rows = _jsonl_rows(lines, name, field, role)
    yield from _guard(rows, on_error)


def _guard(rows: Iterator[TextRow | InputError], on_error) -> Iterator[TextRow]:
    for row in rows:
        if isinstance(row, InputError):
            if on_error is None:
                raise row
            on_error(row)
        else:
            yield row


def _table_rows(lines, name: str, delimiter: str, column: str) -> Iterator[TextRow | InputError]:
    reader = csv.reader((text + "\n" for _, text in lines), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    if column not in header:
        yield InputError(
            f"{name}:1: no column {column!r} (columns: {', '.join(header)}); choose one with --column"
        )
        return
    index = header.index(column)
    previous = reader.line_num
    for record in reader:
        number, previous = previous + 1, reader.line_num  # a quoted record may span several lines
        if not record:
            continue
        if index >= len(record):
            yield InputError(
                f"{name}:{number}: row has {len(record)} fields, column {column!r} is field {index + 1}"
            )
            continue
        yield TextRow(number, nfc(record[index]))


def _jsonl_rows(lines, name: str, field: str, role: str | None) -> Iterator[TextRow | InputError]:
    for number, text in lines:
        if not text.strip():
            continue
        where = f"{name}:{number}"
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            yield InputError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})")
            continue
        if not isinstance(row, dict):
            yield InputError(f"{where}: expected a JSON object, got {type(row).__name__}")
        elif role is not None:
            messages = row.get("messages")
            if not isinstance(messages, list):
                yield InputError(f"{where}: --role {role} needs a 'messages' list in every row")
                continue
            for turn, message in enumerate(messages):
                if isinstance(message, dict) and message.get("role") == role:
                    yield TextRow(number, nfc(message_text(message.get("content"))), turn)
        elif field not in row:
            yield InputError(
                f"{where}: no field {field!r} (fields: {', '.join(row)}); choose one with --field"
            )
        elif not isinstance(row[field], str):
            yield InputError(f"{where}: field {field!r} is {type(row[field]).__name__}, not text")
        else:
            yield TextRow(number, nfc(row[field]))


def write_jsonl_atomic(rows: list[dict], path: str | Path) -> None:
    """UTF-8 JSONL written to a temporary file beside `path`, then renamed: never half-written."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
