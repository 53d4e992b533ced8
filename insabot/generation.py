"""Streaming generation shared by the web chat, the terminal chat and (later) batch generation and eval."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import (
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from insabot.chat import Message
from insabot.config import GenerationConfig

# Chat templates close a turn with one of these; whichever the vocabulary has also ends generation.
# (HyperCLOVA X SEED writes `<|im_end|><|endofturn|>` and its model card stops at `<|endofturn|>`.)
_END_OF_TURN_TOKENS = ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end_of_text|>", "<|endofturn|>")


class StopOnEvent(StoppingCriteria):
    """Lets another thread (a Stop button, Ctrl-C) end generation between two tokens."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
    ) -> torch.BoolTensor:
        return torch.full(
            (input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device
        )


class _Stopped(Exception):
    """Raised before a layer of a generation whose stop event is set: it abandons the forward pass."""


_generation = threading.local()
"""The stop event of the generation this thread runs, read by the layer checks."""
_checked_models: weakref.WeakSet = weakref.WeakSet()
# two replies starting at once on a fresh model install its checks once
_checked_models_lock = threading.Lock()


def _stop_before_layer(module: torch.nn.Module, args: Any) -> None:
    event = getattr(_generation, "stop_event", None)
    if event is not None and event.is_set():
        raise _Stopped


def _check_stop_before_layers(model: Any) -> None:
    """A stop check before each of the model's layers (installed once per model). StopOnEvent is asked only
    between tokens, but the prompt's prefill is one forward pass that takes seconds on a CPU (tens with a long
    prompt): checked before every layer, a stop ends it within one layer's time. Only generation threads set a
    stop event, so training and batch generation pass the check untouched."""
    with _checked_models_lock:
        if model in _checked_models:
            return
        for layers in (module for module in model.modules() if isinstance(module, torch.nn.ModuleList)):
            for layer in layers:
                layer.register_forward_pre_hook(_stop_before_layer)
        _checked_models.add(model)


class RepetitionPenaltyExceptEnd(LogitsProcessor):
    """transformers' repetition penalty, but never on end-of-turn/EOS ids.

    The end-of-turn token is always in the prompt (the chat template closes every earlier turn with it),
    so the stock penalty makes it less likely to stop; a lightly tuned model then runs on into junk.
    """

    def __init__(self, penalty: float, exempt_ids: Sequence[int]):
        self.penalty = penalty
        self.exempt_ids = torch.tensor(sorted(set(exempt_ids)), dtype=torch.long)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        seen = torch.gather(scores, 1, input_ids)
        seen = torch.where(seen < 0, seen * self.penalty, seen / self.penalty)
        penalized = scores.scatter(1, input_ids, seen)
        exempt = self.exempt_ids.to(scores.device)
        penalized[:, exempt] = scores[:, exempt]
        return penalized


def end_token_ids(tokenizer: Any, model: Any) -> list[int]:
    ids: set[int] = set()
    configured = getattr(model.generation_config, "eos_token_id", None)
    if configured is not None:
        ids.update([configured] if isinstance(configured, int) else configured)
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    # Token by token, not `get_vocab()`: building Gemma's 262k-entry vocabulary dict costs ~0.25 s, which
    # every reply would add to its time to first token.
    for token in _END_OF_TURN_TOKENS:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is not None and token_id != tokenizer.unk_token_id:
            ids.add(token_id)
    return sorted(ids)


def generate_kwargs(gen: GenerationConfig, tokenizer: Any, model: Any) -> dict[str, Any]:
    """Keyword arguments for `model.generate` from insabot's generation settings."""
    ends = end_token_ids(tokenizer, model)
    kwargs: dict[str, Any] = {
        "max_new_tokens": gen.max_new_tokens,
        "do_sample": gen.do_sample,
        "eos_token_id": ends,
        "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else ends[0],
    }
    if gen.do_sample:
        kwargs.update(temperature=gen.temperature, top_p=gen.top_p)
    else:  # greedy: make the model's own sampling defaults (generation_config.json) not apply
        kwargs.update(temperature=None, top_p=None, top_k=None)
    if gen.repetition_penalty != 1.0:
        if gen.penalize_end_tokens:  # the stock processor, for the stopping comparison only
            kwargs["repetition_penalty"] = gen.repetition_penalty
        else:
            kwargs["logits_processor"] = LogitsProcessorList(
                [RepetitionPenaltyExceptEnd(gen.repetition_penalty, ends)]
            )
    return kwargs


def encode_conversation(tokenizer: Any, messages: list[Message]) -> dict[str, torch.Tensor]:
    return tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )


