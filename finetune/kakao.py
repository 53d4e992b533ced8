"""Import a KakaoTalk "대화 내보내기" text export as training conversations, with one participant as the bot.

The export is parsed by `insabot.kakao_export`; here messages become conversations: sessions split on long
gaps, one participant's turns as the assistant, everything returned has names and PII scrubbed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta

from insabot.chat import SYSTEM_PROMPTS, nfc
from insabot.kakao_export import KakaoFormatError, KakaoMessage
from insabot.textio import write_jsonl_atomic as write_jsonl  # noqa: F401 - the importer's writer, re-exported

CATEGORY = "카톡 내보내기"
ME_PLACEHOLDER = "<나>"
PII_PLACEHOLDERS = (
    "<전화번호>",
    "<이메일>",
    "<아이디>",
    "<링크>",
    "<주민등록번호>",
    "<계좌번호>",
    "<주소>",
)


# --- scrubbing -------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# "minji (at) naver.com", "minji [at] naver [dot] com", "minji 골뱅이 gmail.com": written so that filters
# miss them, read by people (and a model) all the same. A bare " at " is English ("look at naver.com").
_OBFUSCATED_EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+\s*(?:[(\[{]\s*(?:at|골뱅이)\s*[)\]}]|골뱅이)\s*"
    r"[A-Za-z0-9-]+(?:\s*(?:\.|[(\[{]\s*(?:dot|닷)\s*[)\]}]|\s(?:dot|닷)\s)\s*[A-Za-z0-9-]+)+",
    re.IGNORECASE,
)
# Instagram/Twitter-style handles; a Kakao @mention of a Hangul display name is left to the name scrub.
_HANDLE = re.compile(r"(?<![A-Za-z0-9._%+-])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?")
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
_URL = re.compile(
    rf"(?:https?://|www\.){_URL_CHARS}+"
    rf"|(?<![A-Za-z0-9.\-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|net|org|kr|me|io|ly|gl|co|app|link|shop)"
    rf"(?![A-Za-z0-9\-])(?:/{_URL_CHARS}*)?"
    # Any domain followed by a path: the short links people paste without a scheme (kko.to/…, me2.do/…,
    # youtu.be/…, forms.gle/…, toss.im/…, discord.gg/…) whatever their top-level domain.
    rf"|(?<![A-Za-z0-9.\-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{{2,}}/{_URL_CHARS}+",
    re.IGNORECASE,
)
# Hyphen-minus and the dashes that keyboards, autocorrect and the Hangul vowel ㅡ put in its place.
_DASH_CHARS = "‐‑‒–—―−－ㅡ-"  # hyphen-minus last, so the set can be put inside a character class
_DASH = f"[{_DASH_CHARS}]"
_SEP = rf"(?:[ \t]*{_DASH}[ \t]*|[. \t])?"
# A counter right after a number makes it an amount, a time or a range ("1000-2000원", "학교로 3시").
_COUNTER = "(?:원|만|천|명|개|년|월|일|분|초|시|번|회|층|위|점|등|배|%)"
_PHONE = re.compile(
    r"(?<![\d+])(?:"
    rf"(?:\+\s?82{_SEP}0?|0)(?:1[016789]|2|[3-6][1-5]|70|50\d){_SEP}\d{{3,4}}{_SEP}\d{{4}}"
    r"|1[5-9]\d{2}-\d{4}"  # 1588-1234 style service numbers
    r")(?!\d)"
    # A local number without its area code (1234-5678); year ranges (2019-2023) and amounts are not.
    rf"|(?<![\d{_DASH_CHARS}])(?!(?:19|20)\d\d{_DASH}(?:19|20)\d\d)\d{{4}}[ \t]*{_DASH}[ \t]*\d{{4}}"
    rf"(?![\d{_DASH_CHARS}]|{_COUNTER})"
)
_DIGIT_WORD = "[공영일이삼사오육륙칠팔구]"
# A mobile number spelled out in Sino-Korean digits ("공일공 일이삼사 오육칠팔"): 010 is never a word.
_PHONE_WORDS = re.compile(rf"[공영]일[공영일육칠팔구]{_SEP}{_DIGIT_WORD}{{3,4}}{_SEP}{_DIGIT_WORD}{{4}}")
# YYMMDD-GXXXXXX: the date of birth, then the digit for sex and century.
_RESIDENT_NUMBER = re.compile(
    rf"(?<![\d-])\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[ \t]*{_DASH}?[ \t]*[1-8]\d{{6}}(?![\d-])"
)
# Ten or more digits, optionally grouped with single dashes or spaces: bank accounts, card numbers.
_ACCOUNT = re.compile(r"(?<!\d)\d(?:[- ]?\d){9,}(?!\d)")
_URL_TRAILING = ".,!?;:)]'"
# Street addresses: an optional run of regions (서울시 마포구), then a road address (양화로 123, 양화로12길 34),
# a lot number (망원동 123-45, 망원동 123번지) or a flat (OO아파트 101동 1203호). A road name must not end in
# the particle 으로 and its number must not be a count (학교로 3시, 차로 20분), so plain chat stays.
_REGION = r"(?:[가-힣]{1,6}(?:특별자치시|특별자치도|특별시|광역시|시|도|구|군|읍|면)[ \t]+){0,3}"
_ROAD = r"[가-힣A-Za-z0-9]{2,10}(?<!으)(?:대로|로|길)(?:[ \t]*\d{1,3}(?:번길|길))?[ \t]*\d{1,4}(?:-\d{1,4})?"
_LOT = r"[가-힣]{1,5}동[ \t]*\d{1,4}(?:-\d{1,4}|번지)"
_FLAT = r"(?:[가-힣A-Za-z0-9]+(?:아파트|빌라|오피스텔|맨션|빌딩)[ \t]*)?\d{1,4}동[ \t]*\d{1,4}호"
_ADDRESS = re.compile(
    rf"(?<![가-힣A-Za-z0-9]){_REGION}(?:{_FLAT}|(?:{_ROAD}|{_LOT})(?:[ \t,]+{_FLAT})?)"
    rf"(?!\d|{_COUNTER})"
)


def _scrub_url(match: re.Match) -> str:
    url = match.group(0)
    trimmed = url.rstrip(_URL_TRAILING)
    return "<링크>" + url[len(trimmed) :]


# Applied in order: a resident number or an e-mail must be claimed before the looser number and link rules
# see their pieces.
_RULES: tuple[tuple[re.Pattern, str | Callable[[re.Match], str]], ...] = (
    (_RESIDENT_NUMBER, "<주민등록번호>"),
    (_EMAIL, "<이메일>"),
    (_OBFUSCATED_EMAIL, "<이메일>"),
    (_HANDLE, "<아이디>"),
    (_URL, _scrub_url),
    (_PHONE, "<전화번호>"),
    (_PHONE_WORDS, "<전화번호>"),
    (_ADDRESS, "<주소>"),
    (_ACCOUNT, "<계좌번호>"),
)

# The most common surnames: "김민지" in a message names the participant whose display name is "민지".
_SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진지엄채원천방공현함변염여추도소석선설마"
_GIVEN_NAME = re.compile(r"[가-힣]{2}")
_LATIN = re.compile(r"[A-Za-z]")


def _name_pattern(name: str) -> str:
    """A two-syllable Hangul name may carry a surname in front; Latin names match in any case and only as
    whole words (the "Kim" of a display name is not the "kim" of "kimchi")."""
    escaped = re.escape(name)
    if _GIVEN_NAME.fullmatch(name):
        return f"(?:(?<![가-힣])[{_SURNAMES}])?{escaped}"
    if _LATIN.search(name):
        return f"(?i:(?<![A-Za-z]){escaped}(?![A-Za-z]))"
    return escaped


def scrub_pii(text: str, names: Mapping[str, str]) -> str:
    """Replace phone numbers, e-mails, handles, URLs, resident and account/card numbers and street addresses
    with placeholders, then every name in `names` with its placeholder. Placeholders already in the text are
    never rewritten."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    by_key = {nfc(name).casefold(): placeholder for name, placeholder in names.items() if name}
    if not by_key:
        return text
    keep = {*PII_PLACEHOLDERS, *by_key.values()}
    alternatives = [re.escape(p) for p in sorted(keep, key=len, reverse=True)]
    alternatives += [_name_pattern(n) for n in sorted(by_key, key=len, reverse=True)]

    def replace(match: re.Match) -> str:
        found = match.group(0)
        if found in keep:
            return found
        key = found.casefold()
        return by_key[key] if key in by_key else by_key[key[1:]]  # else: surname + given name

    return re.sub("|".join(alternatives), replace, text)


