"""The real-style message set: what people actually send a friend on KakaoTalk as a first line.

`eval/data/real_messages.jsonl` holds 248 messages written for this project (never copied, never in the
corpus or the probes): fragments without a question ("출근 중.."), venting, spoken spellings and typos, one-word
and ㅋㅋ/emoji-only lines, across the corpus's 14 categories and everyday worries (일상 고민), in both tones.
It was frozen before any model was trained against it (`FROZEN_SHA256`; a test holds the file to it) and
split once, stratified by category and tone: `dev` for choosing settings, `test` for reported numbers.
It has no reference replies: replies to it are judged by a blind rated read (eval/rubric.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from insabot.chat import canonical_tone
from insabot.textio import InputError, read_jsonl

REAL_MESSAGES = Path(__file__).parent / "data" / "real_messages.jsonl"
# Changing the set after models were tuned or chosen against it would void every number reported on it.
FROZEN_SHA256 = "f25609dcbc7fde6684214102ffce3c60b41e6fe1978dfc7d9362773f205facbd"
Split = Literal["dev", "test"]


@dataclass(frozen=True)
class RealMessage:
    id: str
    category: str
    tone: str
    split: Split
    text: str


def load_real_messages(split: Split | None = None, path: Path = REAL_MESSAGES) -> list[RealMessage]:
    """The messages of one half (or all), in file order."""
    messages = []
    for number, row in read_jsonl(path):
        where = f"{path}:{number}"
        missing = [key for key in ("id", "category", "tone", "split", "text") if key not in row]
        if missing:
            raise InputError(f"{where}: missing field {missing[0]!r}")
        tone = canonical_tone(row["tone"])
        if tone is None or row["split"] not in ("dev", "test") or not str(row["text"]).strip():
            raise InputError(f"{where}: needs a known tone, split dev|test and a non-empty text")
        if split is None or row["split"] == split:
            messages.append(RealMessage(row["id"], row["category"], tone, row["split"], row["text"]))
    return messages


def main() -> None:
    """`python -m insabot.eval.real_messages --split test --out FILE`: one half as `insabot generate` input."""
    import argparse

    from insabot.textio import write_jsonl_atomic

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--split", choices=("dev", "test"), required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rows = [{"id": m.id, "tone": m.tone, "text": m.text} for m in load_real_messages(args.split)]
    write_jsonl_atomic(rows, args.out)


if __name__ == "__main__":
    main()
