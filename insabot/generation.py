"""Generation shared by the web chat, the terminal chat, batch generation and eval: streamed for the chats,
in batches (optionally reranked, insabot/rerank.py) for the rest."""

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
    TemperatureLogitsWarper,
    TextIteratorStreamer,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from insabot.chat import Message, tone_of
from insabot.config import ConfigError, GenerationConfig
from insabot.korean.loops import repeat_start, undecided_from
from insabot.korean.sentences import sentences_end

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


class StopAtReplyEnd(StoppingCriteria):
    """Ends each row once its new text reaches where the reply stops short (`reply_end`): a line or sentence it
    has said before (`generation.stop_loops`), or the start of a sentence after its first `max_sentences`;
    `decode_replies` then cuts it there. Each step decodes every row's few dozen new tokens once, well under a
    millisecond beside a forward pass."""

    def __init__(self, tokenizer: Any, stop_loops: bool, max_sentences: int):
        self.tokenizer = tokenizer
        self.stop_loops = stop_loops
        self.max_sentences = max_sentences
        self.prompt_width: int | None = None

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
    ) -> torch.BoolTensor:
        if self.prompt_width is None:  # first asked after the first new token
            self.prompt_width = input_ids.shape[1] - 1
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_width :], skip_special_tokens=True)
        return torch.tensor(
            [
                reply_end(text, self.stop_loops, self.max_sentences, finished=False) is not None
                for text in texts
            ],
            device=input_ids.device,
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
    if gen.stop_loops or gen.max_sentences:
        kwargs["stopping_criteria"] = StoppingCriteriaList(
            [StopAtReplyEnd(tokenizer, gen.stop_loops, gen.max_sentences)]
        )
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
    if (written := written_reply(messages, gen)) is not None:
        yield written
        return
    stop_event = stop_event or threading.Event()
    _check_stop_before_layers(model)
    inputs = {k: v.to(model.device) for k, v in encode_conversation(tokenizer, messages).items()}
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = generate_kwargs(gen, tokenizer, model)
    kwargs["stopping_criteria"] = StoppingCriteriaList(
        [*kwargs.get("stopping_criteria", []), StopOnEvent(stop_event)]
    )
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
        yield from _shown_pieces(streamer, gen.stop_loops, gen.max_sentences)
    finally:
        stop_event.set()
        thread.join()
    if failure:
        raise failure[0]


def _shown_pieces(pieces: Iterator[str], stop_loops: bool, max_sentences: int = 0) -> Iterator[str]:
    """The streamed text as it may be shown. With `stop_loops`, a sentence that starts the way an earlier one did
    is held back until it either parts from it (then shown) or completes a repeat (then dropped, and the stream
    ends): the reader never sees the loop the batch paths cut. With `max_sentences`, the stream ends where those
    sentences end, as soon as a next one begins (nothing of it shown)."""
    text, shown = "", 0
    for piece in pieces:
        text += piece
        if (end := reply_end(text, stop_loops, max_sentences, finished=False)) is not None:
            if end > shown and text[shown:end].rstrip():
                yield text[shown:end].rstrip()
            return
        ready = undecided_from(text) if stop_loops else len(text)
        ready = len(text[:ready].rstrip())  # a line break waits for the line after it: it may be a repeat
        if ready > shown:
            yield text[shown:ready]
            shown = ready
    end = reply_end(text, stop_loops, max_sentences, finished=True)
    rest = text[shown:] if end is None else text[shown:end].rstrip()
    if rest:
        yield rest


def reply_end(text: str, stop_loops: bool, max_sentences: int, finished: bool) -> int | None:
    """Where a reply stops short of `text`'s end: at a repeat (`stop_loops`) or after its first `max_sentences`
    sentences once another began, whichever comes first; None if neither."""
    ends = []
    if stop_loops and (start := repeat_start(text, finished=finished)) is not None:
        ends.append(start)
    if max_sentences and (end := sentences_end(text, max_sentences)) is not None:
        ends.append(end)
    return min(ends, default=None)


def reranked_reply(
    model: Any, tokenizer: Any, messages: list[Message], gen: GenerationConfig, stop_event: threading.Event
) -> Iterator[str]:
    """The reranked reply (`gen.candidates` > 1) to one conversation, as one piece once every candidate is
    sampled and scored: for serving that does not stream. Setting `stop_event` abandons it before the model's
    next layer, and nothing is yielded (a part of the work is no part of a reply)."""
    _check_stop_before_layers(model)
    _generation.stop_event = stop_event
    try:
        (reply,) = generate_batch(model, tokenizer, [messages], gen)
    except _Stopped:
        return
    finally:
        _generation.stop_event = None
    yield reply.text


def written_reply(messages: Sequence[Message], gen: GenerationConfig) -> str | None:
    """With `gen.retrieve`, the corpus's written reply to the opening most like this conversation's opening
    message, if it is similar enough (insabot/retrieval.py); None where the model writes: retrieval off, a later
    turn, a custom system prompt (whose persona the corpus did not write for), or no opening close enough."""
    if not gen.retrieve:
        return None
    tone = tone_of(messages)
    turns = [m for m in messages if m["role"] != "system"]
    if tone is None or len(turns) != 1:
        return None
    from insabot.retrieval import corpus_index  # the corpus loads on the first retrieval, not for every chat

    matches = corpus_index().search(turns[0]["content"], tone)
    if matches and matches[0].similarity >= gen.retrieve_min_similarity:
        return matches[0].opening.reply
    return None


@dataclass(frozen=True)
class Reply:
    text: str
    new_tokens: int
    finish_reason: str
    """`stop` (an end-of-turn/EOS token ended it, or a written reply) or `length` (max_new_tokens reached)."""
    source: str = "model"
    """`model` (generated) or `corpus` (a written reply, `generation.retrieve`)."""


class SeededSampling(LogitsProcessor):
    """Samples each row's next token with that row's own RNG, and leaves only it possible (greedy then picks it).

    `generate` samples a batch from one RNG stream, so a row's draws depend on the rows beside it; with a
    generator per row, candidate j is the same reply whether it is sampled alone or in a batch of N (up to
    floating-point differences between batched and unbatched logits). It runs after the repetition penalty, and
    applies temperature, top-k and top-p as `generate`'s own sampling would."""

    def __init__(self, seeds: Sequence[int], gen: GenerationConfig, top_k: int | None, device: Any):
        self.generators = [torch.Generator(device=device).manual_seed(seed) for seed in seeds]
        self.warpers = LogitsProcessorList([TemperatureLogitsWarper(gen.temperature)])
        if top_k:
            self.warpers.append(TopKLogitsWarper(top_k))
        if gen.top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(gen.top_p))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = torch.softmax(self.warpers(input_ids, scores).float(), dim=-1)
        picked = torch.cat(
            [torch.multinomial(row, 1, generator=g) for row, g in zip(probs, self.generators, strict=True)]
        )
        only = torch.full_like(scores, -torch.inf)
        return only.scatter_(1, picked[:, None], 0.0)


