import dataclasses
import itertools
import threading

import pytest
import torch

from insabot.bot.respond import ChatSettings, respond
from insabot.chat import ChatInputError
from insabot.config import ConfigError, GenerationConfig
from insabot.generation import (
    RepetitionPenaltyExceptEnd,
    StopAtReplyEnd,
    _shown_pieces,
    check_generation,
    decode_replies,
    encode_conversation,
    end_token_ids,
    generate_batch,
    generate_kwargs,
    stream_reply,
)
from insabot.korean import sentences
from insabot.korean.sentences import cut_after_sentences

GREEDY = GenerationConfig(max_new_tokens=12, do_sample=False, repetition_penalty=1.0)
CONVERSATION = [{"role": "system", "content": "반말로 답해."}, {"role": "user", "content": "야, 이거 어때?"}]


def test_end_tokens_include_the_chat_templates_end_of_turn(tiny):
    model, tokenizer = tiny
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in end_token_ids(tokenizer, model)


def test_streamed_reply_equals_plain_greedy_generate(tiny):
    model, tokenizer = tiny
    inputs = encode_conversation(tokenizer, CONVERSATION)
    with torch.inference_mode():
        output = model.generate(**inputs, **generate_kwargs(GREEDY, tokenizer, model))
    new_tokens = output[0, inputs["input_ids"].shape[1] :]
    assert len(new_tokens) > 0
    expected = tokenizer.decode(new_tokens, skip_special_tokens=True)
    pieces = list(stream_reply(model, tokenizer, CONVERSATION, GREEDY))
    assert len(pieces) >= 2  # it really streams
    assert "".join(pieces) == expected


def test_stop_event_halts_generation_early(tiny):
    model, tokenizer = tiny
    settings = GenerationConfig(max_new_tokens=200, do_sample=False, repetition_penalty=1.0)
    full = "".join(stream_reply(model, tokenizer, CONVERSATION, settings))
    stop = threading.Event()
    partial = ""
    for piece in stream_reply(model, tokenizer, CONVERSATION, settings, stop):
        partial += piece
        stop.set()
    assert partial and len(partial) < len(full)
    assert full.startswith(partial)


def test_a_stop_during_the_prompts_prefill_ends_it_before_the_next_layer(tiny):
    """StopOnEvent is asked only between tokens; a stop must not wait for a long prompt's prefill to finish."""
    model, tokenizer = tiny
    layers = model.model.layers
    passes: list[int] = []
    counter = layers[1].register_forward_hook(lambda module, args, output: passes.append(1))
    stop = threading.Event()
    # set once the first layer has run on the prompt: mid-prefill, as when a client leaves
    stopper = layers[0].register_forward_hook(lambda module, args, output: stop.set())
    try:
        pieces = list(stream_reply(model, tokenizer, CONVERSATION, GREEDY, stop))
    finally:
        counter.remove()
        stopper.remove()
    assert pieces == [] and passes == []  # the second layer never ran, not even for the prompt
    assert "".join(stream_reply(model, tokenizer, CONVERSATION, GREEDY))  # the model still generates


def test_closing_the_stream_joins_the_generation_thread(tiny):
    model, tokenizer = tiny
    stream = stream_reply(
        model, tokenizer, CONVERSATION, GenerationConfig(max_new_tokens=500, do_sample=False)
    )
    next(stream)
    stream.close()
    assert not any(t.name == "insabot-generate" and t.is_alive() for t in threading.enumerate())


def test_repetition_penalty_spares_end_tokens():
    scores = torch.tensor([[2.0, -2.0, 2.0, 1.0]])
    seen = torch.tensor([[0, 1, 2]])
    out = RepetitionPenaltyExceptEnd(2.0, exempt_ids=[2])(seen, scores.clone())
    assert out.tolist() == [
        [1.0, -4.0, 2.0, 1.0]
    ]  # 0 halved, 1 doubled negative, end id 2 untouched, 3 unseen


def test_only_the_comparison_switch_puts_end_tokens_under_the_penalty(tiny):
    model, tokenizer = tiny
    default = generate_kwargs(GenerationConfig(repetition_penalty=1.3), tokenizer, model)
    (processor,) = default["logits_processor"]
    assert (
        processor.exempt_ids.tolist() == end_token_ids(tokenizer, model)
        and "repetition_penalty" not in default
    )
    stock = generate_kwargs(
        GenerationConfig(repetition_penalty=1.3, penalize_end_tokens=True), tokenizer, model
    )
    assert stock["repetition_penalty"] == 1.3 and "logits_processor" not in stock


