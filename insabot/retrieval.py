"""Written replies for opening messages: the answer the corpus's writers gave to the opening most like the user's.

The tuned small model writes fluent Korean that often misses the point; the corpus holds thousands of openings
("머함", "출근길 2호선 지옥") each answered by a person. Where a user's opening message is close enough to one of
them, the written reply to it is the better answer: blind raters scored it far above the model's own reply on
the real-style dev half, and the closer the match, the better (docs/rated-reads.md, round 12). Far from
every opening a written reply is off topic, so below `generation.retrieve_min_similarity` the model writes.

Similarity is the mean of two TF-IDF cosines: over character 1–3-grams, which forgive spelling (머함/뭐함,
왤케/왜 이렇게), and over the content words Kiwi finds (nouns, verb and adjective stems, adverbs), which keep a
match on what the message is about rather than on how it ends ("…왜 이렇게 비싸요" matched 포켓몬 카드 by its
ending alone). Only openings are indexed — a later turn's reply answers its conversation, not the line — and only
from the train split (the validation and test conversations stay unseen, as for training) and not from drafts and
rewrites, whose reply reworks the user's own words, which nobody else's written reply can.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_SPACE = re.compile(r"\s+")
_LAUGH_RUN = re.compile(r"([ㅋㅎㅠㅜ])\1+")  # ㅋㅋㅋㅋㅋ and ㅋㅋ are the same laugh
_EMOJI_GLUE = re.compile(
    "[\ufe0f\u200d]"
)  # a variation selector is no content: 🌧️ and 중간고사… share nothing
_GRAM_SIZES = (1, 2, 3)
# Kiwi's tags of the words a message is about; endings, particles and punctuation say how it is said
_CONTENT_TAGS = frozenset(
    {"NNG", "NNP", "NR", "SN", "SL", "XR", "MAG", "VV", "VA", "VV-R", "VV-I", "VA-R", "VA-I"}
)


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
    """Character 1–3-grams of the text (NFC, spaces folded, laugh and cry runs cut to two, emoji glue dropped),
    none all space."""
    text = _EMOJI_GLUE.sub("", unicodedata.normalize("NFC", text))
    text = _LAUGH_RUN.sub(r"\1\1", _SPACE.sub(" ", text.strip()))
    return Counter(
        gram
        for size in _GRAM_SIZES
        for start in range(len(text) - size + 1)
        if (gram := text[start : start + size]).strip()
    )


def content_words(texts: Iterable[str]) -> list[Counter[str]]:
    """Per text, its content morphemes as Kiwi reads them (form/tag), in one batch."""
    from insabot.korean.speech_level import kiwi

    normalized = [unicodedata.normalize("NFC", text) for text in texts]
    # the tag's first two letters: Kiwi tells NNG from NNP (넷플) and VV from VV-R less surely than noun from verb
    return [
        Counter(f"{t.form}/{t.tag[:2]}" for t in tokens if t.tag in _CONTENT_TAGS)
        for tokens in kiwi().tokenize(normalized)
    ]


class _TfIdf:
    """Cosine over sublinear-tf · idf vectors (idf = log(N / df)), with an inverted index so a query touches only
    the documents that share a term with it."""

    def __init__(self, documents: Sequence[Counter[str]]):
        frequency = Counter(term for document in documents for term in document)
        self._unseen_idf = math.log(len(documents) or 1)
        self._idf = {term: math.log(len(documents) / df) for term, df in frequency.items()}
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for index, document in enumerate(documents):
            for term, weight in self._vector(document).items():
                self._postings.setdefault(term, []).append((index, weight))

    def _vector(self, document: Counter[str]) -> dict[str, float]:
        weights = {t: (1 + math.log(n)) * self._idf.get(t, self._unseen_idf) for t, n in document.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {t: w / norm for t, w in weights.items()}

    def cosines(self, query: Counter[str]) -> dict[int, float]:
        scores: dict[int, float] = {}
        for term, weight in self._vector(query).items():
            for index, other in self._postings.get(term, ()):
                scores[index] = scores.get(index, 0.0) + weight * other
        return scores


class OpeningIndex:
    """The openings nearest a message: the mean of the character-gram and the content-word cosine."""

    def __init__(self, openings: Sequence[Opening]):
        self.openings = list(openings)
        self._characters = _TfIdf([grams(o.message) for o in self.openings])
        self._words = _TfIdf(content_words(o.message for o in self.openings))

    def search(self, message: str, tone: str, k: int = 1) -> list[Match]:
        """The `k` openings of `tone` most similar to `message`, best first (ties: corpus order); only openings
        that share a gram or a word with it."""
        characters = self._characters.cosines(grams(message))
        words = self._words.cosines(content_words([message])[0])
        scores = {
            i: (characters.get(i, 0.0) + words.get(i, 0.0)) / 2 for i in characters.keys() | words.keys()
        }
        ranked = sorted((i for i in scores if self.openings[i].tone == tone), key=lambda i: (-scores[i], i))
        return [Match(self.openings[i], scores[i]) for i in ranked[:k]]


def corpus_openings() -> list[Opening]:
    """The first exchange of every train-split conversation of the bundled corpus, drafts and rewrites left out."""
    # imported here: the corpus reader is the fine-tuning package's, and only a run that retrieves needs it
    from insabot.finetune.conversations import load_corpus
    from insabot.finetune.splits import assign_splits, load_frozen
    from insabot.korean.loops import QUOTING_CATEGORIES

    openings = []
    for conversation in assign_splits(load_corpus(), frozen=load_frozen())["train"]:
        if conversation.category in QUOTING_CATEGORIES:
            continue
        turns = [m["content"] for m in conversation.messages if m["role"] != "system"]
        openings.append(Opening(turns[0], turns[1], conversation.tone, conversation.id))
    return openings


@functools.cache
def corpus_index() -> OpeningIndex:
    return OpeningIndex(corpus_openings())
