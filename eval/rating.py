"""The blind rated read: a rating sheet that hides which run wrote each reply, and the join of its scores.

`write_sheet` takes two or more runs' `insabot generate` output (one JSONL row per message), pairs every reply
with its message, shuffles all the pairs with a seeded RNG and gives each an opaque random id. The sheet holds
only what the rater needs to judge a reply — id, requested tone, message, reply — so run names, models, system
prompts, token counts and file order cannot sway the score. The private key maps each id back to its run and
message. `summarize` joins the rater's scores (0/1/2, eval/rubric.md) with the key into per-run figures and
pairwise win rates.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

from insabot.chat import TONE_LABELS, canonical_tone
from insabot.korean.loops import has_repeated_unit
from insabot.textio import InputError, read_jsonl, write_jsonl_atomic

SCORES = (0, 1, 2)
ID_BITS = 32  # 8 hex digits: short enough to copy into a scores file, and collisions are redrawn


@dataclass(frozen=True)
class Reply:
    """One run's reply to one message; `message_id` is the reply file's `id`, or the prompt when it has none."""

    run: str
    message_id: str
    tone: str
    message: str
    reply: str


@dataclass(frozen=True)
class KeyRow:
    """The private half of a sheet row: which run answered which message. The reply is kept so that
    loops are counted at join time with the current detector."""

    id: str
    run: str
    message_id: str
    reply: str


@dataclass(frozen=True)
class RunSummary:
    run: str
    n: int
    mean: float
    share_0: float
    share_2: float
    loops: int


@dataclass(frozen=True)
class PairSummary:
    """`a_wins`: the share of the messages both runs answered where a's reply scored higher, ties counting
    half; None when they answered none in common."""

    a: str
    b: str
    messages: int
    a_wins: float | None


def parse_runs(specs: Iterable[str]) -> dict[str, Path]:
    """Run name -> reply file, from the command line's `NAME=FILE` specs."""
    runs: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        name = name.strip()
        if not (sep and name and path):
            raise InputError(
                f"--run {spec!r}: expected NAME=FILE, e.g. tuned-greedy=runs/tuned/replies.jsonl"
            )
        if name in runs:
            raise InputError(f"--run {spec!r}: run name {name!r} is given twice")
        runs[name] = Path(path)
    return runs


def read_replies(run: str, path: Path) -> list[Reply]:
    """A run's replies, in file order; a message answered twice in one file is refused."""
    replies: dict[str, Reply] = {}
    for number, row in read_jsonl(path):
        where = f"{path}:{number}"
        for field in ("prompt", "tone", "reply"):
            if not isinstance(row.get(field), str):
                raise InputError(f"{where}: needs a text {field!r} (a row written by insabot generate)")
        tone = canonical_tone(row["tone"])
        if tone is None:
            raise InputError(f"{where}: unknown tone {row['tone']!r}")
        message_id = str(row["id"]) if "id" in row else row["prompt"]
        if message_id in replies:
            raise InputError(f"{where}: message {message_id!r} is answered twice in this run")
        replies[message_id] = Reply(run, message_id, tone, row["prompt"], row["reply"])
    if not replies:
        raise InputError(f"{path}: no replies (the file is empty)")
    return list(replies.values())


def check_same_messages(runs: list[list[Reply]]) -> None:
    """Runs joined on an id must have been asked the same thing; otherwise they answered different sets."""
    asked: dict[str, Reply] = {}
    for reply in (reply for replies in runs for reply in replies):
        first = asked.setdefault(reply.message_id, reply)
        if (first.message, first.tone) != (reply.message, reply.tone):
            raise InputError(
                f"message {reply.message_id!r}: run {first.run!r} was asked {first.message!r} ({first.tone}), "
                f"run {reply.run!r} was asked {reply.message!r} ({reply.tone}); are these the same message set?"
            )


def build_sheet(runs: list[list[Reply]], seed: int) -> tuple[list[dict], list[KeyRow]]:
    """(sheet rows in shuffled order, key rows in run order). Ids are drawn from the seeded RNG, never from
    the run, so neither the ids nor the row order say which run wrote a reply."""
    rng = random.Random(seed)
    pairs = [reply for replies in runs for reply in replies]
    rng.shuffle(pairs)
    ids: dict[str, None] = {}  # an ordered set: a draw that repeats an id is simply drawn again
    while len(ids) < len(pairs):
        ids[f"{rng.getrandbits(ID_BITS):08x}"] = None
    sheet = [
        # the ends are stripped: a backend's habit of leading or trailing whitespace would mark its run
        {"id": opaque, "tone": TONE_LABELS[r.tone], "message": r.message, "reply": r.reply.strip()}
        for opaque, r in zip(ids, pairs, strict=True)
    ]
    opaque_of = dict(zip(pairs, ids, strict=True))  # a Reply is unique: one per run and message
    key = [KeyRow(opaque_of[r], r.run, r.message_id, r.reply) for replies in runs for r in replies]
    return sheet, key


