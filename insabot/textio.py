"""Reading user files: the one JSONL reader, and texts from plain, CSV/TSV and JSONL files (or stdin).

Every problem is an `InputError` whose message starts with `file:line:` (bad UTF-8, bad JSON, a line
that is not an object, a missing field). Datasets, prompt files, probe sets, metrics and replies are all
read through `iter_jsonl` / `read_jsonl`; `insabot analyze` reads "a file of texts" through `read_texts`.
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


def display_name(path: str | Path) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


def iter_lines(path: str | Path) -> Iterator[tuple[int, str | InputError]]:
    """(line number, decoded line without newline, or the InputError of a line that is not UTF-8);
    `-` is standard input. A missing file raises."""
    name = display_name(path)
    handle = sys.stdin.buffer if str(path) == "-" else _open(path)
    try:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield (
                    number,
                    InputError(f"{name}:{number}: not valid UTF-8 ({exc.reason} at byte {exc.start})"),
                )
                continue
            yield number, text.removesuffix("\n").removesuffix("\r")
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, decoded line without newline); the first line that is not UTF-8 raises."""
    for number, text in iter_lines(path):
        if isinstance(text, InputError):
            raise text
        yield number, text


def read_text(path: str | Path) -> str:
    """A whole UTF-8 file; bad UTF-8 names the line."""
    with _open(path) as handle:
        data = handle.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        number = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}:{number}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None


def _open(path: str | Path):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file") from None


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict | InputError]]:
    """(line number, object or the InputError of that line) for every non-empty line: the lenient reader.
    Every JSONL file insabot reads goes through here, so every bad line reads `file:line: reason`."""
    name = display_name(path)
    for number, text in iter_lines(path):
        if isinstance(text, InputError):
            yield number, text
        elif text.strip():
            yield number, _json_object(text, f"{name}:{number}")


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-empty line; the first bad line raises with `file:line`."""
    for number, row in iter_jsonl(path):
        if isinstance(row, InputError):
            raise row
        yield number, row


def _json_object(text: str, where: str) -> dict | InputError:
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        return InputError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})")
    if not isinstance(row, dict):
        return InputError(f"{where}: expected a JSON object, got {type(row).__name__}")
    return row


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
    name = display_name(path)
    fmt = detect_format(path, fmt)
    if fmt == "text":
        rows = (
            text if isinstance(text, InputError) else TextRow(number, nfc(text))
            for number, text in iter_lines(path)
        )
    elif fmt in ("csv", "tsv"):
        rows = _table_rows(read_lines(path), name, "\t" if fmt == "tsv" else ",", column)
    else:
        rows = _jsonl_rows(iter_jsonl(path), name, field, role)
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


def _jsonl_rows(
    rows: Iterator[tuple[int, dict | InputError]], name: str, field: str, role: str | None
) -> Iterator[TextRow | InputError]:
    for number, row in rows:
        where = f"{name}:{number}"
        if isinstance(row, InputError):
            yield row
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
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    write_bytes_atomic(data, path)


def write_bytes_atomic(data: bytes, path: str | Path) -> None:
    """`data` written to a temporary file beside `path`, then renamed: never half-written."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
