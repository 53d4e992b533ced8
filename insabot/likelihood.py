"""How likely a model finds a reply after a conversation: mean log-probability per token of the reply and its
end-of-turn token, as training supervises it. Reply selection (insabot/selection.py) ranks true replies against
distractors with it; reranked decoding (insabot/rerank.py) ranks sampled candidates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import torch

from insabot.finetune.loss import causal_lm
from insabot.finetune.render import end_of_turn_text
from insabot.models.output_vocab import TrimmedHead

BATCH = 16
"""Candidates scored in one forward pass over the shared context's cache."""
HEAD_ROWS = 128
"""Reply positions per LM-head call: 128 × 262k fp32 logits (Gemma) is 134 MB."""


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
