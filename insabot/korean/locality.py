"""Locality of a reply: how Korean it is (Hangul share, other-script leakage) and what it refers to."""

from __future__ import annotations

import functools
import re
import unicodedata

from insabot.korean.lexicons import loan_tokens, local_terms

HANGUL_SYLLABLE = re.compile(r"[가-힣]")
"""Composed syllables only (not jamo): what eval speed and fluency are counted per."""
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'&\-]*")
_MBTI = re.compile(r"^[EI][NS][TF][JP]$", re.IGNORECASE)
_OTHER_SCRIPTS = re.compile(
    r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff"  # Hanzi / Hanja
    r"\u3040-\u309f\u30a0-\u30ff"  # kana
    r"\u0400-\u04ff"  # Cyrillic
    r"\u0e00-\u0e7f\u0600-\u06ff\u0900-\u097f\u0590-\u05ff\u0370-\u03ff]+"  # Thai, Arabic, Devanagari, Hebrew, Greek
)


def is_hangul(char: str) -> bool:
    code = ord(char)
    return (
        0xAC00 <= code <= 0xD7A3
        or 0x1100 <= code <= 0x11FF
        or 0x3130 <= code <= 0x318F
        or 0xA960 <= code <= 0xA97F
    )


def hangul_share(text: str) -> float | None:
    """Hangul letters / all letters (digits, punctuation, emoji excluded); None when there are no letters."""
    letters = [c for c in text if unicodedata.category(c).startswith("L")]
    if not letters:
        return None
    return sum(map(is_hangul, letters)) / len(letters)


def latin_leak(text: str) -> list[str]:
    """Latin-script words that are not accepted loan tokens (K-pop, MBTI, KTX, brand names...)."""
    accepted = loan_tokens()
    leaks = []
    for word in _LATIN_WORD.findall(text):
        if word.lower() in accepted or _MBTI.match(word) or (len(word) == 1 and word.isupper()):
            continue
        leaks.append(word)
    return leaks


def other_script_leak(text: str) -> list[str]:
    return _OTHER_SCRIPTS.findall(text)


@functools.cache
def _local_pattern() -> re.Pattern:
    # One alternation, longest terms first: at each position the longest term wins and consumes the span.
    return re.compile("|".join(map(re.escape, local_terms())))


def local_refs(text: str) -> list[str]:
    """Korean places, apps, brands and K-content named in `text`, in order of first mention; a longer
    match hides the shorter terms inside it (성수동 is reported once, not also as 성수)."""
    return list(dict.fromkeys(_local_pattern().findall(text)))
