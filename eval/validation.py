"""Validation of the speech-level analyser against the project's labelled set (eval/data/speech_levels.jsonl)."""

from __future__ import annotations

import collections
from pathlib import Path

from insabot.korean.speech_level import LEVELS
from insabot.textio import read_jsonl

LABELLED_SET = Path(__file__).parent / "data" / "speech_levels.jsonl"


def load_labelled(path: Path = LABELLED_SET) -> list[dict]:
    """Rows of `{"id", "text", "level", "case"}`; every text carries one gold level."""
    return [row for _, row in read_jsonl(path)]


def score(gold: list[str], predicted: list[str]) -> dict:
    """Accuracy, per-class precision/recall/support and the confusion matrix (gold -> predicted -> count)."""
    confusion: dict[str, collections.Counter] = {level: collections.Counter() for level in LEVELS}
    for truth, guess in zip(gold, predicted, strict=True):
        confusion.setdefault(truth, collections.Counter())[guess] += 1
    per_class = {}
    for level in LEVELS:
        true_positive = confusion[level][level]
        predicted_as = sum(row[level] for row in confusion.values())
        support = sum(confusion[level].values())
        per_class[level] = {
            "precision": round(true_positive / predicted_as, 4) if predicted_as else None,
            "recall": round(true_positive / support, 4) if support else None,
            "support": support,
        }
    correct = sum(t == p for t, p in zip(gold, predicted, strict=True))
    return {
        "accuracy": round(correct / len(gold), 4),
        "items": len(gold),
        "per_class": per_class,
        "confusion": {truth: dict(row) for truth, row in confusion.items()},
    }


def format_score(result: dict) -> str:
    lines = [
        f"speech-level accuracy: {result['accuracy']:.2%} on {result['items']} labelled texts",
        "",
        "| level | precision | recall | support |",
        "|---|---|---|---|",
    ]
    for level, stats in result["per_class"].items():
        lines.append(f"| {level} | {stats['precision']} | {stats['recall']} | {stats['support']} |")
    predicted = sorted({guess for row in result["confusion"].values() for guess in row})
    lines += [
        "",
        "confusion (rows: gold, columns: predicted)",
        "| gold | " + " | ".join(predicted) + " |",
        "|---|" + "---|" * len(predicted),
    ]
    for truth, row in result["confusion"].items():
        lines.append(f"| {truth} | " + " | ".join(str(row.get(p, 0)) for p in predicted) + " |")
    return "\n".join(lines)


def main() -> None:
    """python -m insabot.eval.validation: score the analyser on the labelled set and print the tables."""
    from insabot.korean.analyze import analyze

    items = load_labelled()
    print(
        format_score(score([i["level"] for i in items], [a.level for a in analyze(i["text"] for i in items)]))
    )


if __name__ == "__main__":
    main()
