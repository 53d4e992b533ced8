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

import torch

from insabot.finetune.conversations import Conversation
from insabot.finetune.loss import causal_lm
from insabot.finetune.render import end_of_turn_text
from insabot.models.output_vocab import TrimmedHead

LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0)
NEAREST = 3
"""Distractors are drawn from the NEAREST × (K−1) replies closest in length: close enough that length gives
little away, many enough that the seed matters."""
BATCH = 16
"""Candidates scored in one forward pass over the shared context's cache."""
HEAD_ROWS = 128
"""Reply positions per LM-head call: 128 × 262k fp32 logits (Gemma) is 134 MB."""


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


def split_tokens(
    tokenizer: Any, context: Sequence[dict[str, str]], reply: str
) -> tuple[list[int], list[int]]:
    """(context ids up to the generation prompt, the reply's ids through its end-of-turn token), tokenized as
    `finetune.render` tokenizes the whole conversation, so the reply tokens are the ones training supervises."""
    before = tokenizer.apply_chat_template(list(context), tokenize=False, add_generation_prompt=True)
    through = tokenizer.apply_chat_template(
        [*context, {"role": "assistant", "content": reply}], tokenize=False
    )
    eot = end_of_turn_text(tokenizer)
    end = through.index(eot, len(before)) + len(eot)
    encoded = tokenizer(through[:end], add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    # a token that straddles the boundary belongs to the context, as render leaves it unsupervised
    cut = sum(start < len(before) for start, _ in offsets)
    return ids[:cut], ids[cut:]


def mean_log_likelihoods(
    model: Any, tokenizer: Any, context: Sequence[dict[str, str]], replies: Sequence[str]
) -> list[float]:
    """Mean log-probability per token of each reply (with its end-of-turn token) after `context`.

    The context is encoded once per batch of replies and its cache shared; the LM head runs on the reply
    positions only (Gemma's head is 262k wide: logits over the context would cost more than everything else)."""
    pieces = [split_tokens(tokenizer, context, reply) for reply in replies]
    # replies share the context's tokens unless a tokenizer merges across the boundary: group by them
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for index, (prompt, _) in enumerate(pieces):
        groups[tuple(prompt)].append(index)
    result = [0.0] * len(replies)
    for prompt, indices in groups.items():
        for start in range(0, len(indices), BATCH):
            batch = indices[start : start + BATCH]
            scores = _score_batch(model, list(prompt), [pieces[i][1] for i in batch])
            for index, value in zip(batch, scores, strict=True):
                result[index] = value
    return result


@torch.no_grad()
def _score_batch(model: Any, prompt: list[int], replies: list[list[int]]) -> list[float]:
    lm = causal_lm(model)
    decoder, device = lm.get_decoder(), lm.device
    encoded = decoder(input_ids=torch.tensor([prompt], device=device), use_cache=True)
    cache = encoded.cache
    cache.batch_repeat_interleave(len(replies))
    width = max(map(len, replies))
    # right padding needs no attention mask: causal attention never lets a reply token see the padding after it
    targets = torch.tensor([r + [r[-1]] * (width - len(r)) for r in replies], device=device)
    hidden = decoder(input_ids=targets, cache=cache, use_cache=True).last_hidden_state
    # the hidden state before each reply token predicts it: the context's last one, then the reply's own
    last = encoded.last_hidden_state[:, -1:].expand(len(replies), 1, -1)
    predictors = torch.cat([last, hidden[:, :-1]], dim=1)
    keep = torch.tensor([[j < len(r) for j in range(width)] for r in replies], device=device)
    log_probs = _token_log_probs(lm, predictors[keep], targets[keep])
    sums = torch.zeros(len(replies), device=device).index_add_(
        0, keep.nonzero()[:, 0], log_probs.to(torch.float32)
    )
    return [float(total) / len(r) for total, r in zip(sums, replies, strict=True)]


def _token_log_probs(lm: Any, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(target) of each row. A trimmed head (insabot/models/output_vocab.py) normalises over its kept ids, as
    the generation it scores does, for a twentieth of the work; the kept set cannot cover every text (a reply of
    one's own data, English re-tokenized into a word outside it), so a row whose target is not kept is scored by
    the full head: the untrimmed model's log-probability, where the trimmed one would say −inf."""
    head = lm.get_output_embeddings()
    softcap = getattr(lm.config, "final_logit_softcapping", None)
    if not isinstance(head, TrimmedHead):
        return _log_probs(head, hidden, targets, softcap)
    columns = head.positions(targets)
    kept = columns >= 0
    out = torch.empty(len(targets), device=hidden.device)
    out[kept] = _log_probs(head.kept_logits, hidden[kept], columns[kept], softcap)
    out[~kept] = _log_probs(head.full, hidden[~kept], targets[~kept], softcap)
    return out


def _log_probs(
    head: Callable[[torch.Tensor], torch.Tensor],
    hidden: torch.Tensor,
    columns: torch.Tensor,
    softcap: float | None,
) -> torch.Tensor:
    """The log-softmax of `head`'s logits at `columns`, HEAD_ROWS rows at a time."""
    out = [hidden.new_zeros(0, dtype=torch.float32)]
    for start in range(0, hidden.shape[0], HEAD_ROWS):
        logits = head(hidden[start : start + HEAD_ROWS]).float()
        if softcap:
            logits = torch.tanh(logits / softcap) * softcap
        picked = logits.gather(1, columns[start : start + HEAD_ROWS, None]).squeeze(1)
        out.append(picked - torch.logsumexp(logits, dim=-1))
    return torch.cat(out)