def write_sheet(runs: dict[str, Path], seed: int, sheet_path: Path, key_path: Path) -> tuple[int, int]:
    """Write the sheet and its key; (replies, distinct messages)."""
    if len(runs) < 2:
        raise InputError("rate sheet: give two or more --run NAME=FILE (a blind read compares runs)")
    if sheet_path.resolve() == key_path.resolve():
        raise InputError(f"rate sheet: the sheet and the key must be different files ({sheet_path})")
    replies = [read_replies(name, path) for name, path in runs.items()]
    check_same_messages(replies)
    sheet, key = build_sheet(replies, seed)
    write_jsonl_atomic(sheet, sheet_path)
    write_jsonl_atomic([asdict(row) for row in key], key_path)
    return len(sheet), len({row.message_id for row in key})


def read_key(path: Path) -> list[KeyRow]:
    rows: list[KeyRow] = []
    seen: set[str] = set()
    for number, row in read_jsonl(path):
        where = f"{path}:{number}"
        if not all(isinstance(row.get(field), str) for field in ("id", "run", "message_id", "reply")):
            raise InputError(f"{where}: a key row needs text 'id', 'run', 'message_id' and 'reply'")
        if row["id"] in seen:
            raise InputError(f"{where}: id {row['id']!r} appears twice")
        seen.add(row["id"])
        rows.append(KeyRow(row["id"], row["run"], row["message_id"], row["reply"]))
    if not rows:
        raise InputError(f"{path}: the key is empty")
    return rows


def read_scores(path: Path, ids: Iterable[str]) -> dict[str, int]:
    """Score by sheet id. Every id of the key must be scored exactly once, with 0, 1 or 2."""
    expected = set(ids)
    scores: dict[str, int] = {}
    lines: dict[str, int] = {}
    for number, row in read_jsonl(path):
        where = f"{path}:{number}"
        opaque, score = row.get("id"), row.get("score")
        if not isinstance(opaque, str):
            raise InputError(f"{where}: needs the sheet's 'id' (text)")
        if opaque not in expected:
            raise InputError(f"{where}: id {opaque!r} is not on the sheet")
        if opaque in scores:
            raise InputError(f"{where}: id {opaque!r} was already scored at line {lines[opaque]}")
        if type(score) is not int or score not in SCORES:  # not true/false, 2.0 or "2"
            raise InputError(f"{where}: score {score!r} for id {opaque!r}; a score is 0, 1 or 2")
        if "note" in row and not isinstance(row["note"], str):
            raise InputError(f"{where}: 'note' must be text")
        scores[opaque], lines[opaque] = score, number
    missing = sorted(expected - scores.keys())
    if missing:
        shown = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
        raise InputError(f"{path}: {len(missing)} sheet id(s) have no score: {shown}")
    return scores


def summarize(key: list[KeyRow], scores: dict[str, int]) -> tuple[list[RunSummary], list[PairSummary]]:
    """Per-run figures in the key's run order, and every pair of runs on the messages both answered."""
    by_run: dict[str, dict[str, KeyRow]] = {}
    for row in key:
        by_run.setdefault(row.run, {})[row.message_id] = row
    runs = [_run_summary(name, list(rows.values()), scores) for name, rows in by_run.items()]
    pairs = [_pair_summary(a, b, by_run[a], by_run[b], scores) for a, b in combinations(list(by_run), 2)]
    return runs, pairs


def _run_summary(name: str, rows: list[KeyRow], scores: dict[str, int]) -> RunSummary:
    values = [scores[row.id] for row in rows]
    n = len(values)
    return RunSummary(
        run=name,
        n=n,
        mean=sum(values) / n,
        share_0=values.count(0) / n,
        share_2=values.count(2) / n,
        loops=sum(has_repeated_unit(row.reply) for row in rows),
    )


def _pair_summary(
    a: str, b: str, rows_a: dict[str, KeyRow], rows_b: dict[str, KeyRow], scores: dict[str, int]
) -> PairSummary:
    common = [m for m in rows_a if m in rows_b]
    points = 0.0
    for message in common:
        score_a, score_b = scores[rows_a[message].id], scores[rows_b[message].id]
        points += 1.0 if score_a > score_b else 0.5 if score_a == score_b else 0.0
    return PairSummary(a, b, len(common), points / len(common) if common else None)


def markdown(runs: list[RunSummary], pairs: list[PairSummary]) -> str:
    lines = [
        "| run | n | mean score | 0s | 2s | loops |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r.run} | {r.n} | {r.mean:.2f} | {r.share_0:.0%} | {r.share_2:.0%} | {r.loops} |"
            for r in runs
        ),
        "",
        "| A | B | messages both answered | A wins (ties ½) |",
        "|---|---|---|---|",
        *(f"| {p.a} | {p.b} | {p.messages} | {_percent(p.a_wins)} |" for p in pairs),
    ]
    return "\n".join(lines) + "\n"


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def as_json(runs: list[RunSummary], pairs: list[PairSummary]) -> str:
    return json.dumps(
        {"runs": [asdict(r) for r in runs], "pairs": [asdict(p) for p in pairs]}, ensure_ascii=False, indent=1
    )
