"""Reply selection: does the model prefer a turn's true reply to replies written for other conversations?

For each assistant turn of a split (the conversation so far and its reply), the true reply competes with
K−1 distractors: true replies of other conversations in the split, of the same tone and similar length, so
neither the speech level nor the length gives the answer away. The model ranks the K candidates by mean
log-likelihood per token given the context; hits@1 and MRR follow (random: 1/K and H_K/K). No generation:
a fluent model that ignores the message scores at chance, which the probe metrics cannot see.

The PMI score subtracts λ × the reply's mean log-likelihood after an empty user turn (same system prompt),
so a reply that is likely after anything (a generic "ㅋㅋ 인정") gains nothing from it; λ is chosen on the
validation split and only applied to the test split.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from insabot.finetune.conversations import Conversation
from insabot.likelihood import mean_log_likelihoods

LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0)
NEAREST = 3
"""Distractors are drawn from the NEAREST × (K−1) replies closest in length: close enough that length gives
little away, many enough that the seed matters."""


@dataclass(frozen=True)
class Turn:
    conversation: str
    tone: str
    context: list[dict[str, str]]
    reply: str


@dataclass(frozen=True)
class Item:
    """One ranking problem: the turn and its candidates, the true reply first (ties are scored
    fractionally, so the position never helps)."""

    turn: Turn
    candidates: list[str]


@dataclass(frozen=True)
class ItemScores:
    """Mean log-likelihood per token of each candidate, after the context and after an empty user turn."""

    conditional: list[float]
    null: list[float]

    def pmi(self, lam: float) -> list[float]:
        return [c - lam * n for c, n in zip(self.conditional, self.null, strict=True)]


Scorer = Callable[[Sequence[Item]], list[ItemScores]]


def turns_of(conversations: Sequence[Conversation]) -> list[Turn]:
    """Every assistant turn with the messages before it."""
    return [
        Turn(c.id, c.tone, c.messages[:index], message["content"])
        for c in conversations
        for index, message in enumerate(c.messages)
        if message["role"] == "assistant"
    ]


def make_items(turns: Sequence[Turn], k: int, seed: int, limit: int | None = None) -> list[Item]:
    """Ranking problems for `limit` turns spread evenly over `turns` (all when None), distractors drawn from
    all of `turns`. A turn with fewer than K−1 eligible distractors is left out, so the chance rate stays 1/K."""
    chosen = _spread(len(turns), limit)
    items = []
    for index in chosen:
        distractors = _distractors(turns, turns[index], k - 1, random.Random(f"{seed}:{index}"))
        if distractors is not None:
            items.append(Item(turns[index], [turns[index].reply, *distractors]))
    return items


def _spread(total: int, limit: int | None) -> list[int]:
    # evenly spaced, so a small slice still spans the shards' categories (the corpus is ordered by category)
    if limit is None or limit >= total:
        return list(range(total))
    return [i * total // limit for i in range(limit)]


def _distractors(turns: Sequence[Turn], truth: Turn, count: int, rng: random.Random) -> list[str] | None:
    eligible = dict.fromkeys(
        t.reply
        for t in turns
        if t.conversation != truth.conversation and t.tone == truth.tone and t.reply != truth.reply
    )
    if len(eligible) < count:
        return None
    nearest = sorted(eligible, key=lambda reply: abs(len(reply) - len(truth.reply)))[: NEAREST * count]
    return rng.sample(nearest, count)


def rank(scores: Sequence[float]) -> tuple[float, float]:
    """(hit@1, reciprocal rank) of candidate 0, in expectation over a random order of tied candidates: with
    s candidates strictly better and t tied (itself included), hit = 1/t if s = 0, and the reciprocal rank
    is the mean of 1/r for r = s+1 … s+t."""
    truth = scores[0]
    better = sum(score > truth for score in scores)
    tied = sum(score == truth for score in scores)
    reciprocal = sum(1 / r for r in range(better + 1, better + tied + 1)) / tied
    return (1 / tied if better == 0 else 0.0), reciprocal


def summarize(scores: Sequence[Sequence[float]]) -> dict[str, float | None]:
    """hits@1 and MRR over items (candidate 0 true)."""
    if not scores:
        return {"hits_at_1": None, "mrr": None}
    ranks = [rank(item) for item in scores]
    return {
        "hits_at_1": round(sum(hit for hit, _ in ranks) / len(ranks), 4),
        "mrr": round(sum(rr for _, rr in ranks) / len(ranks), 4),
    }


def choose_lambda(validation: Sequence[ItemScores], grid: Sequence[float] = LAMBDAS) -> float:
    """The λ of `grid` with the best validation MRR (the smallest on a tie: the least correction)."""
    return max(grid, key=lambda lam: (summarize([s.pmi(lam) for s in validation])["mrr"] or 0.0, -lam))


def selection_metrics(
    scorer: Scorer, validation: Sequence[Item], test: Sequence[Item], grid: Sequence[float] = LAMBDAS
) -> tuple[dict[str, float | None], float]:
    """The test split's plain and PMI hits@1/MRR, and the λ chosen on `validation` (never on `test`)."""
    lam = choose_lambda(scorer(validation), grid)
    scores = scorer(test)
    plain = summarize([s.conditional for s in scores])
    pmi = summarize([s.pmi(lam) for s in scores])
    metrics = {
        "selection_hits_at_1": plain["hits_at_1"],
        "selection_mrr": plain["mrr"],
        "selection_pmi_hits_at_1": pmi["hits_at_1"],
        "selection_pmi_mrr": pmi["mrr"],
    }
    return metrics, lam


