"""Causal-LM loss computed only where it is needed.

With assistant-only labels most positions carry no loss, so running the LM head (49k-262k wide) on
every position wastes most of a step on CPU. We run the decoder, keep the hidden states of the
supervised positions, and apply the head and the cross-entropy to those rows only.
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
    logits = lm.get_output_embeddings()(hidden[:, :-1][keep])
    softcap = getattr(lm.config, "final_logit_softcapping", None)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return F.cross_entropy(logits.float(), targets[keep], reduction="sum"), count


def reference_token_losses(model: Any, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-token losses of the plain full-logits forward pass, for tests and the baseline."""
    logits = causal_lm(model)(input_ids=input_ids, use_cache=False).logits[:, :-1]
    targets = labels[:, 1:]
    losses = F.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none", ignore_index=IGNORE)
    return losses[targets != IGNORE]
