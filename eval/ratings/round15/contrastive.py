"""Round 15: the replies of contrastive search (Su et al. 2022, transformers' `penalty_alpha`) for the blind read.

transformers 5 no longer runs contrastive search itself: `penalty_alpha` loads the method from a Hub repository
(transformers-community/contrastive-search) with `trust_remote_code`, which this offline project cannot fetch. So
this script decodes it directly, one message at a time, with the model the chat uses (the shipped adapter, the
chat's repetition penalty with the end-of-turn token exempt): at each step the k most likely next tokens each run
one step ahead, and the one with the best (1 − α) · p(token) − α · (the highest cosine between its last hidden state
and any earlier one) is taken. A reply stops, and is cut, as the chat's (at a repeat, after its first sentence).

    python eval/ratings/round15/contrastive.py 0.6 4 eval/ratings/round8/dev-r64e1-t03-first.jsonl OUT.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from insabot.config import ModelConfig
from insabot.generation import (
    RepetitionPenaltyExceptEnd,
    decode_replies,
    encode_conversation,
    end_token_ids,
    reply_end,
)
from insabot.models.loading import load

MAX_NEW_TOKENS = 64
REPETITION_PENALTY = 1.1


@torch.inference_mode()
def contrastive_search(model, tokenizer, messages, alpha: float, k: int) -> list[int]:
    ends = end_token_ids(tokenizer, model)
    penalty = RepetitionPenaltyExceptEnd(REPETITION_PENALTY, ends)
    ids = encode_conversation(tokenizer, messages)["input_ids"].to(model.device)
    out = model(input_ids=ids, use_cache=True, output_hidden_states=True)
    cache, logits = out.cache, out.logits[:, -1, :]
    seen = F.normalize(out.hidden_states[-1][0].float(), dim=-1)
    sequence, new = ids[0].tolist(), []
    for _ in range(MAX_NEW_TOKENS):
        probs = penalty(torch.tensor([sequence], device=model.device), logits.float().clone()).softmax(-1)[0]
        top_probs, top_tokens = probs.topk(k)
        cache.batch_repeat_interleave(k)
        ahead = model(input_ids=top_tokens.view(k, 1), cache=cache, use_cache=True, output_hidden_states=True)
        hidden = F.normalize(ahead.hidden_states[-1][:, -1, :].float(), dim=-1)
        degeneration = (hidden @ seen.T).max(dim=-1).values
        best = int(((1 - alpha) * top_probs - alpha * degeneration).argmax())
        cache = ahead.cache
        cache.batch_select_indices(torch.tensor([best], device=model.device))
        logits = ahead.logits[best : best + 1, -1, :]
        token = int(top_tokens[best])
        sequence.append(token)
        new.append(token)
        seen = torch.cat([seen, hidden[best : best + 1]])
        text = tokenizer.decode(new, skip_special_tokens=True).strip()
        if token in ends or reply_end(text, stop_loops=True, max_sentences=1, finished=False) is not None:
            break
    return new


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("alpha", type=float)
    parser.add_argument("k", type=int)
    parser.add_argument(
        "messages", help="an `insabot generate` output (its prompt, tone and system are reused)"
    )
    parser.add_argument("out")
    args = parser.parse_args()
    torch.set_num_threads(2)
    loaded = load(ModelConfig(base_model="gemma3-270m", adapter="adapters/insabot-gemma3-ko"))
    rows = [json.loads(line) for line in Path(args.messages).read_text(encoding="utf-8").splitlines()]
    started = time.perf_counter()
    token_ids = [
        contrastive_search(
            loaded.model,
            loaded.tokenizer,
            [{"role": "system", "content": row["system"]}, {"role": "user", "content": row["prompt"]}],
            args.alpha,
            args.k,
        )
        for row in rows
    ]
    seconds = time.perf_counter() - started
    replies = decode_replies(loaded.model, loaded.tokenizer, token_ids, stop_loops=True, max_sentences=1)
    with open(args.out, "w", encoding="utf-8") as out:
        for row, reply in zip(rows, replies, strict=True):
            kept = {key: row[key] for key in ("line", "id", "prompt", "tone", "system")}
            record = {
                **kept,
                "reply": reply.text,
                "new_tokens": reply.new_tokens,
                "finish_reason": reply.finish_reason,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"alpha {args.alpha} k {args.k}: {len(rows)} replies in {seconds:.1f} s")


if __name__ == "__main__":
    main()