def stream_reply(
    model: Any,
    tokenizer: Any,
    messages: list[Message],
    gen: GenerationConfig,
    stop_event: threading.Event | None = None,
) -> Iterator[str]:
    """Yield the reply's text in pieces as tokens are generated.

    Setting `stop_event`, or closing the iterator, ends generation before the model's next layer (during the
    prompt's prefill too) and joins the generation thread: nothing keeps computing once the caller has stopped
    listening.
    """
    stop_event = stop_event or threading.Event()
    _check_stop_before_layers(model)
    inputs = {k: v.to(model.device) for k, v in encode_conversation(tokenizer, messages).items()}
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = generate_kwargs(gen, tokenizer, model)
    kwargs["stopping_criteria"] = StoppingCriteriaList([StopOnEvent(stop_event)])
    failure: list[BaseException] = []

    def work() -> None:
        _generation.stop_event = stop_event
        try:
            if gen.seed is not None:
                torch.manual_seed(gen.seed)
            with torch.inference_mode():
                model.generate(**inputs, streamer=streamer, **kwargs)
        except _Stopped:  # stopped inside a forward pass: the reply ends with the text streamed so far
            streamer.end()
        except BaseException as exc:  # surfaced in the caller's thread below
            failure.append(exc)
            streamer.end()

    thread = threading.Thread(target=work, name="insabot-generate", daemon=True)
    thread.start()
    try:
        for piece in streamer:
            if piece:
                yield piece
    finally:
        stop_event.set()
        thread.join()
    if failure:
        raise failure[0]


@dataclass(frozen=True)
class Reply:
    text: str
    new_tokens: int
    finish_reason: str
    """`stop` (an end-of-turn/EOS token ended it) or `length` (max_new_tokens reached)."""


def generate_batch(
    model: Any, tokenizer: Any, conversations: list[list[Message]], gen: GenerationConfig
) -> list[Reply]:
    """Replies to several conversations at once, greedy or sampled per `gen` (see `generate_token_ids`)."""
    ends = set(end_token_ids(tokenizer, model))
    replies = []
    for ids in generate_token_ids(model, tokenizer, conversations, gen):
        stopped = bool(ids) and ids[-1] in ends
        tokens = ids[:-1] if stopped else ids
        text = tokenizer.decode(tokens, skip_special_tokens=True).strip()
        replies.append(Reply(text, len(tokens), "stop" if stopped else "length"))
    return replies


def generate_token_ids(
    model: Any, tokenizer: Any, conversations: list[list[Message]], gen: GenerationConfig
) -> list[list[int]]:
    """Each reply's new token ids, through the end-of-turn/EOS token that ended it, if one did. The prompts are
    left-padded, with an attention mask so padding is invisible (generate derives position ids from the mask)."""
    ends = end_token_ids(tokenizer, model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else ends[0]
    prompts = [encode_conversation(tokenizer, c)["input_ids"][0].tolist() for c in conversations]
    width = max(map(len, prompts))
    input_ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts], device=model.device)
    attention_mask = torch.tensor(
        [[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=model.device
    )
    if gen.seed is not None:
        torch.manual_seed(gen.seed)
    with torch.inference_mode():
        output = model.generate(
            input_ids=input_ids, attention_mask=attention_mask, **generate_kwargs(gen, tokenizer, model)
        )
    rows = []
    for row in output[:, width:].tolist():
        stop = next((i for i, token in enumerate(row) if token in ends), None)
        rows.append(row if stop is None else row[: stop + 1])
    return rows
