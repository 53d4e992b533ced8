"""One analysis of Korean chat text, shared by `insabot analyze`, the eval harness, the data gates and the UI badges."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from insabot.chat import nfc
from insabot.korean.fluency import fluency_scores
from insabot.korean.locality import hangul_share, latin_leak, local_refs, other_script_leak
from insabot.korean.markers import Markers, style_markers
from insabot.korean.speech_level import SentenceLevel, overall_level, overall_register, sentence_levels

MAX_TEXT_CHARS = 10_000
"""The longest text `insabot analyze` takes. Kiwi's time grows with the square of a line's length (2 cores:
10,000 characters 0.3 s, 100,000 16 s, a 10 MB line unfinished after 2 minutes); chat messages are far shorter."""


@dataclass(frozen=True)
class Analysis:
    text: str
    level: str
    """banmal | haeyo | hapsyo | hao | eumseum | none | mixed (see speech_level.LEVEL_NAMES)."""
    register: str
    """polite | casual | mixed | none: what a reader hears (존댓말 / 반말); a 하십시오체 + 해요체 text is `polite`."""
    sentences: list[SentenceLevel]
    hangul_share: float | None
    latin_leak: list[str]
    other_script_leak: list[str]
    markers: Markers
    local_refs: list[str]
    fluency: float | None
    """Kiwi's language-model log-probability per Hangul syllable (see fluency.py); higher reads more Korean."""

    def as_dict(self) -> dict:
        row = asdict(self)
        if self.hangul_share is not None:
            row["hangul_share"] = round(self.hangul_share, 4)
        if self.fluency is not None:
            row["fluency"] = round(self.fluency, 3)
        return row


def analyze(texts: Iterable[str]) -> list[Analysis]:
    """Analyse texts in one Kiwi batch. Input is NFC-normalised first; output order is input order."""
    texts = [nfc(text) for text in texts]
    return [
        Analysis(
            text=text,
            level=overall_level(sentences),
            register=overall_register(sentences),
            sentences=sentences,
            hangul_share=hangul_share(text),
            latin_leak=latin_leak(text),
            other_script_leak=other_script_leak(text),
            markers=style_markers(text),
            local_refs=local_refs(text),
            fluency=fluency,
        )
        for text, sentences, fluency in zip(texts, sentence_levels(texts), fluency_scores(texts), strict=True)
    ]
