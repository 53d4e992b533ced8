"""Causal-LM loss computed only where it is needed.

With assistant-only labels most positions carry no loss, so running the LM head (49k-262k wide) on
every position wastes most of a step on CPU. We run the decoder, keep the hidden states of the
supervised positions, and apply the head and the cross-entropy to those rows only.

When the head is frozen (plain LoRA), the head and the cross-entropy also run chunk by chunk with
the gradient taken on the spot (the idea of Liger's fused linear cross-entropy): a 1024-token Gemma
row would otherwise keep ~600 × 262,144 fp32 logits, their log-softmax and its gradient alive at
once (~2 GB), more than the whole plain-Trainer baseline's peak.

With a trimmed output vocabulary (`model.output_vocab`, insabot/models/output_vocab.py) the head is cut to the
kept rows first — Gemma's 262,144 to ~12k — and the softmax runs over them, as generation's does.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from insabot.finetune.render import IGNORE
from insabot.models.output_vocab import TrimmedHead, kept_positions


def causal_lm(model: Any) -> Any:
    """The transformers *ForCausalLM under a PEFT wrapper (LoRA layers are injected in place)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def supervised_loss_sum(
    model: Any, batch: dict[str, torch.Tensor], kept_ids: torch.Tensor | None = None
) -> tuple[torch.Tensor, int]:
    """(sum of token losses over supervised positions, number of such positions).

    `kept_ids` (sorted; the trimmed output vocabulary, insabot/models/output_vocab.py) puts only those rows of the
    head in the softmax, and must hold every supervised token; a loaded model's `TrimmedHead` brings its own."""
    lm = causal_lm(model)
    hidden = lm.get_decoder()(
        input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
    ).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    count = int(keep.sum())
    if count == 0:
        return hidden.sum() * 0.0, 0
    head = lm.get_output_embeddings()
    softcap = getattr(lm.config, "final_logit_softcapping", None)
    supervised_hidden, targets = hidden[:, :-1][keep], targets[keep]
    if isinstance(head, TrimmedHead):
        weight, targets = head.kept_weight, _kept_columns(head.kept_ids, targets)
    elif kept_ids is not None:
        weight, targets = kept_rows(head, kept_ids), _kept_columns(kept_ids, targets)
    elif isinstance(head, torch.nn.Linear) and head.bias is None:
        weight = head.weight
    else:  # not a plain linear layer (PEFT's trainable token rows on a tied head): its own forward, whole
        weight = None
    if weight is not None and not weight.requires_grad:
        return FrozenHeadCrossEntropy.apply(supervised_hidden, weight, targets, softcap), count
    # a head that trains: plain autograd
    logits = head(supervised_hidden) if weight is None else supervised_hidden @ weight.T
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return F.cross_entropy(logits.float(), targets, reduction="sum"), count


def kept_rows(head: Any, kept_ids: torch.Tensor) -> torch.Tensor:
    """The rows `kept_ids` of the weight `head` multiplies by, differentiable where it trains: a linear head's
    own, or, for PEFT's trainable tokens on a tied head, the frozen rows with the trained ones put in (what
    `TrainableTokensLayer.get_merged_weights` does for all 262k rows of Gemma, a 671 MB copy per call)."""
    from peft.tuners.trainable_tokens.layer import TrainableTokensLayer
    from peft.utils import TrainableTokensWrapper  # only training has PEFT heads; importing it takes ~2 s

    if isinstance(head, torch.nn.Linear) and head.bias is None:
        return head.weight[kept_ids]
    # the LoRA recipe wraps the trainable-token layer; train.method=full puts it on the head directly
    layer = head.token_adapter if isinstance(head, TrainableTokensWrapper) else head
    if not isinstance(layer, TrainableTokensLayer):
        raise TypeError(f"model.output_vocab=trimmed cannot slice this output head; use full: {head}")
    rows = layer.base_layer.weight[kept_ids]
    for adapter in layer.active_adapters:
        positions = kept_positions(kept_ids, torch.tensor(layer.token_indices[adapter], device=rows.device))
        inside = positions >= 0
        rows = rows.index_copy(0, positions[inside], layer.trainable_tokens_delta[adapter][inside])
    return rows


def _kept_columns(kept_ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    columns = kept_positions(kept_ids, targets)
    if bool((columns < 0).any()):
        missing = sorted(set(targets[columns < 0].tolist()))[:5]
        raise ValueError(f"supervised token ids {missing} are outside the trimmed output vocabulary")
    return columns


class FrozenHeadCrossEntropy(torch.autograd.Function):
    """sum(cross_entropy(softcap(hidden @ weight.T), targets)) for a frozen weight, its gradient
    with respect to `hidden` computed in the forward pass, CHUNK rows at a time: peak memory is one
    chunk of logits instead of all of them, and the logits are never stored for the backward."""

    CHUNK = 256

    @staticmethod
    def forward(ctx, hidden, weight, targets, softcap):
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grad = torch.empty_like(hidden) if hidden.requires_grad else None
        for start in range(0, hidden.shape[0], FrozenHeadCrossEntropy.CHUNK):
            rows = slice(start, start + FrozenHeadCrossEntropy.CHUNK)
            logits = (hidden[rows] @ weight.T).float()
            if softcap:
                capped = torch.tanh(logits / softcap)
                logits = capped * softcap
            log_norm = torch.logsumexp(logits, dim=-1)
            picked = targets[rows, None]
            total += (log_norm - logits.gather(1, picked).squeeze(1)).sum()
            if grad is not None:
                probabilities = logits.sub_(log_norm[:, None]).exp_()  # in place: one V-wide buffer
                probabilities.scatter_add_(1, picked, torch.full_like(picked, -1, dtype=probabilities.dtype))
                if softcap:
                    probabilities *= 1 - capped.square()
                grad[rows] = (probabilities.to(weight.dtype) @ weight).to(hidden.dtype)
        ctx.save_for_backward(grad)
        return total

    @staticmethod
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        return grad * grad_output.to(grad.dtype), None, None, None


def reference_token_losses(model: Any, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-token losses of the plain full-logits forward pass, for tests and the baseline."""
    logits = causal_lm(model)(input_ids=input_ids, use_cache=False).logits[:, :-1]
    targets = labels[:, 1:]
    losses = F.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none", ignore_index=IGNORE)
    return losses[targets != IGNORE]
