"""Reranked decoding (insabot/rerank.py, generation.generate_batch with generation.candidates > 1): the choice
follows the score, the analysers drop looped, empty and wrong-tone candidates, an all-dropped set still answers,
seeded candidates do not depend on the batch, and candidates = 1 is plain generation."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import torch

from insabot.chat import SYSTEM_PROMPTS
from insabot.config import ConfigError, GenerationConfig
from insabot.generation import (
    Reply,
    encode_conversation,
    generate_batch,
    generate_kwargs,
    sample_candidates,
)
from insabot.rerank import acceptable, choose, pmi_relevance, tone_of

BANMAL = [
    {"role": "system", "content": SYSTEM_PROMPTS["banmal"]},
    {"role": "user", "content": "오늘 뭐 먹지"},
]
JONDAET = [
    {"role": "system", "content": SYSTEM_PROMPTS["jondaetmal"]},
    {"role": "user", "content": "점심 추천해 주세요"},
]
SAMPLED = GenerationConfig(max_new_tokens=8, do_sample=True, temperature=1.0, seed=7, candidates=4)


def replies(*texts: str) -> list[Reply]:
    return [Reply(text, 5, "stop") for text in texts]


def scored(values: dict[str, float]):
    """A relevance that looks each text up in `values`, recording what it was asked to score."""
    asked: list[list[str]] = []

    def relevance(conversation, texts):
        asked.append(list(texts))
        return [values[text] for text in texts]

    return relevance, asked


def test_the_reranker_picks_the_candidate_its_score_ranks_first():
    options = replies("떡볶이 어때", "라면 먹자", "김밥 ㄱㄱ 어때")
    relevance, _ = scored({"떡볶이 어때": -2.0, "라면 먹자": -0.5, "김밥 ㄱㄱ 어때": -1.0})
    assert choose(options, BANMAL, relevance).text == "라면 먹자"


def test_looped_empty_and_wrong_tone_candidates_are_dropped():
    looped = "오늘 하루도 푹 쉬어! 오늘 하루도 푹 쉬어!"
    polite = "떡볶이 드세요."
    options = replies(looped, "", polite, "떡볶이 먹자")
    relevance, asked = scored({looped: 0.0, "": 0.0, polite: 0.0, "떡볶이 먹자": -3.0})
    assert acceptable([r.text for r in options], "banmal") == [False, False, False, True]
    assert choose(options, BANMAL, relevance).text == "떡볶이 먹자"
    assert asked == [["떡볶이 먹자"]]  # only the kept candidates cost a scoring pass


def test_quote_only_is_dropped_only_where_the_category_is_known_and_not_a_quoting_one():
    quote = '"오늘 저녁 같이 먹자"'
    assert acceptable([quote], None) == [True]
    assert acceptable([quote], None, "일상 수다") == [False]
    assert acceptable([quote], None, "단톡방 답장 초안") == [True]


def test_the_tone_comes_from_the_persona_prompt_and_a_custom_prompt_has_none():
    assert tone_of(BANMAL) == "banmal"
    assert tone_of(JONDAET) == "jondaetmal"
    assert tone_of([{"role": "system", "content": "너는 해적이야"}, BANMAL[1]]) is None
    assert tone_of(BANMAL[1:]) is None
    # without a tone to check, a polite reply to a casual-looking message is kept
    assert acceptable(["떡볶이 드세요."], tone_of(BANMAL[1:])) == [True]


def test_when_every_candidate_is_dropped_the_best_scoring_of_all_answers():
    options = replies("", "떡볶이 드세요.", "응응 응응! 응응 응응!")
    relevance, asked = scored({"": -1.0, "떡볶이 드세요.": -0.2, "응응 응응! 응응 응응!": -0.7})
    assert choose(options, BANMAL, relevance).text == "떡볶이 드세요."
    assert asked == [[r.text for r in options]]


def test_pmi_relevance_subtracts_lambda_times_the_empty_turn_likelihood(tiny):
    from insabot.likelihood import mean_log_likelihoods

    model, tokenizer = tiny
    texts = ["떡볶이 먹자", "ㅋㅋ 인정"]
    null = [BANMAL[0], {"role": "user", "content": ""}]
    conditional = mean_log_likelihoods(model, tokenizer, BANMAL, texts)
    generic = mean_log_likelihoods(model, tokenizer, null, texts)
    expected = [c - 0.5 * g for c, g in zip(conditional, generic, strict=True)]
    assert pmi_relevance(model, tokenizer, 0.5)(BANMAL, texts) == pytest.approx(expected)


def test_batched_candidates_equal_unbatched_ones_under_a_fixed_seed(tiny):
    model, tokenizer = tiny
    batched = sample_candidates(model, tokenizer, [BANMAL, JONDAET], SAMPLED)
    for conversation, candidates in zip([BANMAL, JONDAET], batched, strict=True):
        alone = sample_candidates(model, tokenizer, [conversation], SAMPLED)[0]
        assert candidates == alone
        # each candidate alone in its batch: the same seed for index 0, so the first matches by itself
        single = dataclasses.replace(SAMPLED, candidates=1)
        first = sample_candidates(model, tokenizer, [conversation], single)[0]
        assert first == candidates[:1]
    # sampled, not one greedy reply repeated
    assert len({r.text for r in batched[0]}) > 1
    # and a different seed draws different candidates
    other = sample_candidates(model, tokenizer, [BANMAL], dataclasses.replace(SAMPLED, seed=8))[0]
    assert other != batched[0]


def test_reranked_generate_batch_returns_one_of_its_candidates(tiny):
    model, tokenizer = tiny
    candidates = sample_candidates(model, tokenizer, [BANMAL, JONDAET], SAMPLED)
    chosen = generate_batch(model, tokenizer, [BANMAL, JONDAET], SAMPLED)
    assert [c in options for c, options in zip(chosen, candidates, strict=True)] == [True, True]
    assert chosen == generate_batch(model, tokenizer, [BANMAL, JONDAET], SAMPLED)


def test_the_chat_reply_function_reranks_whole_when_asked(tiny):
    from insabot.bot.respond import ChatSettings, respond
    from insabot.config import ChatConfig
    from insabot.models.loading import LoadedModel

    model, tokenizer = tiny
    loaded = LoadedModel(model, tokenizer, None, None, 0.0)
    settings = ChatSettings(chat=ChatConfig(tone="banmal"), generation=SAMPLED)
    pieces = list(respond("야, 이거 어때?", [], settings, loaded))
    (expected,) = generate_batch(
        model, tokenizer, [[*BANMAL[:1], {"role": "user", "content": "야, 이거 어때?"}]], SAMPLED
    )
    assert pieces == [expected.text]


@pytest.mark.parametrize("do_sample", [False, True])
def test_one_candidate_is_todays_generation_exactly(tiny, do_sample):
    model, tokenizer = tiny
    gen = GenerationConfig(max_new_tokens=8, do_sample=do_sample, temperature=1.0, seed=3)
    assert gen.candidates == 1
    # today's path: torch.manual_seed(seed), then model.generate's own sampling (or greedy) over the prompt
    inputs = encode_conversation(tokenizer, BANMAL)
    torch.manual_seed(gen.seed)
    with torch.inference_mode():
        output = model.generate(**inputs, **generate_kwargs(gen, tokenizer, model))
    today = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()
    assert [r.text for r in generate_batch(model, tokenizer, [BANMAL], gen)] == [today]


def test_reranking_needs_sampling_and_at_least_one_candidate(tiny):
    model, tokenizer = tiny
    with pytest.raises(ConfigError, match="do_sample"):
        generate_batch(model, tokenizer, [BANMAL], dataclasses.replace(SAMPLED, do_sample=False))
    with pytest.raises(ConfigError, match="below 1"):
        generate_batch(model, tokenizer, [BANMAL], dataclasses.replace(SAMPLED, candidates=0))


def test_reply_drafts_stay_three_samples_when_the_chat_reranks(monkeypatch):
    from insabot.bot import drafts
    from insabot.bot.respond import ChatSettings

    seen: list[GenerationConfig] = []

    def fake_batch(model, tokenizer, conversations, gen):
        seen.append(gen)
        return replies(*(f"답장 {i}" for i in range(len(conversations))))

    monkeypatch.setattr(drafts, "generate_batch", fake_batch)
    settings = ChatSettings(generation=dataclasses.replace(SAMPLED, candidates=8))
    assert drafts.reply_drafts(
        "민지: 내일 몇 시?", settings, SimpleNamespace(model=None, tokenizer=None)
    ) == ["답장 0", "답장 1", "답장 2"]
    assert [gen.candidates for gen in seen] == [1]


def test_the_api_reranks_only_non_streamed_sampled_requests():
    from insabot.bot.server import ChatCompletionRequest, generation_for

    messages = [{"role": "user", "content": "야"}]

    def candidates(**request) -> int:
        return generation_for(ChatCompletionRequest(messages=messages, **request), SAMPLED).candidates

    assert candidates() == 4
    assert candidates(stream=True) == 1
    assert candidates(temperature=0) == 1


def test_the_local_backend_answers_a_reranking_request_with_the_reranked_reply(tiny_dir, tiny):
    import threading

    from insabot.bot.backends import LocalBackend
    from insabot.bot.models import ModelChoice, ModelPool
    from insabot.config import ModelConfig
    from insabot.generation import reranked_reply

    model, tokenizer = tiny
    choice = ModelChoice(str(tiny_dir))
    pool = ModelPool(
        ModelConfig(base_model=str(tiny_dir)),
        [choice],
        loader=lambda c: SimpleNamespace(model=model, tokenizer=tokenizer),
    )
    backend = LocalBackend(pool, concurrency=1)
    pieces = list(backend.stream(backend.model_ids()[0], BANMAL, SAMPLED, threading.Event()))
    assert pieces == [generate_batch(model, tokenizer, [BANMAL], SAMPLED)[0].text]
    stopped = threading.Event()
    stopped.set()  # given up before it began: no candidate is generated, and no reply is given
    assert list(reranked_reply(model, tokenizer, BANMAL, SAMPLED, stopped)) == []


def test_serving_refuses_candidates_it_cannot_rerank():
    from insabot.bot.server import Settings, create_app
    from insabot.config import Config

    config = Config()
    config.generation = dataclasses.replace(SAMPLED, do_sample=False)
    with pytest.raises(ConfigError, match="do_sample"):
        create_app(object(), Settings(config))


def test_generate_refuses_greedy_candidates_before_a_model_loads(tmp_path, capsys):
    from insabot.cli import main

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("야 뭐해\n", encoding="utf-8")
    # the model does not exist: the refusal must come before anything tries to load it
    for flag in (["--set", "generation.candidates=3"], ["--candidates", "3"]):
        code = main(["generate", str(prompts), "--model", str(tmp_path / "nowhere"), *flag])
        assert code == 2 and "do_sample" in capsys.readouterr().err
