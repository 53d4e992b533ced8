"""Aggregates over many analyses: level counts, Hangul share, leakage and marker rates."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from insabot.korean.analyze import Analysis
from insabot.korean.speech_level import LEVEL_NAMES, REGISTER_NAMES


@dataclass
class Summary:
    texts: int = 0
    levels: collections.Counter = field(default_factory=collections.Counter)
    registers: collections.Counter = field(default_factory=collections.Counter)
    hangul_total: float = 0.0
    hangul_counted: int = 0
    with_latin_leak: int = 0
    with_other_script: int = 0
    with_laughter: int = 0
    with_crying: int = 0
    with_emoji: int = 0
    with_slang: int = 0
    with_local_ref: int = 0

    def add(self, analysis: Analysis) -> None:
        self.texts += 1
        self.levels[analysis.level] += 1
        self.registers[analysis.register] += 1
        if analysis.hangul_share is not None:
            self.hangul_total += analysis.hangul_share
            self.hangul_counted += 1
        markers = analysis.markers
        self.with_latin_leak += bool(analysis.latin_leak)
        self.with_other_script += bool(analysis.other_script_leak)
        self.with_laughter += bool(markers.laughter)
        self.with_crying += bool(markers.crying)
        self.with_emoji += bool(markers.emoji or markers.emoticon)
        self.with_slang += bool(markers.slang)
        self.with_local_ref += bool(analysis.local_refs)

    def as_dict(self) -> dict:
        rate = (lambda n: round(n / self.texts, 4)) if self.texts else (lambda n: 0.0)
        return {
            "texts": self.texts,
            "registers": {register: self.registers.get(register, 0) for register in REGISTER_NAMES},
            "levels": {level: self.levels.get(level, 0) for level in LEVEL_NAMES},
            "mean_hangul_share": round(self.hangul_total / self.hangul_counted, 4)
            if self.hangul_counted
            else None,
            "rates": {
                "latin_leak": rate(self.with_latin_leak),
                "other_script_leak": rate(self.with_other_script),
                "laughter": rate(self.with_laughter),
                "crying": rate(self.with_crying),
                "emoji": rate(self.with_emoji),
                "slang": rate(self.with_slang),
                "local_ref": rate(self.with_local_ref),
            },
        }

    def table(self) -> str:
        data = self.as_dict()
        share = (lambda n: n / data["texts"]) if data["texts"] else (lambda n: 0.0)
        lines = [f"texts: {data['texts']}", "", "register    count   share  이름"]
        for register, count in data["registers"].items():
            lines.append(f"{register:<9} {count:>7} {share(count):>7.1%}  {REGISTER_NAMES[register]}")
        lines += ["", "level       count   share  이름"]
        for level, count in data["levels"].items():
            lines.append(f"{level:<9} {count:>7} {share(count):>7.1%}  {LEVEL_NAMES[level]}")
        lines += ["", f"mean Hangul share: {data['mean_hangul_share']}", "texts with ..."]
        lines += [f"  {name:<18} {value:.1%}" for name, value in data["rates"].items()]
        return "\n".join(lines)