_BRACKETED = re.compile(r"\s*[\[(（【<][^\])）】>]*[\])）】>]\s*")
_HANGUL_NAME = re.compile(r"^[가-힣]{3}$")
_COMPOUND_SURNAMES = ("남궁", "황보", "제갈", "선우", "사공", "서문", "독고", "동방")
# Words people put next to a name in a display name ("김서연 선배"); alone they are not the person's name.
_TITLE_WORDS = (
    "선배 선배님 후배 동기 친구 팀장 팀장님 과장 과장님 대리 부장 부장님 사장님 선생님 쌤 교수님 "
    "언니 오빠 누나 형 동생 엄마 아빠 회사 학교 동아리"
)
_TITLES = frozenset(_TITLE_WORDS.split())


def _without_symbols(name: str) -> str:
    """The name without emoji and other symbols ("민지💕" -> "민지"): nobody types them when naming someone."""
    kept = (c for c in name if not unicodedata.category(c).startswith(("S", "C", "M")))
    return " ".join("".join(kept).split())


def _given_name(form: str) -> str | None:
    """The given name of a Korean full name written without spaces: "김민지" -> "민지", "남궁민수" -> "민수"."""
    if _HANGUL_NAME.match(form):
        return form[1:]
    if len(form) == 4 and form.startswith(_COMPOUND_SURNAMES):
        return form[2:]
    return None


def name_variants(name: str) -> list[str]:
    """The forms a display name is likely to appear in inside messages: the full name, the name without
    emoji ("민지💕" -> "민지") or a bracketed tag ("박 준호 [회사]" -> "박 준호"), its space-free form, its
    parts, and the given name of a Korean full name ("김민지" -> "민지", "남궁민수" -> "민수"). Particles
    and vocatives stay outside the match ("민지야" -> "<사람1>야"). One-character forms are left out:
    scrubbing every "나" or "김" would wreck the text."""
    base = _BRACKETED.sub(" ", _without_symbols(name)).strip()
    parts = [part for part in base.split() if part not in _TITLES]
    forms = [name, base, base.replace(" ", ""), "".join(parts), *parts]
    forms += [given for form in forms if (given := _given_name(form))]
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
    """'jondaetmal' if most of the texts that carry a register are polite (match 존댓말, not 반말)."""
    from insabot.korean.analyze import analyze
    from insabot.korean.speech_level import tone_ok

    polite = casual = 0
    for analysis in analyze(texts):
        keeps_jondaetmal = tone_ok(analysis.sentences, "jondaetmal")
        if keeps_jondaetmal is None:  # ㅋㅋ, 헐: no register either way (넵 is heard as 존댓말)
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