def test_respond_yields_growing_reply(tiny_loaded):
    settings = ChatSettings(generation=GREEDY)
    replies = list(respond("성수에 갈만한 카페 추천 좀", [], settings, tiny_loaded))
    assert len(replies) >= 2
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(replies))


def test_respond_rejects_overlong_message(tiny_loaded):
    settings = ChatSettings(generation=GREEDY)
    settings.chat.max_message_chars = 10
    with pytest.raises(ChatInputError, match="limit is 10"):
        next(respond("가" * 11, [], settings, tiny_loaded))


def test_hangul_streams_syllable_by_syllable_not_word_by_word(smol_tokenizer):
    """SmolLM2 spends ~3 byte tokens per syllable: each syllable shows as soon as its bytes are complete,
    never half a syllable (U+FFFD), and without waiting for the space after the word."""
    import torch
    from transformers import TextIteratorStreamer  # what stream_reply uses

    streamer = TextIteratorStreamer(smol_tokenizer, skip_prompt=False)
    pieces = []
    for token in smol_tokenizer("성수 카페 ㄱㄱ", add_special_tokens=False)["input_ids"]:
        streamer.put(torch.tensor([token]))
        while not streamer.text_queue.empty():
            pieces.append(streamer.text_queue.get())
    pieces = [piece for piece in pieces if piece]  # the streamer also queues "" after incomplete bytes
    streamer.end()
    text = "".join(pieces) + "".join(iter(streamer.text_queue.get, None))
    assert text == "성수 카페 ㄱㄱ"
    assert "\ufffd" not in "".join(pieces)
    assert pieces[:2] == ["성", "수"], pieces


def _pieces(text: str, size: int = 2) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 3, 7])
def test_a_streamed_loop_is_never_shown(size):
    looping = "힘들었겠다 ㅠㅠ\n오늘 하루도 푹 쉬어!\n오늘 하루도 푹 쉬어!\n오늘 하루도 푹"
    shown = list(_shown_pieces(iter(_pieces(looping, size)), stop_loops=True))
    assert "".join(shown) == "힘들었겠다 ㅠㅠ\n오늘 하루도 푹 쉬어!"
    assert len(shown) > 2  # it still streams, up to the held-back sentence
    assert "".join(_shown_pieces(iter(_pieces(looping, size)), stop_loops=False)) == looping


def test_a_stream_without_a_loop_is_shown_whole_and_as_it_comes():
    reply = "헐 진짜? 오늘 하루 고생했네\n오늘은 일찍 자자"  # starts like an earlier line, then parts
    pieces = _pieces(reply)
    shown = list(_shown_pieces(iter(pieces), stop_loops=True))
    assert "".join(shown) == reply
    assert shown[0] == "헐"  # nothing waits for the end of a sentence that is not a repeat (a space does)


def test_stop_on_loop_ends_a_row_when_its_sentence_repeats(tiny):
    _, tokenizer = tiny
    prompt = tokenizer("야, 이거 어때?", add_special_tokens=False)["input_ids"]
    rows = {
        "looped": "오늘 하루도 푹 쉬어!\n오늘 하루도 푹 쉬어!",
        "unfinished": "오늘 하루도 푹 쉬어!\n오늘 하루도 푹 쉬어",
        "fine": "오늘 하루도 푹 쉬어!\n내일 봐",
    }
    verdicts = {}
    for name, text in rows.items():
        reply = tokenizer(text, add_special_tokens=False)["input_ids"]
        criterion = StopAtReplyEnd(tokenizer, stop_loops=True, max_sentences=0)
        criterion(torch.tensor([prompt + reply[:1]]), None)  # the first call finds where the reply starts
        verdicts[name] = bool(criterion(torch.tensor([prompt + reply]), None)[0])
    assert verdicts == {"looped": True, "unfinished": False, "fine": False}


