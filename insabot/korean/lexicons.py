"""The project's Korean lexicons (slang glossary, local references, accepted loan tokens), loaded once."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from insabot.chat import nfc

LEXICON_DIR = Path(__file__).parent / "lexicons"


@dataclass(frozen=True)
class SlangEntry:
    term: str
    forms: tuple[str, ...]
    meaning: str
    example: str


def _read(name: str):
    return yaml.safe_load((LEXICON_DIR / name).read_text(encoding="utf-8"))


@functools.cache
def slang_entries() -> tuple[SlangEntry, ...]:
    return tuple(
        SlangEntry(nfc(row["term"]), tuple(nfc(f) for f in row["forms"]), row["meaning"], row["example"])
        for row in _read("slang.yaml")
    )


@functools.cache
def local_terms() -> dict[str, str]:
    """term -> group (places, apps, brands_and_services, k_content), longest terms first."""
    groups = _read("local.yaml")
    pairs = [(nfc(str(term)), group) for group, terms in groups.items() for term in terms]
    return dict(sorted(pairs, key=lambda pair: -len(pair[0])))


@functools.cache
def loan_tokens() -> frozenset[str]:
    return frozenset(str(token).lower() for token in _read("loan_tokens.yaml"))
