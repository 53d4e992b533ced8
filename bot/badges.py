"""Badges under a reply: register and speech level, Hangul share, slang, laughter, local references, English leakage.

Computed by the eval harness's own analysers (`insabot.korean.analyze`), so what the demo shows under a reply
is exactly what the eval counts.
"""

from __future__ import annotations

from insabot.korean.analyze import Analysis, analyze
from insabot.korean.speech_level import LEVEL_NAMES, REGISTER_NAMES


def register_badge(analysis: Analysis) -> str:
    """The register and, where it says more, the level: 반말, 반말 · 음슴체, 존댓말 · 해요체, 존댓말 · 하십시오체+해요체,
    존댓말·반말 섞임; a line without a level shows its register alone (네 → 존댓말) or 서술어 없음."""
    if analysis.register == "none":
        return LEVEL_NAMES["none"]
    register = REGISTER_NAMES[analysis.register]
    if analysis.register == "mixed" or analysis.level == "none":
        return register
    if analysis.level == "mixed":
        levels = dict.fromkeys(s.level for s in analysis.sentences if s.level != "none")
        return f"{register} · " + "+".join(LEVEL_NAMES[level] for level in levels)
    level = LEVEL_NAMES[analysis.level]
    return register if level == register else f"{register} · {level}"


def badge_list(analysis: Analysis) -> list[str]:
    badges = [register_badge(analysis)]
    if analysis.hangul_share is not None:
        badges.append(f"한글 {analysis.hangul_share:.0%}")
    markers = analysis.markers
    if markers.laughter:
        badges.append(f"ㅋㅋ×{markers.laughter}")
    if markers.crying:
        badges.append(f"ㅠㅠ×{markers.crying}")
    if markers.emoji or markers.emoticon:
        badges.append(f"이모지×{markers.emoji + markers.emoticon}")
    if markers.slang:
        badges.append("슬랭: " + ", ".join(markers.slang))
    if analysis.local_refs:
        badges.append("📍 " + ", ".join(analysis.local_refs))
    if analysis.latin_leak:
        badges.append("영어 섞임: " + ", ".join(analysis.latin_leak))
    return badges


def reply_badges(text: str) -> list[str]:
    """Badges for one reply; none for an empty reply."""
    if not text.strip():
        return []
    return badge_list(analyze([text])[0])
