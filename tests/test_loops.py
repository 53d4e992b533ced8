"""The loop verdict on crafted Korean replies, and its place in the degenerate rate."""

import pytest

from insabot.eval.harness import aggregate, score_rows
from insabot.korean.loops import cut_repeat, is_loop, repeat_start, undecided_from

CHAT = "위로·공감"


@pytest.mark.parametrize(
    "reply",
    [
        # the same line over and over (what greedy decoding did to the demo default)
        "오늘 하루도 푹 쉬어보세요!\n오늘 하루도 푹 쉬어보세요!\n오늘 하루도 푹",
        # the same sentence twice within one line, punctuation aside
        "발표 망해도 괜찮아. 발표 망해도 괜찮아!",
        # the same line with and without its quotes
        '"오늘 하루도 푹 쉬어보세요!" "오늘 하루도 푹 쉬어보세요!"',
    ],
)
def test_a_repeated_line_or_sentence_is_a_loop(reply):
    assert is_loop(reply, CHAT)
    assert is_loop(reply, "카톡 말투 바꾸기")  # repeating is never the job


def test_a_quote_only_reply_is_a_loop_except_where_quoting_is_the_job():
    quote = '"오늘 하루도 푹 쉬어보세요!"'
    assert is_loop(quote, CHAT)
    assert is_loop(f"{quote}\n“내일은 더 좋을 거야”", "일상 수다")
    assert not is_loop(quote, "카톡 말투 바꾸기")
    assert not is_loop(quote, "단톡방 답장 초안")
    assert not is_loop(quote, "답장 추천")


@pytest.mark.parametrize(
    "reply",
    [
        "아 진짜 고생했다ㅠ 밤새 준비했을 텐데\n오늘은 시험 생각 금지하고 맛있는 거 먹자. 떡볶이 콜?",
        "헐. 헐. 대박",  # short reactions repeat in real chats
        "ㅋㅋㅋㅋ\nㅋㅋㅋㅋ",
        '이렇게 보내봐 "나 방금 보냈어!" 깔끔하지',  # a quote inside a reply is not quote-only
        "",
    ],
)
def test_normal_replies_are_not_loops(reply):
    assert not is_loop(reply, CHAT)


def test_a_loop_counts_in_the_degenerate_rate_and_as_its_own_metric():
    def probe(reply, category=CHAT):
        return {
            **{"reply": reply, "category": category, "tone": "banmal", "kind": "chat", "turns": 1},
            **{"prompt": "아무 말", "keywords": [], "finish_reason": "stop", "new_tokens": 4},
        }

    rows = score_rows(
        [
            probe("오늘 하루도 푹 쉬어보세요!\n오늘 하루도 푹 쉬어보세요!"),
            probe('"오늘 하루도 푹 쉬어"', category="카톡 말투 바꾸기"),
            probe("떡볶이 콜? 오늘은 내가 쏜다"),
            probe("좋아 가자"),
        ]
    )
    assert [row["loop"] for row in rows] == [True, False, False, False]
    metrics = aggregate(rows, seconds=1.0, perplexity=None)
    assert metrics["loop_rate"] == 0.25 and metrics["degenerate_rate"] == 0.25


LOOPING = "힘들었겠다 ㅠㅠ\n오늘 하루도 푹 쉬어!\n오늘 하루도 푹 쉬어!\n오늘 하루도"


def test_cut_repeat_keeps_what_the_reply_said_before_it_looped():
    assert cut_repeat(LOOPING) == "힘들었겠다 ㅠㅠ\n오늘 하루도 푹 쉬어!"
    assert cut_repeat("발표 망해도 괜찮아. 발표 망해도 괜찮아! 진짜로") == "발표 망해도 괜찮아."
    plain = "헐. 헐. 대박 그래서 어케 됨?"  # a short repeat is how people text
    assert cut_repeat(plain) == plain and repeat_start(plain) is None


def test_a_growing_reply_repeats_only_once_the_sentence_has_ended():
    assert repeat_start("푹 쉬어보세요. 푹 쉬어보세요", finished=False) is None  # "…보세요요" could follow
    assert repeat_start("푹 쉬어보세요. 푹 쉬어보세요") == len("푹 쉬어보세요.")
    assert repeat_start("푹 쉬어보세요. 푹 쉬어보세요!", finished=False) == len("푹 쉬어보세요.")
    assert repeat_start("푹 쉬어. 푹 쉬어보세요!", finished=False) is None  # a longer sentence is a new one


def test_a_stream_holds_back_only_a_sentence_that_starts_like_an_earlier_one():
    said = "오늘 하루도 푹 쉬어!\n"
    assert undecided_from(said + "오늘 하루") == len(said)  # may be the loop starting: wait
    assert undecided_from(said + "내일은") == len(said + "내일은")  # a new sentence: show it
    assert undecided_from(said + "오늘 하루도 푹 자") == len(said + "오늘 하루도 푹 자")  # it parted
