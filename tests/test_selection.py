"""Reply selection (insabot/selection.py): the candidates, the tie-exact ranking, λ chosen on validation only,
and the cached, reply-only log-likelihood against a plain full-logits pass on tiny Llama and Gemma models."""

from __future__ import annotations

import math

import pytest
import torch
from tolerance import assert_sums_close

from insabot.finetune.conversations import load_corpus
from insabot.finetune.loss import reference_token_losses
from insabot.finetune.render import IGNORE, render
from insabot.finetune.splits import assign_splits, load_frozen
from insabot.likelihood import mean_log_likelihoods, split_tokens
from insabot.selection import (
    Item,
    ItemScores,
    Turn,
    make_items,
    model_scorer,
    rank,
    selection_metrics,
    selection_scores,
    summarize,
    turns_of,
)

K = 10


@pytest.fixture(scope="module")
def splits():
    return assign_splits(load_corpus(), frozen=load_frozen())


@pytest.fixture(scope="module")
def test_turns(splits):
    return turns_of(splits["test"])


def test_distractors_are_other_conversations_replies_of_the_same_tone(test_turns):
    items = make_items(test_turns, K, seed=0)
    assert len(items) == len(test_turns) > 100  # every test turn has enough distractors
    written = {}
    for turn in test_turns:
        written.setdefault(turn.reply, set()).add((turn.conversation, turn.tone))
    for item in items:
        truth, *distractors = item.candidates
        assert truth == item.turn.reply and len(item.candidates) == K
        assert len(set(distractors)) == K - 1 and truth not in distractors
        for reply in distractors:
            assert any(
                conversation != item.turn.conversation and tone == item.turn.tone
                for conversation, tone in written[reply]
            )


def test_the_choice_is_deterministic_with_a_seed_and_a_slice_spans_the_split(test_turns):
    assert make_items(test_turns, K, seed=0) == make_items(test_turns, K, seed=0)
    assert make_items(test_turns, K, seed=0) != make_items(test_turns, K, seed=1)
    sliced = make_items(test_turns, K, seed=0, limit=12)
    assert len(sliced) == 12 and len({item.turn.conversation.split("-")[0] for item in sliced}) >= 8


def items_of(*conversations: str) -> list[Item]:
    return [
        Item(Turn(c, "banmal", [{"role": "user", "content": "?"}], f"{c}-0"), [f"{c}-{i}" for i in range(K)])
        for c in conversations
    ]


def test_a_scorer_that_prefers_the_truth_gets_hits_and_mrr_of_one():
    scores = [[1.0] + [0.0] * (K - 1), [9.0, *range(K - 1)]]
    assert summarize(scores) == {"hits_at_1": 1.0, "mrr": 1.0}


def test_a_constant_scorer_gets_exactly_the_random_rate():
    hit, reciprocal = rank([0.0] * K)
    assert hit == 1 / K
    assert math.isclose(reciprocal, sum(1 / r for r in range(1, K + 1)) / K)
    # a tie below a better candidate: ranks 2 and 3 equally likely
    assert rank([1.0, 2.0, 1.0]) == (0.0, (1 / 2 + 1 / 3) / 2)


def test_lambda_is_chosen_on_validation_and_only_applied_to_test():
    validation, test = items_of("v1", "v2"), items_of("t1", "t2")
    truth_first = [1.0] + [0.0] * (K - 1)
    # validation: the truth is generic (likely after anything), so only the PMI score finds it, at λ = 1;
    # test: the plain score finds the truth and λ = 1 would lose it, so a λ picked on test would be 0
    table = {
        "v": ItemScores([0.5] + [1.0] * (K - 1), [-0.6] + [0.0] * (K - 1)),
        "t": ItemScores(truth_first, [5.0] + [0.0] * (K - 1)),
    }
    seen = []

    def scorer(items):
        seen.append([item.turn.conversation for item in items])
        return [table[item.turn.conversation[0]] for item in items]

    metrics, lam = selection_metrics(scorer, validation, test)
    assert lam == 1.0 and seen == [["v1", "v2"], ["t1", "t2"]]
    assert metrics["selection_hits_at_1"] == 1.0 and metrics["selection_pmi_hits_at_1"] == 0.0


def test_a_constant_pmi_gets_the_smallest_lambda():
    items = items_of("v1")
    constant = ItemScores([0.0] * K, [0.0] * K)
    _, lam = selection_metrics(lambda batch: [constant for _ in batch], items, items)
    assert lam == 0.0


def tiny_gemma_with_softcap(tokenizer):
    from tiny_models import tiny_gemma3

    model = tiny_gemma3(tokenizer)  # sliding window 16: the contexts below are longer
    model.config.final_logit_softcapping = 30.0
    return model


@pytest.mark.parametrize("architecture", ["llama", "gemma3"])
def test_cached_reply_only_scores_equal_a_full_logits_pass(tiny, smol_tokenizer, test_turns, architecture):
    model = tiny[0] if architecture == "llama" else tiny_gemma_with_softcap(smol_tokenizer)
    item = next(i for i in make_items(test_turns, 4, seed=0) if len(i.turn.context) > 2)
    efficient = torch.tensor(mean_log_likelihoods(model, smol_tokenizer, item.turn.context, item.candidates))
    reference, lengths = [], []
    for reply in item.candidates:
        example = render(smol_tokenizer, [*item.turn.context, {"role": "assistant", "content": reply}], 4096)
        labels = torch.tensor([example.labels])
        # the last assistant turn only: the context's own replies are not scored
        prompt, reply_ids = split_tokens(smol_tokenizer, item.turn.context, reply)
        labels[0, : len(prompt)] = IGNORE
        with torch.no_grad():
            losses = reference_token_losses(model, torch.tensor([example.input_ids]), labels)
        assert len(losses) == len(reply_ids)
        reference.append(-losses.mean())
        lengths.append(len(example.input_ids))
    # each score sums a reply's token log-probabilities, each a dot product over the hidden size after
    # attention over the sequence
    assert_sums_close(efficient, torch.stack(reference), max(lengths) + model.config.hidden_size)


def test_model_scores_are_deterministic_and_in_range(tiny, splits):
    model, tokenizer = tiny
    first = selection_scores(model, tokenizer, splits["validation"], k=4, seed=3, limit=3)
    assert first == selection_scores(model, tokenizer, splits["validation"], k=4, seed=3, limit=3)
    assert first["turns"] == 3 and 0.0 <= first["hits_at_1"] <= first["mrr"] <= 1.0
    scorer = model_scorer(model, tokenizer)
    items = make_items(turns_of(splits["test"]), 4, seed=0, limit=2)
    assert scorer(items) == scorer(items)
