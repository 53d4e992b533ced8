"""The real-style message set is frozen, balanced across its halves, and held out from the training corpus."""

import collections
import hashlib
import unicodedata

from insabot.eval.real_messages import FROZEN_SHA256, REAL_MESSAGES, load_real_messages
from insabot.finetune.conversations import load_corpus
from insabot.finetune.dedupe import HELD_OUT_SIMILARITY, text_similarity

CORPUS_CATEGORIES = {
    "일상 수다", "위로·공감", "연애 상담", "음식·배달", "학교·직장", "쇼핑·패션", "국내 여행",
    "핫플·맛집·카페", "K-pop·덕질", "드라마·예능·웹툰", "밈·유행어", "게임·스포츠", "단톡방 답장 초안", "카톡 말투 바꾸기",
}  # fmt: skip


def test_the_set_is_the_frozen_one():
    assert hashlib.sha256(REAL_MESSAGES.read_bytes()).hexdigest() == FROZEN_SHA256


def test_every_category_and_tone_is_in_both_halves():
    messages = load_real_messages()
    assert len(messages) >= 200
    assert len({m.id for m in messages}) == len({m.text for m in messages}) == len(messages)
    assert all(unicodedata.normalize("NFC", m.text) == m.text for m in messages)
    assert {m.category for m in messages} == CORPUS_CATEGORIES | {"일상 고민"}
    for split in ("dev", "test"):
        half = load_real_messages(split)
        assert len(half) >= 100
        counts = collections.Counter((m.category, m.tone) for m in half)
        assert {category for category, _ in counts} == CORPUS_CATEGORIES | {"일상 고민"}
        assert {tone for _, tone in counts} == {"banmal", "jondaetmal"}


def test_the_corpus_holds_no_near_copy_of_a_real_message():
    turns = [text for c in load_corpus() for text in c.turns("user")]
    close = [
        (m.text, turn)
        for m in load_real_messages()
        for turn in turns
        if text_similarity(m.text, turn) >= HELD_OUT_SIMILARITY
    ]
    assert close == []


def test_similarity_sees_a_reworded_copy_and_not_a_new_line():
    assert (
        text_similarity("월급 들어온 지 3일 됐는데 벌써 반 씀", "월급 들어온 지 3일 됐는데 벌써 텅장")
        >= HELD_OUT_SIMILARITY
    )
    assert text_similarity("폰 액정 또 깨짐", "발표 망한 듯") == 0.0
