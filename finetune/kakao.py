"""Import a KakaoTalk "대화 내보내기" text export as training conversations, with one participant as the bot.

The export is parsed by `insabot.kakao_export`; here messages become conversations: sessions split on long
gaps, one participant's turns as the assistant, everything returned has names and PII scrubbed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta

from insabot.chat import SYSTEM_PROMPTS, nfc
from insabot.kakao_export import KakaoFormatError, KakaoMessage
from insabot.textio import write_jsonl_atomic as write_jsonl  # noqa: F401 - the importer's writer, re-exported

CATEGORY = "카톡 내보내기"
ME_PLACEHOLDER = "<나>"
PII_PLACEHOLDERS = ("<전화번호>", "<이메일>", "<링크>", "<계좌번호>")


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
    from insabot.korean.analyze import analyze
    from insabot.korean.speech_level import tone_ok

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
