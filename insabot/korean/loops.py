"""The loop verdict: a reply that says the same line or sentence twice or more, or that is nothing but a
quotation where quoting is not the job.

Greedy decoding of a small tuned model falls into these (`"오늘 하루도 푹 쉬어보세요!"` nine times to the token
limit); the word-trigram repetition check misses them when a Korean line is shorter than three words, and a
quote-only reply answers nothing in a chat.
"""

from __future__ import annotations

import re

REPLY_DRAFTS = "답장 추천"
"""The web chat's reply-drafts tab (bot/drafts.py), for evals of that feature."""
QUOTING_CATEGORIES = frozenset({"단톡방 답장 초안", "카톡 말투 바꾸기", REPLY_DRAFTS})
"""Categories whose answer is a message to send or a rewritten line, so a quoted reply is the job."""

MIN_LETTERS = 4
"""A repeated unit counts only from this many letters: people do text "헐. 헐." or "화이팅! 화이팅!"."""

# A unit ends at a line break or at sentence-final punctuation; punctuation, quotes and emoji are dropped
# from the comparison, so "푹 쉬어!", "푹 쉬어." and "\"푹 쉬어" are the same sentence.
_UNIT_END = re.compile(r"[.!?…~]+|\n")
_NOT_WORD = re.compile(r"[^\w\s]")
_QUOTED_LINE = re.compile(r'^(?:"[^"]*"|“[^”]*”|\'[^\']*\'|‘[^’]*’|「[^」]*」|『[^』]*』)[.!?~]*$')
# Hangul compatibility jamo (ㅋㅋ, ㅠㅠ, ㅇㅇ) are reactions, not words.
_JAMO = re.compile(r"[\u3131-\u318e]")


def is_loop(reply: str, category: str) -> bool:
    """True when the reply repeats a line or sentence, or is only a quotation outside `QUOTING_CATEGORIES`."""
    return has_repeated_unit(reply) or (category not in QUOTING_CATEGORIES and is_quote_only(reply))


def has_repeated_unit(reply: str) -> bool:
    """The same line or sentence (whitespace and final punctuation aside) twice or more."""
    return repeat_start(reply) is not None


def repeat_start(text: str, *, finished: bool = True) -> int | None:
    """Where the first line or sentence that repeats an earlier one begins in `text`, or None. With
    `finished=False` (a reply still being generated) the last unit counts only once its end has arrived: "푹
    쉬어" may yet become "푹 쉬어보세요"."""
    seen: set[str] = set()
    for start, unit, complete in _units(text):
        if (complete or finished) and _letters(unit) >= MIN_LETTERS:
            if unit in seen:
                return start
            seen.add(unit)
    return None


def undecided_from(text: str) -> int:
    """Where the part of a growing reply begins that may yet turn out a repeat: its unfinished last unit, while
    that is the start of an earlier one (else the text's end). A stream shows the text before it at once."""
    units = _units(text)
    start, last, complete = units[-1]
    earlier = {unit for _, unit, _ in units[:-1] if _letters(unit) >= MIN_LETTERS}
    if not complete and any(unit.startswith(last) for unit in earlier):
        return start
    return len(text)


def _units(text: str) -> list[tuple[int, str, bool]]:
    """(start, whitespace- and punctuation-free text, whether its end has arrived) of each line or sentence."""
    units, start = [], 0
    for end in _UNIT_END.finditer(text):
        units.append((start, " ".join(_NOT_WORD.sub("", text[start : end.start()]).split()), True))
        start = end.end()
    units.append((start, " ".join(_NOT_WORD.sub("", text[start:]).split()), False))
    return units


def cut_repeat(reply: str) -> str:
    """The reply up to the first line or sentence it repeats: what it said before it began to loop."""
    start = repeat_start(reply)
    return reply if start is None else reply[:start].rstrip()


def is_quote_only(reply: str) -> bool:
    """Every non-empty line is one whole quotation."""
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    return bool(lines) and all(_QUOTED_LINE.match(line) for line in lines)


def _letters(text: str) -> int:
    return sum(char.isalnum() for char in _JAMO.sub("", text))
