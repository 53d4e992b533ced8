"""Speech level (반말 / 해요체 / 하십시오체 / 음슴체) of chat text, from Kiwi's morphological analysis.

The level towards the listener is carried by how each sentence closes, so for every sentence we find
the closing morpheme (skipping laughter, emoji, punctuation and cute codas like the ㅇ of 좋아용) and
classify it. Subject honorifics (께서, -시-) are ignored: they say nothing about the listener.
Quoted speech ('밥 먹었어요?' 하시더라) is blanked before analysis: the quote's level is not the speaker's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Stable machine labels (documented in the README); Korean display names come from LEVEL_NAMES.
LEVELS = ("banmal", "haeyo", "hapsyo", "eumseum", "none")
LEVEL_NAMES = {
    "banmal": "반말",
    "haeyo": "해요체",
    "hapsyo": "하십시오체",
    "eumseum": "음슴체",
    "none": "서술어 없음",
    "mixed": "섞임",
}
POLITE = frozenset({"haeyo", "hapsyo"})
CASUAL = frozenset({"banmal", "eumseum"})

# Tags that never close a sentence for our purpose: punctuation, symbols (ㅋㅋ, ㅠㅠ are SW), emoji,
# web tokens and Kiwi's "extra coda" on cute spellings (좋아용 = 어요 + ㅇ).
_TRANSPARENT = {
    "SF",
    "SP",
    "SS",
    "SSO",
    "SSC",
    "SE",
    "SO",
    "SW",
    "SB",
    "W_EMOJI",
    "W_URL",
    "W_EMAIL",
    "W_HASHTAG",
    "W_MENTION",
    "W_SERIAL",
    "Z_CODA",
    "Z_SIOT",
    "USER0",
    "USER1",
    "USER2",
}
_NOMINAL = {"NNG", "NNP", "NNB", "NR", "NP", "SL", "SH", "SN", "XSN", "XR"}
_QUOTE = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|‘[^’\n]*’|'[^'\n]*'|「[^」\n]*」|『[^』\n]*』")
# Kiwi writes the ㅂ/ㄴ/ㄹ/ㅁ of endings as jongseong jamo (ᆸ니다); show and match them as compatibility jamo.
_CODA_TO_COMPAT = str.maketrans(
    {"\u11b8": "ㅂ", "\u11ab": "ㄴ", "\u11af": "ㄹ", "\u11b7": "ㅁ", "\u11bc": "ㅇ"}
)
# Drawn-out polite endings (좋아요오, 그래요옹) confuse the tagger; the extra syllables add nothing.
_DRAWN_OUT = re.compile(r"(요|죠)[오옹우웅]+")


@dataclass(frozen=True)
class SentenceLevel:
    text: str
    level: str
    ending: str | None
    """The closing morpheme that decided the level (e.g. "어", "어요", "ㅂ니다"), None for `none`."""


def ending_level(form: str, tag: str) -> str:
    """Level of a closing ending morpheme (EF/EC/ETN), in compatibility-jamo spelling."""
    if tag == "ETN" or form in ("음", "ㅁ"):
        return "eumseum"
    # Only the ㅂ/습 forms: a bare -니까 is the casual connective ("있으니까"), not 하십시오체.
    if form.endswith(
        ("ㅂ니다", "습니다", "슴니다", "ㅂ니까", "습니까", "슴니까", "십시오", "ㅂ시오", "ㅂ시다", "읍시다")
    ):
        return "hapsyo"
    if form.endswith(("요", "여", "죠", "쇼")):
        return "haeyo"
    return "banmal"


def classify_tokens(tokens) -> tuple[str, str | None]:
    """(level, closing form) of one sentence's Kiwi tokens."""
    content = [t for t in tokens if t.tag not in _TRANSPARENT]
    if not content:
        return "none", None
    last = content[-1]
    form = last.form.translate(_CODA_TO_COMPAT)
    tag = last.tag
    if tag.startswith("E") or tag == "ETN":
        return ending_level(form, tag), form
    if form.endswith(("요", "죠", "쵸")):  # 진짜요?, 저는요, 그쵸: the particle/contraction is polite
        return "haeyo", form
    if tag in _NOMINAL:
        # "망한 듯", "가는 중", "먹을 각": a predicate turned into a noun phrase is 명사형 종결.
        before = content[-2] if len(content) > 1 else None
        return ("eumseum", form) if before is not None and before.tag == "ETM" else ("none", None)
    if tag.startswith(("VV", "VA", "VX", "VCP", "VCN", "XSV", "XSA")):
        return "banmal", form  # a bare stem: a typo'd or clipped casual ending
    return "none", None  # interjections (헐, 응, 네), adverbs, particles


def blank_quotes(text: str) -> str:
    return _QUOTE.sub(lambda m: m.group(0)[0] + "…" + m.group(0)[-1], text)


def prepare(text: str) -> list[str]:
    """Chat lines (bubbles) with quotes blanked; each line is split into sentences by Kiwi."""
    return [
        line
        for line in (_DRAWN_OUT.sub(r"\1", blank_quotes(raw)).strip() for raw in text.split("\n"))
        if line
    ]


@functools.cache
def kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


def sentence_levels(texts: Iterable[str]) -> Iterator[list[SentenceLevel]]:
    """Per text, the level of each sentence. Texts are fed to Kiwi as one batch of lines."""
    texts = list(texts)
    lines_per_text = [prepare(text) for text in texts]
    flat = [line for lines in lines_per_text for line in lines]
    analysed = iter(kiwi().split_into_sents(flat, return_tokens=True)) if flat else iter(())
    for lines in lines_per_text:
        result = []
        for _ in lines:
            for sentence in next(analysed):
                level, ending = classify_tokens(sentence.tokens)
                result.append(SentenceLevel(sentence.text, level, ending))
        yield result


def overall_level(sentences: list[SentenceLevel]) -> str:
    """One label for a text: the shared level of its sentences that have one, `mixed` if they differ."""
    levels = {s.level for s in sentences if s.level != "none"}
    if not levels:
        return "none"
    return levels.pop() if len(levels) == 1 else "mixed"


def tone_ok(sentences: list[SentenceLevel], tone: str) -> bool | None:
    """The one tone verdict (eval, data check, KakaoTalk import): does a text keep the requested tone?
    반말 allows 음슴체; 존댓말 allows 해요체 and 하십시오체. None when no sentence carries a speech level
    (ㅋㅋ, 헐, a single noun): such a text breaks neither tone and shows neither — the eval counts it as a
    miss (a reply must show its tone), a corpus check as no breach."""
    levelled = [s.level for s in sentences if s.level != "none"]
    if not levelled:
        return None
    allowed = CASUAL if tone == "banmal" else POLITE
    return all(level in allowed for level in levelled)
