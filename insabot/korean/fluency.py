"""How Korean a text reads: Kiwi's language-model score of the text, per Hangul syllable.

Kiwi chooses the most likely morpheme analysis of a text with its own morpheme language model; the
log-probability of that analysis, divided by the number of Hangul syllables, is low for made-up words and
word salad that still look Korean — which Hangul share, leakage and speech-level metrics cannot see — and
close to human chat for natural replies. Measured on this project's data (mean per reply): the bundled
human-written assistant turns -4.4; Gemma-3-270M + insabot adapter -4.0; SmolLM2 + insabot adapter -5.9
(Hangul-only non-words such as "이 걸일 데럽"); SmolLM2 base -10.9 (the few replies with any Hangul).
Higher is better; it is a score for comparing models on the same probes, not a probability of anything.
"""

from __future__ import annotations

from collections.abc import Iterable

from insabot.korean.locality import HANGUL_SYLLABLE
from insabot.korean.speech_level import kiwi

MIN_SYLLABLES = 2
"""Shorter texts ("ㅇㅇ", "헐") get no score: one syllable says nothing about fluency."""


def fluency_scores(texts: Iterable[str]) -> list[float | None]:
    """Per text, Kiwi's best-analysis log-probability per Hangul syllable (None under MIN_SYLLABLES)."""
    texts = list(texts)
    counts = [len(HANGUL_SYLLABLE.findall(text)) for text in texts]
    scored = [i for i, count in enumerate(counts) if count >= MIN_SYLLABLES]
    scores: list[float | None] = [None] * len(texts)
    for i, candidates in zip(scored, kiwi().analyze([texts[i] for i in scored], top_n=1), strict=True):
        scores[i] = candidates[0][1] / counts[i]
    return scores
