"""Where a reply's first sentences end: `generation.max_sentences` stops a reply there.

A small model's first sentence is its best: on the dev half of the real-style set, two blind raters scored the
shipped adapter's replies cut after their first sentence 0.59 and 0.63 against 0.35 and 0.43 whole
(docs/rated-reads.md, round 8): the second sentence is where it drifts into nonsense ("휴강은 진짜 축하해! 다음
학기엔 그만두자"). Friends answer a line with a line.
"""

from __future__ import annotations

import re

from insabot.korean.locality import HANGUL_SYLLABLE

MIN_SYLLABLES = 5
"""A sentence counts only once it (with any short ones before it) holds this many Hangul syllables: "좋아요!" or
"헐 대박!" alone opens a reply rather than being it."""

# A sentence ends at a line break, at final punctuation before a space, or at a laugh, a cry or an emoji before a
# space ("그거 다들 그래ㅋㅋ 그래도…"): chat marks its sentence ends so as often as with a full stop.
_SENTENCE_END = re.compile(
    r"\n|[.!?…~]+(?=\s|$)|(?<=[ㅋㅎㅠㅜ])(?=[ \t])|(?<=[\U0001F300-\U0001FAFF\u2600-\u27BF])(?=[ \t])"
)
_OPENING_QUOTE = re.compile(r"\s*[\"'“‘「『]")


def sentences_end(text: str, count: int) -> int | None:
    """Where `text`'s first `count` sentences end, once more text has begun after them (so a growing reply is cut
    only when it goes on); None while it has not. A quotation is kept whole, and so is the line that leads into one
    (a drafted message is the answer: "이렇게 보내봐.\\n\"…\"")."""
    counted, start = 0, 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if _inside_quotation(text[:end]) or _OPENING_QUOTE.match(text, end):
            continue
        if not text[start:end].strip() or len(HANGUL_SYLLABLE.findall(text, start, end)) < MIN_SYLLABLES:
            continue  # an empty line is no sentence, and a short one opens the next
        counted, start = counted + 1, end
        if counted == count:
            return end if text[end:].strip() else None
    return None


def cut_after_sentences(text: str, count: int) -> str:
    """`text` up to the end of its first `count` sentences (all of it when it has no more)."""
    end = sentences_end(text, count)
    return text if end is None else text[:end].rstrip()


def _inside_quotation(text: str) -> bool:
    """Whether `text` ends inside a quotation: an odd number of straight quotes of either kind, or more
    opening curly or corner quotes than closing ones."""
    if text.count('"') % 2 or text.count("'") % 2:
        return True
    return any(text.count(opening) > text.count(closing) for opening, closing in ("“”", "‘’", "「」", "『』"))
