"""The Korean analysers on known sentences: each case pins a rule of speech_level.py, markers.py or locality.py."""

import pytest

from insabot.korean.analyze import analyze
from insabot.korean.speech_level import LEVEL_NAMES, LEVELS, tone_ok


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("야, 이거 어때?", "banmal"),
        ("성수에 새로 생긴 카페 가볼래?", "banmal"),
        ("배고파ㅠㅠ", "banmal"),
        ("밥 먹자!!", "banmal"),
        ("했었는데?", "banmal"),  # ends on a connective, still 반말
        ("나도 보러 갈 수도 있으니까", "banmal"),  # -니까 connective is not 하십시오체
        ("할머니께서 오셨어", "banmal"),  # subject honorific, 반말 to the listener
        ("엄마가 '밥 먹었어요?' 하시더라", "banmal"),  # the quote's level is not the speaker's
        ("그거 진짜 킹받네ㅋㅋㅋ", "banmal"),
        ("진짜 좋더라고요 ㅋㅋ", "haeyo"),
        ("가보세요~", "haeyo"),
        ("좋아용", "haeyo"),  # cute coda
        ("좋아요오", "haeyo"),  # drawn out
        ("갈게욤", "haeyo"),
        ("알겠어여", "haeyo"),
        ("진짜요?", "haeyo"),  # 요 particle after a noun
        ("근데요", "haeyo"),
        ("그쵸", "haeyo"),
        ("오늘 날씨 좋죠", "haeyo"),
        ("선생님께서 오신대요 🙂", "haeyo"),
        ("감사합니다!", "hapsyo"),
        ("내일 뵙겠습니다.", "hapsyo"),
        ("확인하셨습니까?", "hapsyo"),
        ("ㄹㅇ 맛집임", "eumseum"),
        ("어제 다녀왔음", "eumseum"),
        ("개웃김", "eumseum"),
        ("망한 듯", "eumseum"),
        ("지금 가는 중", "eumseum"),
        ("ㅋㅋㅋㅋ", "none"),
        ("🥲", "none"),
        ("성수동", "none"),
        ("완전 인정", "none"),
        ("넵", "none"),
        ("응", "none"),
        ("", "none"),
        ("갈게요. 근데 너는 가?", "mixed"),
    ],
)
def test_speech_level(text, level):
    assert analyze([text])[0].level == level


def test_sentences_carry_their_own_level_and_ending():
    (result,) = analyze(["킹받네 ㅋㅋ\n오늘은 좀 아닌 듯. 내일 봬요"])
    assert [(s.level, s.ending) for s in result.sentences] == [
        ("banmal", "네"),
        ("eumseum", "듯"),
        ("haeyo", "어요"),
    ]
    assert result.level == "mixed"


def test_quoted_drafts_do_not_count():
    (result,) = analyze(['"내일 갈게요!"\n이렇게 보내면 딱이야'])
    assert result.level == "banmal"
    assert tone_ok(result.sentences, "banmal") is True


def test_tone_matching():
    banmal, eum, polite, hapsyo, laugh = analyze(["가자", "ㄹㅇ 맛집임", "가요", "갑니다", "ㅋㅋ"])
    assert tone_ok(banmal.sentences, "banmal") is True and tone_ok(eum.sentences, "banmal") is True
    assert tone_ok(polite.sentences, "banmal") is False
    assert tone_ok(polite.sentences, "jondaetmal") is True and tone_ok(hapsyo.sentences, "jondaetmal") is True
    assert tone_ok(eum.sentences, "jondaetmal") is False
    assert tone_ok(laugh.sentences, "banmal") is None and tone_ok(laugh.sentences, "jondaetmal") is None


def test_every_label_has_a_korean_name():
    assert set(LEVEL_NAMES) == {*LEVELS, "mixed"}


def test_markers():
    (result,) = analyze(["ㅋㅋㅋ 킹받네 ㅠㅠ 오늘 갓생 실패 🤣 ^^"])
    assert result.markers.laughter == 1
    assert result.markers.crying == 1
    assert result.markers.emoji == 1
    assert result.markers.emoticon == 1
    assert result.markers.slang == ["킹받네", "갓생"]


def test_locality():
    (korean, loans, leaky, mixed_script) = analyze(
        [
            "성수동 카페 갔다가 망원시장 가자",
            "MBTI 물어보면 ENFP라 해, 너 T야?",
            "This is so good ㅋㅋ",
            "오늘은 休息 ありがとう",
        ]
    )
    assert korean.hangul_share == 1.0
    assert loans.latin_leak == []  # MBTI, ENFP and a lone capital are accepted loan tokens
    assert loans.hangul_share < 1.0  # ...but they are still not Hangul letters
    assert korean.local_refs == ["성수동", "망원시장"]  # 성수 inside 성수동 is not reported again
    assert leaky.latin_leak == ["This", "is", "so", "good"]
    assert leaky.hangul_share == pytest.approx(2 / 14)  # ㅋㅋ are Hangul letters
    assert mixed_script.other_script_leak == ["休息", "ありがとう"]


def test_nfc_and_order_are_kept():
    import unicodedata

    texts = [unicodedata.normalize("NFD", "가자"), "가요", "갑니다"]
    assert [a.level for a in analyze(texts)] == ["banmal", "haeyo", "hapsyo"]
    assert analyze(texts)[0].text == "가자"


def test_fluency_ranks_natural_chat_above_word_salad_and_non_words():
    natural, salad, non_words, too_short = analyze(
        [
            "점심은 밥집에서 먹는 게 제일 맛있어",
            "단어와 사람이 종류에서 죽어도 원리부터 직책에서 정도로",  # real words, no sense
            "이 걸일 데럽 ㅋㅋ",  # Hangul that is not Korean (SmolLM2 after a small LoRA)
            "헐",
        ]
    )
    assert natural.fluency > -4.5 > salad.fluency > -6 > non_words.fluency
    assert too_short.fluency is None and too_short.as_dict()["fluency"] is None
