"""`insabot data check`: what a conversation dataset holds, and what is wrong with it.

The same numbers fill the bundled corpus's data card (`insabot data card`), so the card cannot drift
from the data: a test regenerates it and compares.
"""

from __future__ import annotations

import collections
import statistics
from dataclasses import dataclass, field
from typing import Any

from insabot.finetune.conversations import Conversation
from insabot.finetune.dedupe import Duplicate, deduplicate
from insabot.finetune.splits import assign_splits
from insabot.korean.analyze import analyze
from insabot.korean.speech_level import tone_ok


@dataclass
class Report:
    conversations: int
    per_category: dict[str, dict[str, int]]
    user_turns: dict[int, int]
    lengths: dict[str, dict[str, float]]
    splits: dict[str, int]
    duplicates: list[Duplicate]
    tone_agreement: float
    assistant_hangul_share: float
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "per_category": self.per_category,
            "user_turns": self.user_turns,
            "lengths": self.lengths,
            "splits": self.splits,
            "duplicates": [
                {"id": d.conversation.id, "duplicate_of": d.original.id, "kind": d.kind}
                for d in self.duplicates
            ],
            "duplicate_rate": round(len(self.duplicates) / max(self.conversations, 1), 4),
            "tone_agreement": self.tone_agreement,
            "assistant_hangul_share": self.assistant_hangul_share,
            "problems": self.problems,
        }


def _describe(values: list[int]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "mean": round(statistics.fmean(ordered), 1),
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
    }


def build_report(
    conversations: list[Conversation], problems: list[str], tokenizer: Any = None, frozen: dict | None = None
) -> Report:
    per_category: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for conversation in conversations:
        per_category[conversation.category][conversation.tone] += 1
    assistant = [(c.tone, text) for c in conversations for text in c.turns("assistant")]
    analyses = analyze(text for _, text in assistant)
    agreement = sum(
        tone_ok(a.sentences, tone) is not False for (tone, _), a in zip(assistant, analyses, strict=True)
    )
    lengths = {
        "user_turn_chars": _describe([len(t) for c in conversations for t in c.turns("user")]),
        "assistant_turn_chars": _describe([len(t) for c in conversations for t in c.turns("assistant")]),
    }
    if tokenizer is not None:
        rendered = [tokenizer.apply_chat_template(c.messages, tokenize=True) for c in conversations]
        lengths["conversation_tokens"] = _describe([len(_ids(r)) for r in rendered])
    _, duplicates = deduplicate(conversations)
    return Report(
        conversations=len(conversations),
        per_category={name: dict(sorted(counts.items())) for name, counts in sorted(per_category.items())},
        user_turns=dict(sorted(collections.Counter(len(c.turns("user")) for c in conversations).items())),
        lengths=lengths,
        splits={name: len(items) for name, items in assign_splits(conversations, frozen=frozen).items()},
        duplicates=duplicates,
        tone_agreement=round(agreement / max(len(assistant), 1), 4),
        assistant_hangul_share=round(statistics.fmean(a.hangul_share or 0.0 for a in analyses), 4)
        if analyses
        else 0.0,
        problems=problems,
    )


def _ids(rendered: Any) -> list[int]:
    return rendered["input_ids"] if isinstance(rendered, dict) or hasattr(rendered, "keys") else rendered


def format_report(report: Report) -> str:
    tones = sorted({tone for counts in report.per_category.values() for tone in counts})
    lines = [f"conversations: {report.conversations}", "", "| category | " + " | ".join(tones) + " | total |"]
    lines.append("|---|" + "---|" * (len(tones) + 1))
    totals = collections.Counter()
    for category, counts in report.per_category.items():
        totals.update(counts)
        cells = " | ".join(str(counts.get(tone, 0)) for tone in tones)
        lines.append(f"| {category} | {cells} | {sum(counts.values())} |")
    lines.append("| **all** | " + " | ".join(str(totals[t]) for t in tones) + f" | {sum(totals.values())} |")
    lines += [
        "",
        "user turns per conversation: " + ", ".join(f"{k}: {v}" for k, v in report.user_turns.items()),
    ]
    lines += ["", "| length | mean | median | p95 | max |", "|---|---|---|---|---|"]
    for name, stats in report.lengths.items():
        lines.append(f"| {name} | {stats['mean']} | {stats['median']} | {stats['p95']} | {stats['max']} |")
    lines += [
        "",
        "splits: " + ", ".join(f"{k} {v}" for k, v in report.splits.items()),
        f"duplicates: {len(report.duplicates)} ({len(report.duplicates) / max(report.conversations, 1):.2%})",
        f"assistant turns matching the requested tone: {report.tone_agreement:.2%}",
        f"assistant turns' mean Hangul share: {report.assistant_hangul_share:.3f}",
    ]
    lines += [
        f"  duplicate: {d.conversation.source} ({d.conversation.id}) = {d.original.id} [{d.kind}]"
        for d in report.duplicates
    ]
    lines.append(f"problems: {len(report.problems)}")
    lines += [f"  {problem}" for problem in report.problems]
    return "\n".join(lines)


CARD_INTRO = """# Data card: the insabot corpus

Korean KakaoTalk-style conversations between a user and 인싸봇, the friend who knows what's hot
(핫플, 밈, K-pop, 드라마, 웹툰...). OpenAI `messages` JSONL, one shard per category in `finetune/corpus/`,
each row with `id`, `category`, `tone` (`banmal` | `jondaetmal`) and `messages` (system, then user and
assistant alternating, 1-4 user turns). The system prompt is the persona prompt of the tone, exactly as in
`insabot/chat.py`, so the chat's tone control selects what the model was trained on.

## How it was written
Every conversation was written for this project, one by one, in natural Korean (not translated, not copied
from any corpus, not generated from templates), following `shared/korean-chat-style.md`: short turns,
varied openings, real neighbourhoods, foods, apps and seasons, slang only where it fits its meaning.
Each category shard was written separately and reviewed by reading samples for naturalness, tone
correctness and duplicates. No personal data; no invented private facts about real people; no invented
shop names, prices or opening hours. Drafts the bot writes for the user to send (group-chat replies,
말투 바꾸기) are quoted, so the tone gate reads the bot's own words.

## Numbers
Produced by `insabot data card` (the same code as `insabot data check`; a test keeps this file in sync).
Token lengths use the Llama-family base's tokenizer (SmolLM2, ~3 tokens per Hangul syllable).

"""

CARD_OUTRO = """

## Splits
Stratified by category and tone, frozen in `finetune/corpus/splits.json`: the test split is used by the
eval harness and for the fine-tune's held-out loss, never for training.

## License
Apache-2.0, like the code.
"""


def data_card(report: Report) -> str:
    return CARD_INTRO + format_report(report) + CARD_OUTRO
