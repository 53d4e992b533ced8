"""Quality gates on the bundled dataset, and the strict reader on malformed fixtures."""

import collections
import re

import pytest

from insabot.chat import SYSTEM_PROMPTS
from insabot.finetune.conversations import load_corpus, read_conversations
from insabot.korean.analyze import analyze
from insabot.korean.speech_level import tone_ok
from insabot.textio import InputError, read_jsonl


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_schema_ids_and_persona_prompts(corpus):
    assert len(corpus) >= 1000
    ids = collections.Counter(c.id for c in corpus)
    assert [i for i, n in ids.items() if n > 1] == []
    for conversation in corpus:
        assert conversation.messages[0] == {"role": "system", "content": SYSTEM_PROMPTS[conversation.tone]}, (
            conversation.source
        )
        assert 1 <= len(conversation.turns("user")) <= 4, conversation.source


def test_categories_and_tone_mix(corpus):
    per_category = collections.Counter(c.category for c in corpus)
    assert min(per_category.values()) >= 100, per_category
    jondaetmal = sum(c.tone == "jondaetmal" for c in corpus) / len(corpus)
    assert jondaetmal >= 0.25


def test_duplicate_turns_at_most_one_percent(corpus):
    turns = collections.Counter(
        (m["role"], re.sub(r"[\W_]", "", m["content"]))
        for c in corpus
        for m in c.messages
        if m["role"] != "system"
    )
    duplicates = sum(n - 1 for n in turns.values() if n > 1)
    assert duplicates / sum(turns.values()) <= 0.01


@pytest.mark.parametrize("role", ["user", "assistant"])
def test_openings_are_varied_in_every_category(corpus, role):
    """The style brief's variety check: within a category, no first-eight-character opening starts more than 2 % of
    the turns (a shard whose replies all open with 헐 or ㅋㅋ is a template). Measured 1.26 % at most (user turns of
    단톡방 답장 초안), 0.43 % for assistant turns."""
    turns: dict[str, list[str]] = collections.defaultdict(list)
    for conversation in corpus:
        turns[conversation.category].extend(conversation.turns(role))
    shares = {
        category: max(collections.Counter(t.strip()[:8] for t in texts).values()) / len(texts)
        for category, texts in turns.items()
    }
    assert max(shares.values()) <= 0.02, shares


def test_assistant_turns_are_korean_and_obey_the_tone(corpus):
    turns = [(c.tone, text) for c in corpus for text in c.turns("assistant")]
    analyses = analyze(text for _, text in turns)
    hangul = sum(a.hangul_share or 0.0 for a in analyses) / len(analyses)
    agreement = sum(
        tone_ok(a.sentences, tone) is not False for (tone, _), a in zip(turns, analyses, strict=True)
    ) / len(turns)
    assert hangul >= 0.8
    assert agreement >= 0.95


SYSTEM = SYSTEM_PROMPTS["banmal"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": 1, "category": "x", "tone": "banmal", "messages": [', "not valid JSON"),
        ('["a"]', "expected a JSON object"),
        ('{"id": 1, "category": "x", "tone": "banmal"}', "missing field 'messages'"),
        ('{"id": 1, "category": "x", "tone": "사투리", "messages": []}', "unknown tone '사투리'"),
        (
            '{"id": 1, "category": "x", "tone": "banmal", "messages": [{"role": "bot", "content": "ㅎㅇ"}]}',
            "unknown role 'bot'",
        ),
        (
            '{"id": 1, "category": "x", "tone": "banmal", "messages": [{"role": "user", "content": "  "}]}',
            "empty content",
        ),
        (
            '{"id": 1, "category": "x", "tone": "banmal", "messages": [{"role": "assistant", "content": "ㅎㅇ"}]}',
            r"messages\[0\] is 'assistant' but 'user' was expected",
        ),
        (
            '{"id": 1, "category": "x", "tone": "banmal", "messages": [{"role": "user", "content": "ㅎㅇ"}]}',
            "must end with an assistant turn",
        ),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    good = f'{{"id": 0, "category": "x", "tone": "banmal", "messages": [{{"role": "system", "content": "{SYSTEM}"}}, {{"role": "user", "content": "야"}}, {{"role": "assistant", "content": "왜"}}]}}'
    path.write_text(good + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:  # DataError is an InputError
        read_conversations(path)
    assert str(err.value).startswith(f"{path}:3: ")


def test_non_utf8_names_the_line(tmp_path):
    path = tmp_path / "cp949.jsonl"
    path.write_bytes('{"text": "정상"}\n'.encode() + '{"text": "한글"}\n'.encode("cp949"))
    with pytest.raises(InputError, match=rf"{path}:2: not valid UTF-8"):
        list(read_jsonl(path))
