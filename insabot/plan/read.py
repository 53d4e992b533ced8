"""The messages `insabot plan` reads: plain lines (one message each, all at `now`) or a KakaoTalk export (each
message at its own timestamp, sent by its export name), told apart by the text itself."""

from __future__ import annotations

import re
from datetime import datetime

from insabot.chat import nfc
from insabot.kakao_export import (
    _HEADER_SAVED,
    _HEADER_TITLE,
    _MOBILE_DATE,
    _MOBILE_STAMP,
    _PC_DATE,
    _PC_MESSAGE,
    KakaoFormatError,
    is_system_line,
    parse_export_lines,
)
from insabot.plan.events import Message
from insabot.plan.when import SEOUL

# "이름: 메시지"; a name starts with no digit, so "12:30에 보자" is not a line of someone called 12
_NAMED_LINE = re.compile(r"^(?P<sender>[^\d:：\s][^:：]{0,19}?)\s*[:：]\s*(?P<text>.+)$")


def looks_like_export(lines: list[str]) -> bool:
    """A KakaoTalk export announces itself: its header, or message and date lines in its layouts."""
    for line in (line.strip() for line in lines[:200]):
        if _HEADER_TITLE.match(line) or _HEADER_SAVED.match(line) or _PC_DATE.match(line):
            return True
        if _PC_MESSAGE.match(line) or _MOBILE_STAMP.match(line):
            return True
    return False


def read_messages(text: str, source: str, now: datetime) -> list[Message]:
    """The messages of `text`. An export is parsed by `insabot.kakao_export` (a line it cannot understand is a
    `KakaoFormatError` naming `source:line`); otherwise every non-empty line is one message at `now`, and when
    every line is "이름: 메시지" the names are the senders."""
    lines = nfc(text).split("\n")
    now = now.replace(tzinfo=SEOUL) if now.tzinfo is None else now.astimezone(SEOUL)
    if looks_like_export(lines):
        messages = parse_export_lines(lines, source)
        if not messages:
            _no_messages(lines, source)
        return [
            # a PC-export message before any date line has no date of its own: it is read at `now`
            Message(m.line, m.text, m.time.replace(tzinfo=SEOUL) if m.time else now, m.sender)
            for m in messages
        ]
    numbered = [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()]
    named = [_NAMED_LINE.match(line) for _, line in numbered]
    if len(numbered) >= 2 and all(named):
        # a pasted transcript ("민지: 토요일에 성수 갈 사람?" on every line): the names are its senders
        return [
            Message(n, m["text"], now, m["sender"].strip()) for (n, _), m in zip(numbered, named, strict=True)
        ]
    return [Message(number, line, now) for number, line in numbered]


def _no_messages(lines: list[str], source: str) -> None:
    """An export header over lines in no layout the parser knows would read as an empty chat: name the first
    such line instead, so a new export format is an error and not silently no plans."""
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if line and not (_HEADER_TITLE.match(line) or _HEADER_SAVED.match(line) or _PC_DATE.match(line)):
            if is_system_line(line) or _MOBILE_DATE.match(line):
                continue
            raise KakaoFormatError(
                f"{source}:{number}: a KakaoTalk export header, but this line is in no export layout insabot "
                f"knows ('[이름] [오후 9:03] …' or '2026년 11월 20일 오후 9:03, 이름 : …'): {line[:80]!r}"
            )