def candidate_seed(seed: int, index: int) -> int:
    """The RNG seed of candidate `index` under generation seed `seed` (int tuples hash alike in every process)."""
    return hash((seed, index)) & (2**63 - 1)


def seeded_sampling_kwargs(
    kwargs: dict[str, Any], gen: GenerationConfig, model: Any, seeds: Sequence[int]
) -> dict[str, Any]:
    """`kwargs` (from `generate_kwargs`) turned into per-row seeded sampling: `SeededSampling` samples, and
    `generate`'s greedy step takes its token. Top-k is the model's own default, as in `generate`'s sampling."""
    top_k = getattr(model.generation_config, "top_k", None)
    sampler = SeededSampling(seeds, gen, top_k, model.device)
    processors = LogitsProcessorList([*kwargs.get("logits_processor", []), sampler])
    return {
        **kwargs,
        "do_sample": False,
        "temperature": None,
        "top_p": None,
        "top_k": None,
        "logits_processor": processors,
    }


def check_generation(gen: GenerationConfig) -> None:
    """Refuse settings that cannot work (a ConfigError naming the key): a negative sentence limit, candidate
    settings that cannot rerank."""
    if gen.max_sentences < 0:
        raise ConfigError(f"generation.max_sentences: {gen.max_sentences} is below 0 (0 = no limit)")
    if gen.candidates < 1:
        raise ConfigError(f"generation.candidates: {gen.candidates} is below 1")
    if not 0.0 <= gen.retrieve_min_similarity <= 1.0:
        raise ConfigError(
            f"generation.retrieve_min_similarity: {gen.retrieve_min_similarity} is not a cosine between 0 and 1"
        )
    if gen.candidates > 1 and not gen.do_sample:
        raise ConfigError(
            "generation.candidates > 1 reranks sampled replies, but generation.do_sample is false (insabot "
            "generate: add --temperature): greedy decoding would give the same candidate every time"
        )


def generate_batch(
    model: Any,
    tokenizer: Any,
    conversations: list[list[Message]],
    gen: GenerationConfig,
    categories: Sequence[str | None] | None = None,
) -> list[Reply]:
    """Replies to several conversations at once, greedy or sampled per `gen` (see `generate_token_ids`). With
    `gen.candidates` > 1 each reply is the reranked best of that many samples (insabot/rerank.py); `categories`
    (the eval's probe categories), when given, let it drop quote-only replies where quoting is not the job. With
    `gen.retrieve`, an opening close to one of the corpus's gets its written reply (`written_reply`), and only the
    rest are generated."""
    check_generation(gen)
    written = [written_reply(conversation, gen) for conversation in conversations]
    to_model = [i for i, text in enumerate(written) if text is None]
    generated = iter(
        _model_replies(
            model,
            tokenizer,
            [conversations[i] for i in to_model],
            gen,
            None if categories is None else [categories[i] for i in to_model],
        )
        if to_model
        else []
    )
    return [Reply(text, 0, "stop", "corpus") if text is not None else next(generated) for text in written]


