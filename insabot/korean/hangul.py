"""Hangul syllable arithmetic the rule sets share (the speech-level analyser's typed endings, 일정's verb forms)."""

from __future__ import annotations

_FIRST, _COUNT, _FINALS = 0xAC00, 11172, 28
NO_FINAL, NIEUN, RIEUL, BIEUP, SSANGSIOT = 0, 4, 8, 17, 20  # jongseong numbers: none, ㄴ, ㄹ, ㅂ, ㅆ


def syllables_closed_by(*finals: int) -> str:
    """Every Hangul syllable whose final consonant is one of the jongseong numbers `finals`, for a regex class
    ("[{syllables_closed_by(NIEUN, SSANGSIOT)}]당" finds 잔당, 했당)."""
    return "".join(chr(_FIRST + _FINALS * i + final) for i in range(_COUNT // _FINALS) for final in finals)


def final_consonant(syllable: str) -> int | None:
    """The jongseong number of one Hangul syllable (0 when it has none), None for anything else."""
    code = ord(syllable) - _FIRST
    return code % _FINALS if 0 <= code < _COUNT else None
