"""generation.max_sentences: where a reply's first sentences end (insabot/korean/sentences.py)."""

import pytest

from insabot.korean.sentences import cut_after_sentences, sentences_end


@pytest.mark.parametrize(
    ("reply", "first"),
    [
        ("휴강은 진짜 축하해! 다음 학기엔 그만두자", "휴강은 진짜 축하해!"),
        (
            "비 오는 날은 그게 제일 무서운 일이지. 비 오면 폰도 켜두고",
            "비 오는 날은 그게 제일 무서운 일이지.",
        ),
        ("소금빵은 밥이랑 먹으면 돼 ㅋㅋ\n근데 그게 제일 큰 장점이지", "소금빵은 밥이랑 먹으면 돼 ㅋㅋ"),
        ("벌써 반팔 입었네요 ㅎㅎ 오늘 하루가 제일 무섭죠", "벌써 반팔 입었네요 ㅎㅎ"),  # a laugh ends it
        ("축하해 🎉 오늘은 치킨 먹자", "축하해 🎉 오늘은 치킨 먹자"),  # three syllables: not a sentence yet
        ("생일 축하해 🎉 오늘은 치킨 먹자", "생일 축하해 🎉"),
        (
            "좋아요! 룸이 많아서 한 번쯤 가봐요. 을지로 노가리 골목도 있고요",
            "좋아요! 룸이 많아서 한 번쯤 가봐요.",
        ),
        ("출근길은 2호선이 제일 무섭지", "출근길은 2호선이 제일 무섭지"),  # one sentence: whole
        (
            "거리는 2.5km 정도라 걸어가도 돼. 버스도 있고",
            "거리는 2.5km 정도라 걸어가도 돼.",
        ),  # no end inside 2.5
    ],
)
def test_a_reply_is_cut_after_its_first_sentence(reply, first):
    assert cut_after_sentences(reply, 1) == first


def test_a_quotation_and_the_line_leading_into_it_stay_whole():
    draft = '부드럽게 쓰는 게 좋아요.\n"팀장님, 내일 오전까지 확인 부탁드려도 괜찮을까요?"\n이 정도면 돼요'
    assert (
        cut_after_sentences(draft, 1)
        == '부드럽게 쓰는 게 좋아요.\n"팀장님, 내일 오전까지 확인 부탁드려도 괜찮을까요?"'
    )
    inline = "그거면 그냥 '누구야? 오늘부터 예약은 안 돼서요' 정도로 가. 그럼 끝"
    assert cut_after_sentences(inline, 1) == "그거면 그냥 '누구야? 오늘부터 예약은 안 돼서요' 정도로 가."
    curly = "“다들 잘 지내! 이번 주말은 내가 쏠게” 이렇게 보내봐"
    assert cut_after_sentences(curly, 1) == curly


def test_more_sentences_when_asked():
    reply = "헐 진짜 고생했다. 오늘은 푹 쉬어. 내일 맛있는 거 먹자"
    assert cut_after_sentences(reply, 2) == "헐 진짜 고생했다. 오늘은 푹 쉬어."
    assert cut_after_sentences(reply, 3) == reply


def test_a_growing_reply_ends_only_once_the_next_sentence_has_begun():
    assert sentences_end("그건 진짜 못 참지.", 1) is None
    assert sentences_end("그건 진짜 못 참지. ", 1) is None
    assert sentences_end("그건 진짜 못 참지. 다", 1) == len("그건 진짜 못 참지.")
    assert sentences_end("그거 다들 그래ㅋㅋ", 1) is None  # the laugh may go on
    assert sentences_end("그거 다들 그래ㅋㅋ 그", 1) == len("그거 다들 그래ㅋㅋ")
