"""Round 14, offline: would a judge pick better written replies than the surface similarity does?

`written-candidates.jsonl` pools every written (corpus) reply that a blind rater scored in rounds 12 and 13 with the
mean of its scores, the opening it was written for, the retrieval similarity of that opening to the message, and
three mean log-likelihoods of the reply by the shipped adapter under the tone's system prompt: after the message,
after its own opening, after an empty user turn. For the messages with two or more rated candidates this prints
what each selector's pick scored on average, how often it orders two differently scored candidates of one message
rightly, and a selector whose weights are chosen by 5-fold cross-validation over messages (20 shuffles).

    python eval/ratings/round14/selectors.py
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
from collections import defaultdict
from pathlib import Path

CANDIDATES = Path(__file__).with_name("written-candidates.jsonl")


def transfer(r: dict) -> float:
    """How much worse the reply fits the message than the opening it was written for."""
    return r["lp_message"] - r["lp_opening"]


FEATURES = {
    "similarity": lambda r: r["similarity"],
    "log P(reply | message)": lambda r: r["lp_message"],
    "PMI: log P(reply | message) − log P(reply | empty)": lambda r: r["lp_message"] - r["lp_empty"],
    "transfer: log P(reply | message) − log P(reply | its opening)": transfer,
}
GRID = [(a, b) for a in (0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5) for b in (0, 0.02, 0.05, 0.1, 0.2)]


def mixed(a: float, b: float):
    """similarity + a · transfer + b · log P(reply | message)"""
    return lambda r: r["similarity"] + a * transfer(r) + b * r["lp_message"]


def picked(groups: list[list[dict]], score) -> float:
    return statistics.mean(max(group, key=score)["mean_score"] for group in groups)


def pairwise(groups: list[list[dict]], score) -> float:
    """Share of differently rated candidate pairs of one message that `score` orders as the raters did."""
    right = total = 0
    for group in groups:
        for x, y in itertools.combinations(group, 2):
            if x["mean_score"] != y["mean_score"]:
                total += 1
                right += (score(x) - score(y)) * (x["mean_score"] - y["mean_score"]) > 0
    return right / total


def cross_validated(groups: list[list[dict]], shuffles: int = 20, folds: int = 5) -> float:
    picks = []
    for seed in range(shuffles):
        order = groups[:]
        random.Random(seed).shuffle(order)
        for fold in range(folds):
            held = order[fold::folds]
            rest = [g for i, g in enumerate(order) if i % folds != fold]
            a, b = max(GRID, key=lambda ab: picked(rest, mixed(*ab)))
            picks.append(picked(held, mixed(a, b)))
    return statistics.mean(picks)


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    by_message = defaultdict(list)
    for line in CANDIDATES.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        by_message[row["message_id"]].append(row)
    groups = [group for group in by_message.values() if len(group) >= 2]
    print(f"{len(groups)} messages with two or more rated written candidates")
    print(f"  best rated candidate (oracle)  {picked(groups, lambda r: r['mean_score']):.3f}")
    for name, score in FEATURES.items():
        print(
            f"  {name}: pick {picked(groups, score):.3f}, pairs ordered rightly {pairwise(groups, score):.3f}"
        )
    print(f"  similarity + transfer + log P, weights cross-validated: pick {cross_validated(groups):.3f}")


if __name__ == "__main__":
    main()
