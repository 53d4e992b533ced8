"""Import a KakaoTalk "대화 내보내기" text export as training conversations, with one participant as the bot.

Two export layouts are understood, detected from the file itself:

* PC (Windows/Mac): a header, date separators ``--------------- 2026년 11월 20일 금요일 ---------------``
  and messages ``[민지] [오후 9:03] 오늘 성수 갈래?`` (the date comes from the last separator).
* Mobile (Android/iOS): date lines ``2026년 11월 20일 금요일`` or ``2026년 11월 20일 오후 9:03`` and messages
  ``2026년 11월 20일 오후 9:03, 민지 : 오늘 성수 갈래?`` or ``2026. 11. 20. 오후 9:03, 민지 : ...``.

A line without a header continues the previous message. System notices (joins, leaves, invitations, hidden
messages) and media placeholders (사진, 이모티콘, 파일: ..., 삭제된 메시지입니다.) are dropped: they are
not text the model should learn. Everything `to_conversations` returns has names and PII scrubbed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from insabot.chat import SYSTEM_PROMPTS, nfc
from insabot.finetune.conversations import DataError
from insabot.textio import write_jsonl_atomic as write_jsonl  # noqa: F401 - the importer's writer, re-exported

CATEGORY = "카톡 내보내기"
ME_PLACEHOLDER = "<나>"
PII_PLACEHOLDERS = ("<전화번호>", "<이메일>", "<링크>", "<계좌번호>")


@dataclass(frozen=True)
class KakaoMessage:
    line: int
    """1-based line of the message header in the file."""
    time: datetime | None
    """None for a PC-export message that comes before any date separator."""
    sender: str
    text: str


class KakaoFormatError(DataError):
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


# --- scrubbing -------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
_URL = re.compile(
    rf"(?:https?://|www\.){_URL_CHARS}+"
    rf"|(?<![A-Za-z0-9.\-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|net|org|kr|me|io|ly|gl|co|app|link|shop)"
    rf"(?![A-Za-z0-9\-])(?:/{_URL_CHARS}*)?",
    re.IGNORECASE,
)
_SEP = r"[-. ]?"
_PHONE = re.compile(
    r"(?<![\d+])(?:"
    rf"(?:\+\s?82{_SEP}0?|0)(?:1[016789]|2|[3-6][1-5]|70|50\d){_SEP}\d{{3,4}}{_SEP}\d{{4}}"
    r"|1[5-9]\d{2}-\d{4}"  # 1588-1234 style service numbers
    r")(?!\d)"
)
# Ten or more digits, optionally grouped with single dashes or spaces: bank accounts, card numbers.
_ACCOUNT = re.compile(r"(?<!\d)\d(?:[- ]?\d){9,}(?!\d)")
_URL_TRAILING = ".,!?;:)]'"


def _scrub_url(match: re.Match) -> str:
    url = match.group(0)
    trimmed = url.rstrip(_URL_TRAILING)
    return "<링크>" + url[len(trimmed) :]


def scrub_pii(text: str, names: Mapping[str, str]) -> str:
    """Replace phone numbers, e-mails, URLs and account/card numbers with placeholders, then every name in
    `names` with its placeholder. Placeholders already in the text are never rewritten."""
    text = _EMAIL.sub("<이메일>", text)
    text = _URL.sub(_scrub_url, text)
    text = _PHONE.sub("<전화번호>", text)
    text = _ACCOUNT.sub("<계좌번호>", text)
    names = {nfc(name): placeholder for name, placeholder in names.items() if name}
    if not names:
        return text
    keep = {*PII_PLACEHOLDERS, *names.values()}
    alternatives = [re.escape(p) for p in sorted(keep, key=len, reverse=True)]
    alternatives += [re.escape(n) for n in sorted(names, key=len, reverse=True)]
    pattern = re.compile("|".join(alternatives))
    return pattern.sub(
        lambda m: names.get(m.group(0), m.group(0)) if m.group(0) not in keep else m.group(0), text
    )


_BRACKETED = re.compile(r"\s*[\[(（【<][^\])）】>]*[\])）】>]\s*")
_HANGUL_NAME = re.compile(r"^[가-힣]{3}$")
# Words people put next to a name in a display name ("김서연 선배"); alone they are not the person's name.
_TITLE_WORDS = (
    "선배 선배님 후배 동기 친구 팀장 팀장님 과장 과장님 대리 부장 부장님 사장님 선생님 쌤 교수님 "
    "언니 오빠 누나 형 동생 엄마 아빠 회사 학교 동아리"
)
_TITLES = frozenset(_TITLE_WORDS.split())


def name_variants(name: str) -> list[str]:
    """The forms a display name is likely to appear in inside messages: the full name, the name without
    a bracketed tag ("박 준호 [회사]" -> "박 준호"), its space-free form, its parts, and the given name of a
    three-syllable Korean name ("김민지" -> "민지"). One-character forms are left out: scrubbing every
    "나" or "김" would wreck the text."""
    base = _BRACKETED.sub(" ", name).strip()
    parts = [part for part in base.split() if part not in _TITLES]
    forms = [name, base, base.replace(" ", ""), "".join(parts), *parts]
    forms += [form[1:] for form in forms if _HANGUL_NAME.match(form)]
    seen: list[str] = []
    for form in forms:
        if len(form) >= 2 and form not in seen:
            seen.append(form)
    return seen


def participant_placeholders(senders: Iterable[str], me: str) -> dict[str, str]:
    """name form -> placeholder: `me` is <나>, others <사람1>, <사람2>, ... in order of first appearance.
    Full names win over shorter forms that two people share; one-character names are not scrubbed in text."""
    order: list[str] = []
    for sender in senders:
        if sender != me and sender not in order:
            order.append(sender)
    people = {me: ME_PLACEHOLDER} | {name: f"<사람{i}>" for i, name in enumerate(order, start=1)}
    mapping: dict[str, str] = {}
    for name, placeholder in people.items():
        if len(name) >= 2:
            mapping[name] = placeholder
    for name, placeholder in people.items():
        for form in name_variants(name):
            mapping.setdefault(form, placeholder)
    return mapping


# --- conversations ---------------------------------------------------------------------------------------


def detect_tone(texts: list[str]) -> str:
    """'jondaetmal' if most of the texts that carry a speech level are polite (match 존댓말, not 반말)."""
    from insabot.eval.analyze import analyze
    from insabot.eval.speech_level import tone_ok

    polite = casual = 0
    for analysis in analyze(texts):
        keeps_jondaetmal = tone_ok(analysis.sentences, "jondaetmal")
        if keeps_jondaetmal is None:  # ㅋㅋ, 넵, 헐: no level either way
            continue
        if keeps_jondaetmal:
            polite += 1
        else:  # 반말, 음슴체 or a mix
            casual += 1
    return "jondaetmal" if polite > casual else "banmal"


def to_conversations(
    messages: list[KakaoMessage],
    me: str,
    *,
    tone: str | None = None,
    session_gap_minutes: int = 60,
    max_user_turns: int = 4,
) -> list[dict]:
    """Training rows from parsed messages, with `me` as the assistant. See the module docstring."""
    if max_user_turns < 1:
        raise ValueError(f"max_user_turns must be at least 1, got {max_user_turns}")
    if session_gap_minutes < 0:
        raise ValueError(f"session_gap_minutes must not be negative, got {session_gap_minutes}")
    if tone is not None and tone not in SYSTEM_PROMPTS:
        raise ValueError(f"unknown tone {tone!r}; choose one of {', '.join(SYSTEM_PROMPTS)}")
    me = nfc(me).strip()
    mine = [m.text for m in messages if m.sender == me]
    if not mine:
        found = list(dict.fromkeys(m.sender for m in messages))
        raise KakaoFormatError(
            f"{me!r} never speaks in this chat; participants found: {', '.join(found) if found else '(none)'}"
        )
    if tone is None:
        tone = detect_tone(mine)
    names = participant_placeholders((m.sender for m in messages), me)

    rows: list[dict] = []
    for session in _sessions(messages, timedelta(minutes=session_gap_minutes)):
        turns = _turns(session, me, names)
        while turns and turns[0]["role"] == "assistant":
            turns.pop(0)
        while turns and turns[-1]["role"] == "user":
            turns.pop()
        step = 2 * max_user_turns
        for start in range(0, len(turns), step):
            rows.append(
                {
                    "id": f"kakao-{len(rows) + 1:04d}",
                    "category": CATEGORY,
                    "tone": tone,
                    "messages": [
                        {"role": "system", "content": SYSTEM_PROMPTS[tone]},
                        *turns[start : start + step],
                    ],
                }
            )
    return rows


def _sessions(messages: list[KakaoMessage], gap: timedelta) -> list[list[KakaoMessage]]:
    sessions: list[list[KakaoMessage]] = []
    previous: KakaoMessage | None = None
    for message in messages:
        split = previous is None or (
            previous.time is not None and message.time is not None and message.time - previous.time > gap
        )
        if split:
            sessions.append([])
        sessions[-1].append(message)
        previous = message
    return sessions


def _turns(session: list[KakaoMessage], me: str, names: Mapping[str, str]) -> list[dict[str, str]]:
    turns: list[dict[str, str]] = []
    for message in session:
        role = "assistant" if message.sender == me else "user"
        text = scrub_pii(nfc(message.text), names).strip()
        if not text:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n" + text
        else:
            turns.append({"role": role, "content": text})
    return turns