def test_batch_replies_are_cut_at_their_loop(tiny):
    model, tokenizer = tiny
    looping = tokenizer("오늘 하루도 푹 쉬어!\n오늘 하루도 푹 쉬어!", add_special_tokens=False)["input_ids"]
    (cut,) = decode_replies(model, tokenizer, [looping], stop_loops=True)
    (kept,) = decode_replies(model, tokenizer, [looping], stop_loops=False)
    assert (cut.text, cut.finish_reason) == ("오늘 하루도 푹 쉬어!", "stop")
    assert kept.finish_reason == "length" and kept.text.count("푹 쉬어") == 2


@pytest.mark.parametrize("size", [1, 3, 7])
def test_a_stream_ends_after_its_first_sentence_and_shows_nothing_of_the_next(size):
    reply = "휴강은 진짜 축하해! 다음 학기엔 그만두자"
    shown = list(_shown_pieces(iter(_pieces(reply, size)), stop_loops=True, max_sentences=1))
    assert "".join(shown) == "휴강은 진짜 축하해!"
    assert len(shown) > 1  # it still streams
    assert "".join(_shown_pieces(iter(_pieces(reply, size)), stop_loops=True)) == reply


def test_stop_after_sentences_ends_a_row_once_the_next_sentence_begins(tiny):
    _, tokenizer = tiny
    prompt = tokenizer("야, 이거 어때?", add_special_tokens=False)["input_ids"]
    verdicts = {}
    for text in ("그건 진짜 못 참지.", "그건 진짜 못 참지. 다음엔"):
        reply = tokenizer(text, add_special_tokens=False)["input_ids"]
        criterion = StopAtReplyEnd(tokenizer, stop_loops=False, max_sentences=1)
        criterion(torch.tensor([prompt + reply[:1]]), None)
        verdicts[text] = bool(criterion(torch.tensor([prompt + reply]), None)[0])
    assert verdicts == {"그건 진짜 못 참지.": False, "그건 진짜 못 참지. 다음엔": True}


def test_batch_replies_are_cut_after_their_sentences(tiny):
    model, tokenizer = tiny
    ids = tokenizer("그건 진짜 못 참지. 다음엔", add_special_tokens=False)["input_ids"]
    (cut,) = decode_replies(model, tokenizer, [ids], max_sentences=1)
    (kept,) = decode_replies(model, tokenizer, [ids])
    assert (cut.text, cut.finish_reason) == ("그건 진짜 못 참지.", "stop")
    assert (kept.text, kept.finish_reason) == ("그건 진짜 못 참지. 다음엔", "length")


def test_a_generated_reply_under_a_sentence_limit_is_the_unlimited_reply_cut(smol_tokenizer, monkeypatch):
    """The limit stops generation early (fewer tokens) and changes nothing before the cut: with the same seed, the
    limited reply is the unlimited one cut after its first sentence. Batches share one RNG, so each row samples
    the same draws whether or not its neighbours stopped."""
    from tiny_models import tiny_llama

    model, tokenizer = tiny_llama(smol_tokenizer)  # its own: the hook below must not reach other tests' model
    monkeypatch.setattr(sentences, "MIN_SYLLABLES", 0)  # the random model writes no Hangul
    line_break = torch.zeros(model.config.vocab_size)
    line_break[tokenizer.convert_tokens_to_ids("Ċ")] = 10.0  # so that its replies have lines to cut
    model.lm_head.register_forward_hook(lambda module, args, logits: logits + line_break)
    sampled = GenerationConfig(max_new_tokens=40, temperature=1.0, top_p=1.0, repetition_penalty=1.0, seed=3)
    conversations = [CONVERSATION, [{"role": "user", "content": "오늘 점심 뭐 먹지"}]]
    unlimited = generate_batch(model, tokenizer, conversations, sampled)
    limited = generate_batch(model, tokenizer, conversations, dataclasses.replace(sampled, max_sentences=1))
    assert [r.text for r in limited] == [cut_after_sentences(r.text, 1) for r in unlimited]
    assert all(len(c.text) < len(u.text) for c, u in zip(limited, unlimited, strict=True))  # both were cut
    assert all(c.new_tokens < u.new_tokens for c, u in zip(limited, unlimited, strict=True))  # stopped early


def test_a_negative_sentence_limit_is_refused():
    with pytest.raises(ConfigError, match="generation.max_sentences"):
        check_generation(GenerationConfig(max_sentences=-1))
