"""Output-vocabulary trimming: the LM head computes logits only for the tokens a Korean chat writes.

Gemma-3-270M's tied head is 262,144 × 640 — 168 M of the model's 268 M parameters — and runs in full at every
decoding step, while a Korean chat writes a small part of those tokens. `TrimmedHead` multiplies only the rows
of a kept set and hands generation full-width logits, −inf outside the kept set, so `generate`, its logits
processors, the streamer and the tokenizer keep working in the tokenizer's own ids. The input embedding keeps
every row: any user text still reads.

The kept set (`kept_token_ids`) holds
- every token whose text is Hangul (syllables, jamo), whitespace, punctuation or symbols (emoji included), one
  ASCII character or a run of ASCII digits, and the byte pieces, with which any other character is spelled;
- every token of the chat's own texts: the bundled corpus, the probes and the real-style messages, each
  conversation rendered by the chat template (so the template's tokens are in), and its twin with or without a
  leading space;
- where a model is trimmed, the end-of-turn/EOS ids generation stops on (`output_vocab_ids`).
It depends on the tokenizer and those texts only, and is cached under `$INSABOT_HOME/models/output-vocab/`.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from insabot.chat import Message
from insabot.korean.locality import is_hangul
from insabot.paths import models_cache

KEPT_SET_RULES = 1
"""Part of the cache key: raise it whenever `writable` or the texts the kept set is built from change meaning."""
_EMOJI_JOINERS = frozenset("\u200d\ufe0e\ufe0f\u20e3")  # zero-width joiner, variation selectors, keycap


def writable(text: str) -> bool:
    """Whether a token, by its text alone, is one a Korean chat may write."""
    core = "".join(text.split())
    if not core or "\ufffd" in core:  # whitespace; a byte piece (a lone one decodes to U+FFFD)
        return True
    if all(map(is_hangul, core)):
        return True
    if all(unicodedata.category(char)[0] in "PS" or char in _EMOJI_JOINERS for char in core):
        return True  # punctuation runs (..., ;;, ^^), symbols, emoji sequences
    # English words come from the chat's texts (build_kept_set); one letter at a time spells any other
    return core.isascii() and (len(core) == 1 or core.isdigit())


def chat_conversations(real_split: str | None = None) -> list[list[Message]]:
    """The chat's own texts, as the chat renders them: the corpus's conversations, and each probe and real-style
    message after its tone's system prompt. `real_split` ("dev" | "test") takes one half of the real-style set,
    to measure coverage on the other; None takes both."""
    from insabot.chat import build_conversation, system_prompt_for
    from insabot.eval.harness import load_probes
    from insabot.eval.real_messages import load_real_messages
    from insabot.finetune.conversations import load_corpus

    probes = [
        build_conversation(p.messages[-1]["content"], p.messages[:-1], system_prompt_for(p.tone))
        for p in load_probes()
    ]
    real = [build_conversation(m.text, [], system_prompt_for(m.tone)) for m in load_real_messages(real_split)]
    return [c.messages for c in load_corpus()] + probes + real


def conversation_token_ids(tokenizer: Any, conversations: Sequence[list[Message]]) -> set[int]:
    rendered = [tokenizer.apply_chat_template(c, tokenize=False) for c in conversations]
    return {i for ids in tokenizer(rendered, add_special_tokens=False)["input_ids"] for i in ids}


def spacing_twins(tokenizer: Any, token_ids: set[int]) -> set[int]:
    """The tokens that are these tokens' text with a leading space added or taken away: a word of the user's
    message comes back in a reply after a space ("KTX랑" → "부산은 KTX"), or the other way round."""
    texts = tokenizer.batch_decode([[i] for i in sorted(token_ids)])
    twins = [text[1:] if text.startswith(" ") else f" {text}" for text in texts]
    encoded = tokenizer([twin for twin in twins if twin.strip()], add_special_tokens=False)["input_ids"]
    return {ids[0] for ids in encoded if len(ids) == 1}


def build_kept_set(tokenizer: Any, conversations: Sequence[list[Message]]) -> list[int]:
    """The kept token ids, sorted: the writable tokens of the vocabulary, and every token of `conversations` with
    its spacing twin."""
    texts = tokenizer.batch_decode([[i] for i in range(len(tokenizer))])
    writable_ids = {i for i, text in enumerate(texts) if writable(text)}
    used = conversation_token_ids(tokenizer, conversations)
    return sorted(writable_ids | used | spacing_twins(tokenizer, used))


def kept_token_ids(tokenizer: Any) -> list[int]:
    """The kept set of `chat_conversations()`: built once per tokenizer and texts (~4 s for Gemma's 262k tokens),
    then read from the cache."""
    from insabot.textio import read_jsonl, write_jsonl_atomic

    conversations = chat_conversations()
    key = json.dumps([KEPT_SET_RULES, _tokenizer_fingerprint(tokenizer), conversations], ensure_ascii=False)
    path = models_cache() / "output-vocab" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsonl"
    if path.is_file():
        return next(read_jsonl(path))[1]["kept"]
    kept = build_kept_set(tokenizer, conversations)
    write_jsonl_atomic([{"kept": kept}], path)
    return kept


def _tokenizer_fingerprint(tokenizer: Any) -> str:
    # the file it was read from, where there is one (hashing Gemma's 13 MB takes ~20 ms, serialising it ~0.6 s)
    saved = Path(tokenizer.name_or_path, "tokenizer.json") if tokenizer.name_or_path else None
    data = saved.read_bytes() if saved and saved.is_file() else tokenizer.backend_tokenizer.to_str().encode()
    return hashlib.sha256(data).hexdigest()


def output_vocab_ids(tokenizer: Any, model: Any) -> list[int]:
    """The kept set plus the ids `model` stops generating on."""
    from insabot.generation import end_token_ids

    return sorted(set(kept_token_ids(tokenizer)) | set(end_token_ids(tokenizer, model)))


def coverage(tokenizer: Any, kept_ids: set[int], texts: Sequence[str]) -> float:
    """The share of the texts' tokens that are kept."""
    ids = [token for text in texts for token in tokenizer(text, add_special_tokens=False)["input_ids"]]
    return sum(token in kept_ids for token in ids) / len(ids)


def kept_positions(kept_ids: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
    """Each token id's position in the sorted `kept_ids` (its column in trimmed logits), −1 where it is not kept;
    `kept_ids[position]` maps a position back."""
    positions = torch.searchsorted(kept_ids, token_ids.contiguous()).clamp_(max=len(kept_ids) - 1)
    return torch.where(kept_ids[positions] == token_ids, positions, -1)


class TrimmedHead(torch.nn.Module):
    """A bias-free linear output head that multiplies only the rows of the kept ids.

    `forward` returns full-width logits with −inf for every other id, so anything downstream (generate, logits
    processors, sampling) runs unchanged and never picks a dropped id; a model with final-logit softcapping turns
    that −inf into −cap, still below every kept logit. Code that wants the narrow logits (the training loss, reply
    scoring) uses `kept_logits` and `positions`; `full` is the original head, for rows whose target is not kept."""

    def __init__(self, head: torch.nn.Linear, kept_ids: Sequence[int]):
        super().__init__()
        if not isinstance(head, torch.nn.Linear) or head.bias is not None:
            raise ValueError(f"only a bias-free linear output head can be trimmed, not {head}")
        self.full = head
        kept = torch.tensor(sorted(set(kept_ids)), dtype=torch.long, device=head.weight.device)
        # buffers, not parameters: a derived copy that training and state dicts must not see
        self.register_buffer("kept_ids", kept, persistent=False)
        self.register_buffer("kept_weight", head.weight.detach()[kept], persistent=False)

    def kept_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return F.linear(hidden, self.kept_weight)

    def positions(self, token_ids: torch.Tensor) -> torch.Tensor:
        return kept_positions(self.kept_ids, token_ids)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        kept = self.kept_logits(hidden)
        logits = kept.new_full((*kept.shape[:-1], self.full.out_features), float("-inf"))
        return logits.index_copy_(-1, self.kept_ids, kept)


def trims(setting: str, model: Any) -> bool:
    """Whether `model.output_vocab` (auto | full | trimmed) trims this model. `auto` trims the Gemma family, whose
    262k-token head is most of a small model's work (63 % of Gemma-3-270M's parameters); Llama-family heads are a
    fifth of the model (SmolLM2-135M, Llama-3.2-1B: 21 %), so trimming them would save little."""
    if setting == "auto":
        return model.config.model_type.startswith("gemma")
    return setting == "trimmed"


def trim_output_head(model: Any, kept_ids: Sequence[int]) -> None:
    model.set_output_embeddings(TrimmedHead(model.get_output_embeddings(), kept_ids))
