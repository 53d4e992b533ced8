"""Written replies for opening messages (insabot/retrieval.py) and how generation uses them."""

from __future__ import annotations

import pytest

import insabot.retrieval
from insabot.chat import SYSTEM_PROMPTS
from insabot.config import ConfigError, GenerationConfig
from insabot.generation import check_generation, generate_batch, stream_reply, written_reply
from insabot.retrieval import Opening, OpeningIndex, content_words, corpus_openings, grams

OPENINGS = [
    Opening("출근길 2호선 또 멈춤", "2호선 또? 오늘 지각 확정이네", "banmal", "a"),
    Opening("점메추 좀", "추운 날엔 순대국이지", "banmal", "b"),
    Opening("점메추 부탁드려요", "오늘은 칼국수 어떠세요?", "jondaetmal", "c"),
    Opening("비 온다 ㅠㅠ", "우산 챙겼어?", "banmal", "d"),
]
RETRIEVING = GenerationConfig(max_new_tokens=4, do_sample=False, retrieve=True, retrieve_min_similarity=0.3)


@pytest.fixture
def small_index(monkeypatch):
    index = OpeningIndex(OPENINGS)
    monkeypatch.setattr(insabot.retrieval, "corpus_index", lambda: index)
    return index


def opening(text: str, tone: str = "banmal") -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM_PROMPTS[tone]}, {"role": "user", "content": text}]


def test_grams_fold_laughter_runs_spacing_and_unicode_forms():
    assert grams("비 온다 ㅠㅠㅠㅠㅠ") == grams("비  온다 ㅠㅠ")
    assert grams("머함") == grams("\u1106\u1165\u1112\u1161\u11b7")  # the same syllables, decomposed
    assert set(grams("ㅋㅋ 뭐")) == {"ㅋ", "뭐", "ㅋㅋ", "ㅋ ", " 뭐", "ㅋㅋ ", "ㅋ 뭐"}


def test_grams_drop_emoji_glue_and_content_words_keep_what_a_message_is_about():
    assert "\ufe0f" not in "".join(grams("🌧️☔️"))
    (words,) = content_words(["배달비가 왜 이렇게 비싸졌죠"])
    assert "배달/NN" in words and "비싸/VA" in words
    assert not any(w.startswith(("가/", "죠/")) for w in words)  # particles and endings say how, not what


def test_a_shared_ending_alone_does_not_make_a_match():
    index = OpeningIndex(
        [
            Opening("포켓몬 카드 요즘 왜 이렇게 비싸요?", "수집하는 어른이 많아서요", "jondaetmal", "cards"),
            Opening("배달비 왤케 비싸요 요즘", "가까운 데는 포장이 답이에요", "jondaetmal", "delivery"),
        ]
    )
    (best,) = index.search("배달비가 왜 이렇게 비싸졌죠", "jondaetmal")
    assert best.opening.source == "delivery"


def test_search_finds_the_nearest_opening_of_the_tone_asked_for():
    index = OpeningIndex(OPENINGS)
    (best,) = index.search("2호선 멈췄어 ㅋㅋ", "banmal")
    assert best.opening.source == "a" and 0 < best.similarity < 1
    assert [m.opening.source for m in index.search("점메추", "banmal", k=5)] == ["b"]
    assert [m.opening.source for m in index.search("점메추", "jondaetmal", k=5)] == ["c"]
    assert index.search("점메추 좀", "banmal")[0].similarity == pytest.approx(1.0)
    assert index.search("🌧️🌧️", "banmal") == []  # no gram in common: nothing, not a random opening


def test_an_opening_close_enough_gets_its_written_reply(small_index):
    assert written_reply(opening("점메추 좀 해줘"), RETRIEVING) == "추운 날엔 순대국이지"
    assert (
        written_reply(opening("점메추 부탁드립니다", "jondaetmal"), RETRIEVING) == "오늘은 칼국수 어떠세요?"
    )


@pytest.mark.parametrize(
    "messages, gen",
    [
        (opening("점메추 좀"), GenerationConfig()),  # retrieval off (the dataclass default)
        (opening("고양이가 새끼를 낳았어"), RETRIEVING),  # no opening close enough
        (
            [
                *opening("안녕"),
                {"role": "assistant", "content": "안녕!"},
                {"role": "user", "content": "점메추 좀"},
            ],
            RETRIEVING,
        ),  # a later turn answers its conversation, not the line
        (
            [{"role": "system", "content": "너는 해적이야"}, {"role": "user", "content": "점메추 좀"}],
            RETRIEVING,
        ),
        (
            [{"role": "user", "content": "점메추 좀"}],
            RETRIEVING,
        ),  # no persona prompt: no tone to retrieve for
    ],
)
def test_the_model_writes_everywhere_else(small_index, messages, gen):
    assert written_reply(messages, gen) is None


def test_the_batch_mixes_written_and_generated_replies_in_order(small_index, tiny):
    model, tokenizer = tiny
    conversations = [opening("고양이가 새끼를 낳았어"), opening("점메추 좀"), opening("2호선 또 멈췄네")]
    replies = generate_batch(model, tokenizer, conversations, RETRIEVING)
    assert [r.source for r in replies] == ["model", "corpus", "corpus"]
    assert [r.text for r in replies[1:]] == ["추운 날엔 순대국이지", "2호선 또? 오늘 지각 확정이네"]
    alone = generate_batch(
        model, tokenizer, conversations[:1], GenerationConfig(max_new_tokens=4, do_sample=False)
    )
    assert replies[0] == alone[0]  # greedy: the generated one is the model's reply without retrieval


def test_the_stream_gives_a_written_reply_whole_without_running_the_model(small_index):
    assert list(stream_reply(None, None, opening("점메추 좀"), RETRIEVING)) == ["추운 날엔 순대국이지"]


def test_a_similarity_bar_outside_zero_to_one_is_refused():
    with pytest.raises(ConfigError, match="generation.retrieve_min_similarity: 1.5"):
        check_generation(GenerationConfig(retrieve_min_similarity=1.5))


def test_the_corpus_index_holds_train_openings_only_and_no_drafts():
    from insabot.finetune.conversations import load_corpus
    from insabot.finetune.splits import assign_splits, load_frozen
    from insabot.korean.loops import QUOTING_CATEGORIES

    splits = assign_splits(load_corpus(), frozen=load_frozen())
    train = [c for c in splits["train"] if c.category not in QUOTING_CATEGORIES]
    openings = corpus_openings()
    assert len(train) < len(splits["train"]) and len(openings) == len(train)
    held_out = {c.id for name in ("validation", "test") for c in splits[name]}
    assert not held_out & {o.source for o in openings}
    first = train[0]
    assert openings[0] == Opening(
        first.messages[1]["content"], first.messages[2]["content"], first.tone, first.id
    )
