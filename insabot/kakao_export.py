"""Parse a KakaoTalk "대화 내보내기" text export into messages: the file format, nothing about training.

The data importer (`insabot data kakao`, insabot.finetune.kakao) and the web chat's reply drafts (which read
pasted export lines) both build on it. Two export layouts are understood, detected from the file itself:

* PC (Windows/Mac): a header, date separators ``--------------- 2026년 11월 20일 금요일 ---------------``
  and messages ``[민지] [오후 9:03] 오늘 성수 갈래?`` (the date comes from the last separator).
* Mobile (Android/iOS): date lines ``2026년 11월 20일 금요일`` or ``2026년 11월 20일 오후 9:03`` and messages
  ``2026년 11월 20일 오후 9:03, 민지 : 오늘 성수 갈래?`` or ``2026. 11. 20. 오후 9:03, 민지 : ...``.

A line without a header continues the previous message. System notices (joins, leaves, invitations, hidden
messages) and media placeholders (사진, 이모티콘, 파일: ..., 삭제된 메시지입니다.) are dropped: they are
not text anyone wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from insabot.chat import nfc
from insabot.errors import InsabotError


@dataclass(frozen=True)
class KakaoMessage:
    line: int
    """1-based line of the message header in the file."""
    time: datetime | None
    """None for a PC-export message that comes before any date separator."""
    sender: str
    text: str


class KakaoFormatError(InsabotError, ValueError):
    """A line that cannot be understood (the message starts with `file:line:`), or a missing participant."""


# --- line patterns ---------------------------------------------------------------------------------------

_WEEKDAY = r"[월화수목금토일]요일"
_KOREAN_DATE = r"(?P<y>\d{4})년\s*(?P<mo>\d{1,2})월\s*(?P<d>\d{1,2})일"
_DOTTED_DATE = r"(?P<y2>\d{4})\.\s*(?P<mo2>\d{1,2})\.\s*(?P<d2>\d{1,2})\."
_CLOCK = r"(?:(?P<ampm>오전|오후)\s*)?(?P<h>\d{1,2}):(?P<mi>\d{2})"

_HEADER_TITLE = re.compile(r"^.*님과 카카오톡 대화$")
_HEADER_SAVED = re.compile(r"^저장한 날짜\s*:.*$")

_PC_DATE = re.compile(rf"^-+\s*{_KOREAN_DATE}(?:\s*{_WEEKDAY})?\s*-+$")
# The name is matched lazily but must be followed by "] [오전/오후 H:MM] ", so a name with brackets
# ("[박 준호 [회사]]") and a text with brackets or " : " both parse.
_PC_MESSAGE = re.compile(
    r"^\[(?P<sender>.+?)\] \[(?P<ampm>오전|오후)\s*(?P<h>\d{1,2}):(?P<mi>\d{2})\](?: (?P<text>.*))?$"
)

_MOBILE_DATE = re.compile(rf"^(?:{_KOREAN_DATE}|{_DOTTED_DATE})\s*(?:{_WEEKDAY}|{_CLOCK})$")
_MOBILE_STAMP = re.compile(rf"^(?:{_KOREAN_DATE}|{_DOTTED_DATE})\s*{_CLOCK},\s?(?P<rest>.*)$")
_MOBILE_SENDER = re.compile(r"^(?P<sender>.+?) :(?: (?P<text>.*))?$")

_SYSTEM = [
    re.compile(p)
    for p in (
        r"^.+님이 들어왔습니다\.?$",
        r"^.+님이 나갔습니다\.?$",
        r"^.+님(?:이|을) .*초대했습니다\.?$",
        r"^.+님을 내보냈습니다\.?$",
        r"^.+(?:이|가) 메시지를 가렸습니다\.?$",
        r"^.+님이 (?:부?방장|채팅방 관리자)(?:이|가|으로|로) .*되었습니다\.?$",
        r"^.+님(?:이|께서) .*(?:방장|관리자).*(?:되었습니다|변경되었습니다|해제되었습니다)\.?$",
        r"^채팅방 관리자가 .+\.?$",
        r"^.+님이 채팅방을 나갔습니다\.?$",
    )
]

_PLACEHOLDER = re.compile(
    r"^(?:사진(?: \d+장)?|동영상|이모티콘|\(이모티콘\)|음성메시지|삭제된 메시지입니다\.?|"
    r"파일\s*:.*|지도\s*:.*|연락처\s*:.*|(?:보이스톡|페이스톡|라이브톡)(?: .*)?|"
    r"통화시간 \d{1,2}:\d{2}(?::\d{2})?)$"
)


def is_system_line(line: str) -> bool:
    return any(p.match(line) for p in _SYSTEM)


def is_placeholder(text: str) -> bool:
    """Media and deletion placeholders the export writes instead of content."""
    return bool(_PLACEHOLDER.match(text.strip()))


# --- parsing ---------------------------------------------------------------------------------------------


def parse_export(path: Path) -> list[KakaoMessage]:
    """Messages of a KakaoTalk text export (PC or mobile layout, detected), in file order.

    UTF-8 with or without BOM; CRLF or LF. Text is NFC-normalised. System notices and media placeholders
    are dropped. A line that cannot be understood raises `KakaoFormatError` naming `file:line`.
    """
    path = Path(path)
    return parse_export_lines(_read_lines(path), str(path))


def parse_export_lines(lines: list[str], source: str) -> list[KakaoMessage]:
    """`parse_export` on lines already read (a pasted snippet, say); `source` names them in errors."""
    lines = [nfc(line.rstrip("\r").rstrip()) for line in lines]
    layout = _detect_layout(source, lines)
    if layout is None:
        return []
    parse_line = _parse_pc_line if layout == "pc" else _parse_mobile_line

    messages: list[KakaoMessage] = []
    pending: tuple[int, datetime | None, str, list[str]] | None = None
    day: date | None = None

    def flush() -> None:
        if pending is not None:
            message = _finish(*pending)
            if message is not None:
                messages.append(message)

    for number, line in enumerate(lines, start=1):
        where = f"{source}:{number}"
        kind, value = parse_line(line, day, where)
        if kind == "message":
            flush()
            time, sender, first = value
            pending = (number, time, sender, [first])
        elif kind == "date":
            day = value
        elif kind == "skip":
            continue
        elif pending is not None:  # a continuation line (or an empty line inside a message)
            pending[3].append(line)
        elif line.strip() and not (number <= 3 and (_HEADER_TITLE.match(line) or _HEADER_SAVED.match(line))):
            raise KakaoFormatError(
                f"{where}: cannot understand this line before the first message "
                f"(expected a {layout} message, a date line or a system notice): {line[:80]!r}"
            )
    flush()
    return messages


def _read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        number = data.count(b"\n", 0, exc.start) + 1
        raise KakaoFormatError(
            f"{path}:{number}: not valid UTF-8 ({exc.reason} at byte {exc.start}); "
            "export the chat again or convert the file to UTF-8"
        ) from None
    # Split on "\n" only (not str.splitlines, which also breaks on U+2028 etc.) so numbers match editors.
    return text.split("\n")


def _detect_layout(source: str, lines: list[str]) -> str | None:
    pc = sum(1 for line in lines if _PC_MESSAGE.match(line) or _PC_DATE.match(line))
    mobile = sum(1 for line in lines if _MOBILE_STAMP.match(line) or _MOBILE_DATE.match(line))
    if pc or mobile:
        return "pc" if pc > mobile else "mobile"
    first = next(((n, line) for n, line in enumerate(lines, start=1) if line.strip()), None)
    if first is None or _HEADER_TITLE.match(first[1]):
        return None  # an empty export: a header, no messages
    raise KakaoFormatError(
        f"{source}:{first[0]}: not a KakaoTalk text export (no '[이름] [오후 9:03] ...' or "
        f"'2026년 11월 20일 오후 9:03, 이름 : ...' lines found): {first[1][:80]!r}"
    )


def _finish(line: int, time: datetime | None, sender: str, parts: list[str]) -> KakaoMessage | None:
    lines = list(parts)
    # An emoticon sent with a caption exports as "이모티콘" then the caption.
    if len(lines) > 1 and lines[0].strip() in ("이모티콘", "(이모티콘)"):
        lines = lines[1:]
    text = "\n".join(lines).strip()
    if not text or is_placeholder(text):
        return None
    return KakaoMessage(line=line, time=time, sender=sender.strip(), text=text)


def _clock(ampm: str | None, hour: str, minute: str, where: str) -> tuple[int, int]:
    h, m = int(hour), int(minute)
    if ampm is None:
        ok = 0 <= h <= 23
    else:
        ok = 0 <= h <= 12
        if ampm == "오전" and h == 12:
            h = 0  # 오전 12:05 is five past midnight
        elif ampm == "오후" and h != 12:
            h += 12  # 오후 12:05 is five past noon
    if not ok or not 0 <= m <= 59:
        raise KakaoFormatError(f"{where}: impossible time {(ampm + ' ') if ampm else ''}{hour}:{minute}")
    return h, m


def _date(match: re.Match, where: str) -> date:
    y = match.group("y") or match.group("y2")
    mo = match.group("mo") or match.group("mo2")
    d = match.group("d") or match.group("d2")
    try:
        return date(int(y), int(mo), int(d))
    except ValueError:
        raise KakaoFormatError(f"{where}: impossible date {y}-{mo}-{d}") from None


def _parse_pc_line(line: str, day: date | None, where: str):
    if match := _PC_MESSAGE.match(line):
        h, m = _clock(match.group("ampm"), match.group("h"), match.group("mi"), where)
        time = datetime(day.year, day.month, day.day, h, m) if day else None
        return "message", (time, match.group("sender"), match.group("text") or "")
    if match := _PC_DATE.match(line):
        return "date", _date(match, where)
    if is_system_line(line):
        return "skip", None
    return "text", None


def _parse_mobile_line(line: str, day: date | None, where: str):
    if match := _MOBILE_STAMP.match(line):
        h, m = _clock(match.group("ampm"), match.group("h"), match.group("mi"), where)
        d = _date(match, where)
        said = _MOBILE_SENDER.match(match.group("rest"))
        if said is None:
            return "skip", None  # "2026년 11월 20일 오후 9:05, 민지님이 들어왔습니다." and other notices
        return "message", (
            datetime(d.year, d.month, d.day, h, m),
            said.group("sender"),
            said.group("text") or "",
        )
    if match := _MOBILE_DATE.match(line):
        if match.group("h") is not None:
            _clock(match.group("ampm"), match.group("h"), match.group("mi"), where)
        return "date", _date(match, where)
    if is_system_line(line):
        return "skip", None
    return "text", None
