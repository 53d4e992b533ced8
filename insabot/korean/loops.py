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
    units = [" ".join(_NOT_WORD.sub("", unit).split()) for unit in _UNIT_END.split(reply)]
    words = [unit for unit in units if _letters(unit) >= MIN_LETTERS]
    return len(words) != len(set(words))


def is_quote_only(reply: str) -> bool:
    """Every non-empty line is one whole quotation."""
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    return bool(lines) and all(_QUOTED_LINE.match(line) for line in lines)


def _letters(text: str) -> int:
    return sum(char.isalnum() for char in _JAMO.sub("", text))