def _model_replies(
    model: Any,
    tokenizer: Any,
    conversations: list[list[Message]],
    gen: GenerationConfig,
    categories: Sequence[str | None] | None,
) -> list[Reply]:
    if gen.candidates == 1:
        token_ids = generate_token_ids(model, tokenizer, conversations, gen)
        return decode_replies(model, tokenizer, token_ids, gen.stop_loops, gen.max_sentences)
    # imported here: the analysers and the scorer load only when a run reranks, not for every chat
    from insabot.rerank import choose, pmi_relevance

    relevance = pmi_relevance(model, tokenizer, gen.rerank_lambda)
    return [
        choose(options, conversation, relevance, category)
        for options, conversation, category in zip(
            sample_candidates(model, tokenizer, conversations, gen),
            conversations,
            categories or [None] * len(conversations),
            strict=True,
        )
    ]


def sample_candidates(
    model: Any, tokenizer: Any, conversations: list[list[Message]], gen: GenerationConfig
) -> list[list[Reply]]:
    """`gen.candidates` sampled replies to each conversation, all in one batch. Candidate j is sampled with an
    RNG seeded from (`gen.seed`, j), so it does not depend on the batch; without a seed, the base seed is drawn
    from torch's RNG (so `torch.manual_seed` still makes a run repeatable)."""
    n = gen.candidates
    seed = gen.seed if gen.seed is not None else int(torch.randint(2**62, ()).item())
    rows = [conversation for conversation in conversations for _ in range(n)]
    seeds = [candidate_seed(seed, j) for _ in conversations for j in range(n)]
    replies = decode_replies(
        model,
        tokenizer,
        generate_token_ids(model, tokenizer, rows, gen, seeds),
        gen.stop_loops,
        gen.max_sentences,
    )
    return [replies[i : i + n] for i in range(0, len(replies), n)]


def decode_replies(
    model: Any, tokenizer: Any, token_ids: list[list[int]], stop_loops: bool = False, max_sentences: int = 0
) -> list[Reply]:
    """Each row of `generate_token_ids` as a `Reply`, the end-of-turn token that stopped it dropped; with
    `stop_loops`, a repeated line or sentence cut off, and with `max_sentences` whatever followed those sentences
    (where StopAtReplyEnd ended the row), the reply `stop`ped."""
    ends = set(end_token_ids(tokenizer, model))
    replies = []
    for ids in token_ids:
        stopped = bool(ids) and ids[-1] in ends
        tokens = ids[:-1] if stopped else ids
        text = tokenizer.decode(tokens, skip_special_tokens=True).strip()
        if (end := reply_end(text, stop_loops, max_sentences, finished=True)) is not None:
            text, stopped = text[:end].rstrip(), True
        replies.append(Reply(text, len(tokens), "stop" if stopped else "length"))
    return replies


def generate_token_ids(
    model: Any,
    tokenizer: Any,
    conversations: list[list[Message]],
    gen: GenerationConfig,
    seeds: Sequence[int] | None = None,
) -> list[list[int]]:
    """Each reply's new token ids, through the end-of-turn/EOS token that ended it, if one did. The prompts are
    left-padded, with an attention mask so padding is invisible (generate derives position ids from the mask).
    `seeds` (one per conversation) samples each row with its own RNG (`SeededSampling`)."""
    ends = end_token_ids(tokenizer, model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else ends[0]
    prompts = [encode_conversation(tokenizer, c)["input_ids"][0].tolist() for c in conversations]
    width = max(map(len, prompts))
    input_ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts], device=model.device)
    attention_mask = torch.tensor(
        [[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=model.device
    )
    kwargs = generate_kwargs(gen, tokenizer, model)
    if seeds is not None:
        kwargs = seeded_sampling_kwargs(kwargs, gen, model, seeds)
    if gen.seed is not None:
        torch.manual_seed(gen.seed)
    with torch.inference_mode():
        output = model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
    rows = []
    for row in output[:, width:].tolist():
        stop = next((i for i, token in enumerate(row) if token in ends), None)
        if stop is None:  # a row a stopping criterion ended (StopAtReplyEnd) is padded to the batch's end
            while row and row[-1] == pad_id:
                row.pop()
        rows.append(row if stop is None else row[: stop + 1])
    return rows
