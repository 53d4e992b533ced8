"""Causal-LM loss computed only where it is needed.

With assistant-only labels most positions carry no loss, so running the LM head (49k-262k wide) on
every position wastes most of a step on CPU. We run the decoder, keep the hidden states of the
supervised positions, and apply the head and the cross-entropy to those rows only.

When the head is frozen (plain LoRA), the head and the cross-entropy also run chunk by chunk with
the gradient taken on the spot (the idea of Liger's fused linear cross-entropy): a 1024-token Gemma
row would otherwise keep ~600 × 262,144 fp32 logits, their log-softmax and its gradient alive at
once (~2 GB), more than the whole plain-Trainer baseline's peak.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from insabot.finetune.render import IGNORE


def causal_lm(model: Any) -> Any:
    """The transformers *ForCausalLM under a PEFT wrapper (LoRA layers are injected in place)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def supervised_loss_sum(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """(sum of token losses over supervised positions, number of such positions)."""
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
    supervised_hidden = hidden[:, :-1][keep]
    if isinstance(head, torch.nn.Linear) and head.bias is None and not head.weight.requires_grad:
        loss = FrozenHeadCrossEntropy.apply(supervised_hidden, head.weight, targets[keep], softcap)
        return loss, count
    # a trainable head (e.g. PEFT's trainable token rows of a tied embedding): plain autograd
    logits = head(supervised_hidden)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return F.cross_entropy(logits.float(), targets[keep], reduction="sum"), count


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