def corpus_selection(model: Any, tokenizer: Any, turns: int | None, k: int, seed: int) -> dict[str, Any]:
    """Reply selection on `turns` turns of the bundled corpus's frozen test split (None = all), λ chosen on as
    many validation turns: {"metrics": {...}, "turns", "validation_turns", "k", "seed", "pmi_lambda"}."""
    from insabot.finetune.conversations import load_corpus
    from insabot.finetune.splits import assign_splits, load_frozen

    splits = assign_splits(load_corpus(), frozen=load_frozen())
    validation = make_items(turns_of(splits["validation"]), k, seed, turns)
    test = make_items(turns_of(splits["test"]), k, seed, turns)
    metrics, lam = selection_metrics(model_scorer(model, tokenizer), validation, test)
    return {
        "metrics": metrics,
        "turns": len(test),
        "validation_turns": len(validation),
        "k": k,
        "seed": seed,
        "pmi_lambda": lam,
    }


def model_scorer(model: Any, tokenizer: Any) -> Scorer:
    """Scores items with `model`; each reply's null score is computed once however often it is a candidate."""
    null_cache: dict[tuple[str, str], float] = {}

    def score(items: Sequence[Item]) -> list[ItemScores]:
        wanted: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for item in items:
            wanted[_system(item.turn.context)].update(item.candidates)
        for system, replies in wanted.items():
            missing = sorted(reply for reply in replies if (_key(system), reply) not in null_cache)
            context = [{"role": "system", "content": s} for s in system] + [{"role": "user", "content": ""}]
            for reply, value in zip(
                missing, mean_log_likelihoods(model, tokenizer, context, missing), strict=True
            ):
                null_cache[(_key(system), reply)] = value
        return [
            ItemScores(
                mean_log_likelihoods(model, tokenizer, item.turn.context, item.candidates),
                [null_cache[(_key(_system(item.turn.context)), reply)] for reply in item.candidates],
            )
            for item in items
        ]

    return score


def _system(context: Sequence[dict[str, str]]) -> tuple[str, ...]:
    return tuple(m["content"] for m in context if m["role"] == "system")


def _key(system: tuple[str, ...]) -> str:
    return "\n".join(system)


def selection_scores(
    model: Any,
    tokenizer: Any,
    conversations: Sequence[Conversation],
    k: int = 10,
    seed: int = 0,
    limit: int | None = None,
) -> dict[str, float | None]:
    """Plain hits@1 and MRR on `limit` turns of `conversations` (e.g. a validation slice during training;
    call it with the model in eval mode, as dropout would blur the ranking): distractors come from the same
    conversations."""
    items = make_items(turns_of(conversations), k, seed, limit)
    scores = [mean_log_likelihoods(model, tokenizer, i.turn.context, i.candidates) for i in items]
    return {**summarize(scores), "turns": len(items)}
