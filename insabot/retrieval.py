"""Written replies for opening messages: the answer the corpus's writers gave to the opening most like the user's.

The tuned small model writes fluent Korean that often misses the point; the corpus holds thousands of openings
("머함", "출근길 2호선 지옥") each answered by a person. Where a user's opening message is close enough to one of
them, the written reply to it is the better answer: blind raters scored it 0.99–1.01 of 2 on the real-style dev
half against 0.53–0.69 for the model's own reply, and the closer the match, the better (README "Blind rated
read", round 12). Far from every opening, a written reply is off topic, so below `min_similarity` the model writes.

Similarity is the cosine of character 1–3-gram TF-IDF vectors: spelling-tolerant (머함/뭐함 share 함, 2호선 matches
2호선) and needing no model. Only openings are indexed: a later turn's reply answers its conversation, not the line.
Only the train split is: the validation and test conversations stay unseen, as they are for training.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_SPACE = re.compile(r"\s+")
_LAUGH_RUN = re.compile(r"([ㅋㅎㅠㅜ])\1+")  # ㅋㅋㅋㅋㅋ and ㅋㅋ are the same laugh
_GRAM_SIZES = (1, 2, 3)


@dataclass(frozen=True)
class Opening:
    message: str
    reply: str
    tone: str
    source: str
    """The corpus conversation's id."""


@dataclass(frozen=True)
class Match:
    opening: Opening
    similarity: float


def grams(text: str) -> Counter[str]:
    """Character 1–3-grams of the text (NFC, spaces folded, laugh and cry runs cut to two), none all space."""
    text = _LAUGH_RUN.sub(r"\1\1", _SPACE.sub(" ", unicodedata.normalize("NFC", text).strip()))
    return Counter(
        gram
        for size in _GRAM_SIZES
        for start in range(len(text) - size + 1)
        if (gram := text[start : start + size]).strip()
    )


class OpeningIndex:
    """Nearest openings by TF-IDF cosine (sublinear term frequency, idf = log(N / df)), through an inverted index:
    a search touches only the openings that share a gram with the message."""

    def __init__(self, openings: Sequence[Opening]):
        self.openings = list(openings)
        counts = [grams(o.message) for o in self.openings]
        document_frequency = Counter(gram for count in counts for gram in count)
        self._unseen_idf = math.log(len(self.openings) or 1)
        self._idf = {gram: math.log(len(self.openings) / df) for gram, df in document_frequency.items()}
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for index, count in enumerate(counts):
            for gram, weight in self._vector(count).items():
                self._postings.setdefault(gram, []).append((index, weight))

    def _vector(self, count: Counter[str]) -> dict[str, float]:
        weights = {g: (1 + math.log(n)) * self._idf.get(g, self._unseen_idf) for g, n in count.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {g: w / norm for g, w in weights.items()}

    def search(self, message: str, tone: str, k: int = 1) -> list[Match]:
        """The `k` openings of `tone` most similar to `message`, best first (ties: corpus order); only openings
        that share a gram with it."""
        scores: dict[int, float] = {}
        for gram, weight in self._vector(grams(message)).items():
            for index, other in self._postings.get(gram, ()):
                scores[index] = scores.get(index, 0.0) + weight * other
        ranked = sorted((i for i in scores if self.openings[i].tone == tone), key=lambda i: (-scores[i], i))
        return [Match(self.openings[i], scores[i]) for i in ranked[:k]]


def corpus_openings() -> list[Opening]:
    """The first exchange of every train-split conversation of the bundled corpus."""
    # imported here: the corpus reader is the fine-tuning package's, and only a run that retrieves needs it
    from insabot.finetune.conversations import load_corpus
    from insabot.finetune.splits import assign_splits, load_frozen

    openings = []
    for conversation in assign_splits(load_corpus(), frozen=load_frozen())["train"]:
        turns = [m["content"] for m in conversation.messages if m["role"] != "system"]
        openings.append(Opening(turns[0], turns[1], conversation.tone, conversation.id))
    return openings


@functools.cache
def corpus_index() -> OpeningIndex:
    return OpeningIndex(corpus_openings())
