"""Style markers of chat text: laughter, crying, emoji and emoticons, slang from the project lexicon."""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass

from insabot.korean.lexicons import slang_entries

_LAUGHTER = re.compile(r"[ㅋㅎ]{2,}|(?:크크|키키|하하|히히|헤헤|호호)+")
_CRYING = re.compile(r"[ㅠㅜ]+")
_EMOJI = re.compile(
    "[\U0001f300-\U0001f5ff\U0001f600-\U0001f64f\U0001f680-\U0001f6ff\U0001f900-\U0001f9ff"
    "\U0001fa70-\U0001faff\u2600-\u26ff\u2700-\u27bf\u2764\u2b50]"
)
_EMOTICON = re.compile(r"\^\^|\^_\^|\^\.\^|>_<|-_-;*|T_T|ㅜ_ㅜ|ㅠ_ㅠ|:\)|:D|;;+|♡|♥|~♪")


@dataclass(frozen=True)
class Markers:
    laughter: int
    crying: int
    emoji: int
    emoticon: int
    slang: list[str]

    def as_dict(self) -> dict:
        return asdict(self)


@functools.cache
def _slang_index() -> tuple[re.Pattern, dict[str, str]]:
    term_of = {form: entry.term for entry in slang_entries() for form in entry.forms}
    pattern = re.compile("|".join(re.escape(form) for form in sorted(term_of, key=len, reverse=True)))
    return pattern, term_of


def find_slang(text: str) -> list[str]:
    """Canonical terms of the slang lexicon that occur in `text`, in order of first mention."""
    pattern, term_of = _slang_index()
    return list(dict.fromkeys(term_of[form] for form in pattern.findall(text)))


def style_markers(text: str) -> Markers:
    return Markers(
        laughter=len(_LAUGHTER.findall(text)),
        crying=len(_CRYING.findall(text)),
        emoji=len(_EMOJI.findall(text)),
        emoticon=len(_EMOTICON.findall(text)),
        slang=find_slang(text),
    )
