"""Loaders for all three shapes and file types, lenient mode, dedupe, splits, `insabot data` commands."""

import json

import pytest

from insabot.chat import SYSTEM_PROMPTS
from insabot.cli import main
from insabot.finetune.conversations import CORPUS_DIR, DataError, load_corpus
from insabot.finetune.dedupe import deduplicate
from insabot.finetune.sources import load_source, normalise_row
from insabot.finetune.splits import assign_splits, load_frozen
from insabot.textio import InputError

MESSAGES = {
    "messages": [{"role": "user", "content": "점메추 좀"}, {"role": "assistant", "content": "국밥 ㄱㄱ"}]
}
SHAREGPT = {"conversations": [{"from": "human", "value": "점메추 좀"}, {"from": "gpt", "value": "국밥 ㄱㄱ"}]}
ALPACA = {"instruction": "점메추 좀", "input": "", "output": "국밥 ㄱㄱ"}
EXPECTED = [
    {"role": "system", "content": SYSTEM_PROMPTS["banmal"]},
    {"role": "user", "content": "점메추 좀"},
    {"role": "assistant", "content": "국밥 ㄱㄱ"},
]


@pytest.mark.parametrize("row", [MESSAGES, SHAREGPT, ALPACA], ids=["messages", "sharegpt", "alpaca"])
def test_every_shape_becomes_one_schema(row):
    conversation = normalise_row(row, "f.jsonl:3", "banmal", "f")
    assert conversation.messages == EXPECTED
    assert (conversation.id, conversation.category, conversation.tone) == ("f-3", "external", "banmal")


def test_alpaca_input_and_jondaetmal_default():
    conversation = normalise_row(
        {"instruction": "바꿔줘", "input": "밥 먹었어?", "output": "식사하셨어요?"}, "x:1", "jondaetmal", "x"
    )
    assert conversation.messages[0]["content"] == SYSTEM_PROMPTS["jondaetmal"]
    assert conversation.messages[1]["content"] == "바꿔줘\n\n밥 먹었어?"


def test_file_types(tmp_path):
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps(SHAREGPT, ensure_ascii=False) + "\n", encoding="utf-8")
    js = tmp_path / "b.json"
    js.write_text(json.dumps([ALPACA], ensure_ascii=False), encoding="utf-8")
    csv_path = tmp_path / "c.csv"
    csv_path.write_text('instruction,input,output\n점메추 좀,,"국밥 ㄱㄱ"\n', encoding="utf-8")
    parquet = tmp_path / "d.parquet"
    from datasets import Dataset

    Dataset.from_list([{"messages": json.dumps(MESSAGES["messages"], ensure_ascii=False)}]).to_parquet(
        str(parquet)
    )
    for path in (jsonl, js, csv_path, parquet):
        (conversation,) = load_source(str(path)).conversations
        assert conversation.messages == EXPECTED, path


def test_strict_stops_and_lenient_reports_every_bad_row(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(MESSAGES, ensure_ascii=False),
                "{broken",
                json.dumps({"text": "?"}),
                json.dumps(SHAREGPT, ensure_ascii=False),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=rf"{path}:2: not valid JSON"):
        load_source(str(path))
    loaded = load_source(str(path), strict=False)
    assert len(loaded.conversations) == 2
    assert [p.split(": ")[0] for p in loaded.problems] == [f"{path}:2", f"{path}:3"]
    assert "unknown row shape" in loaded.problems[1]


def test_missing_file_and_offline_hub_id(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_source(str(tmp_path / "nope.jsonl"))
    with pytest.raises(DataError, match="cannot be loaded from the Hub"):
        load_source("someone/korean-chat-that-is-not-here")


def test_exact_and_near_duplicates_are_reported():
    base = normalise_row(MESSAGES, "a:1", "banmal", "a")
    exact = normalise_row(MESSAGES, "a:2", "banmal", "a")
    near = normalise_row(
        {
            "messages": [
                {"role": "user", "content": "점메추 좀!!"},
                {"role": "assistant", "content": "국밥ㄱㄱ ㅋㅋㅋ"},
            ]
        },
        "a:3",
        "banmal",
        "a",
    )
    other = normalise_row(
        SHAREGPT
        | {"conversations": [{"from": "human", "value": "저메추"}, {"from": "gpt", "value": "치킨"}]},
        "a:4",
        "banmal",
        "a",
    )
    kept, removed = deduplicate([base, exact, near, other])
    assert [c.source for c in kept] == ["a:1", "a:4"]
    assert [(d.conversation.source, d.original.source, d.kind) for d in removed] == [
        ("a:2", "a:1", "exact"),
        ("a:3", "a:1", "near"),
    ]


def test_bundled_split_is_frozen_and_new_ids_do_not_move_it():
    corpus = load_corpus()
    frozen = load_frozen()
    assert set(frozen) == {c.id for c in corpus}  # every bundled conversation has a recorded split
    splits = assign_splits(corpus, frozen=frozen)
    assert {c.id for c in splits["test"]} == {i for i, name in frozen.items() if name == "test"}
    newcomer = normalise_row(MESSAGES | {"id": "new-0001"}, "n:1", "banmal", "n")
    grown = assign_splits([*corpus, newcomer], frozen=frozen)
    assert {c.id for c in grown["test"]} - {"new-0001"} == {c.id for c in splits["test"]}


def test_data_check_prints_tables(capsys):
    assert main(["data", "check"]) == 0
    out = capsys.readouterr().out
    assert "conversations: 7783" in out
    assert "| 핫플·맛집·카페 | 325 | 162 | 487 |" in out
    assert "duplicates: 0 (0.00%)" in out
    assert "conversation_tokens" in out


def test_data_card_matches_the_data(capsys, tmp_path, monkeypatch):
    """The committed card is exactly what `insabot data card` writes from the current data."""
    committed = (CORPUS_DIR / "DATA_CARD.md").read_text(encoding="utf-8")
    from tiny_models import default_tokenizer

    from insabot.finetune.check import build_report, data_card

    assert data_card(build_report(load_corpus(), [], default_tokenizer(), load_frozen())) == committed


def test_data_split_writes_three_files(tmp_path, capsys):
    assert main(["data", "split", "--out", str(tmp_path)]) == 0
    counts = {
        name: len((tmp_path / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())
        for name in ("train", "validation", "test")
    }
    assert counts == {"train": 7029, "validation": 367, "test": 387}
    assert not list(tmp_path.glob(".*.tmp"))


def test_data_kakao_command_scrubs_and_writes(tmp_path, capsys):
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "kakao" / "pc_group.txt"
    out = tmp_path / "mine.jsonl"
    assert main(["data", "kakao", str(fixture), "--me", "지훈", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "010-1234-5678" not in text and "https://" not in text and "민지" not in text
    assert load_source(str(out)).conversations  # the output is valid training data
    assert main(["data", "kakao", str(fixture), "--me", "지수", "--out", str(out)]) == 2
    assert "participants found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"messages": [{"role": "user", "content": "점메추"}, {"role": "assistant", "content": "  "}]},
            "messages[1]: empty content",
        ),
        (
            {"messages": [{"role": "assistant", "content": "ㅎㅇ"}, {"role": "user", "content": "?"}]},
            "messages[0] is 'assistant' but 'user' was expected",
        ),
        (
            {"conversations": [{"from": "human", "value": "점메추"}, {"from": "gpt", "value": ""}]},
            "conversations[1]: empty content",
        ),
        (
            {"conversations": [{"from": "human", "value": "점메추"}, {"from": "human", "value": "빨리"}]},
            "conversations[1] is 'user' but 'assistant' was expected",
        ),
        ({"instruction": "점메추 좀", "output": ""}, "'output': empty content"),
    ],
    ids=["messages-content", "messages-order", "sharegpt-content", "sharegpt-order", "alpaca"],
)
def test_problems_name_messages_as_the_file_has_them(row, message):
    """The persona system prompt that the loader inserts first does not shift the reported indices."""
    with pytest.raises(DataError) as error:
        normalise_row(row, "mine.jsonl:4", "banmal", "mine")
    assert str(error.value).startswith(f"mine.jsonl:4: {message}"), error.value


@pytest.mark.parametrize(
    ("name", "tone"),
    [
        ("반말", "banmal"),
        ("casual", "banmal"),
        ("Informal", "banmal"),
        ("존댓말", "jondaetmal"),
        ("존대", "jondaetmal"),
        ("해요체", "jondaetmal"),
        ("polite", "jondaetmal"),
        ("FORMAL", "jondaetmal"),
    ],
)
def test_korean_and_english_tone_names_map_to_the_stable_labels(name, tone):
    conversation = normalise_row(MESSAGES | {"tone": name}, "f.jsonl:1", "banmal", "f")
    assert conversation.tone == tone
    assert conversation.messages[0] == {"role": "system", "content": SYSTEM_PROMPTS[tone]}


def test_unknown_tone_lists_the_accepted_names():
    with pytest.raises(
        DataError, match=r"f\.jsonl:1: unknown tone '사투리' \(expected one of banmal, 반말, "
    ):
        normalise_row(MESSAGES | {"tone": "사투리"}, "f.jsonl:1", "banmal", "f")


def test_json_files_hold_a_list_one_object_or_json_lines(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps(SHAREGPT, ensure_ascii=False), encoding="utf-8")
    lines = tmp_path / "lines.json"
    lines.write_text(json.dumps(MESSAGES, ensure_ascii=False) + "\n" + json.dumps(ALPACA, ensure_ascii=False))
    assert [c.messages for c in load_source(str(one)).conversations] == [EXPECTED]
    assert [c.messages for c in load_source(str(lines)).conversations] == [EXPECTED, EXPECTED]
    broken = tmp_path / "broken.json"
    broken.write_text('[\n  {"messages": [\n    {"role": "user"\n  ]}\n]\n', encoding="utf-8")
    with pytest.raises(DataError, match=rf"{broken}:4: not valid JSON"):
        load_source(str(broken))


def _bad_rows(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{broken\n{"text": "점메추"}\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("lenient", [False, True])
def test_data_check_on_an_empty_file_is_a_clear_error(tmp_path, capsys, lenient):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    assert main(["data", "check", str(path), *(["--lenient"] if lenient else [])]) == 2
    assert capsys.readouterr().err == f"insabot: error: no conversations in {path}\n"


def test_data_check_on_an_all_invalid_file(tmp_path, capsys):
    path = _bad_rows(tmp_path)
    assert main(["data", "check", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"insabot: error: {path}:1: not valid JSON")
    assert main(["data", "check", str(path), "--lenient"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"insabot: skipped {path}:1: not valid JSON (Expecting property name enclosed in double quotes, column 2)",
        f"insabot: skipped {path}:2: unknown row shape (fields: text); expected 'messages', ShareGPT "
        "'conversations' or Alpaca 'instruction'/'output'",
        f"insabot: error: no conversations in {path}: all 2 rows were skipped",
    ]


def test_data_split_refuses_a_file_without_conversations(tmp_path, capsys):
    path = _bad_rows(tmp_path)
    out = tmp_path / "splits"
    assert main(["data", "split", str(path), "--out", str(out), "--lenient"]) == 2
    assert capsys.readouterr().err.endswith(
        f"insabot: error: no conversations in {path}: all 2 rows were skipped\n"
    )
    assert not out.exists()


def test_data_check_reports_the_users_message_index_and_reads_korean_tones(tmp_path, capsys):
    path = tmp_path / "mine.jsonl"
    rows = [
        MESSAGES | {"tone": "존댓말"},
        {"messages": [{"role": "user", "content": "점메추"}, {"role": "user", "content": "빨리"}]},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert main(["data", "check", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"insabot: error: {path}:2: messages[1] is 'user' but 'assistant' was expected (roles out of order)\n"
    )
    assert main(["data", "check", str(path), "--lenient", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["per_category"] == {"external": {"jondaetmal": 1}}
    assert "messages[1] is 'user'" in captured.err


def test_tiny_datasets_train_on_everything_and_large_groups_still_hold_out():
    one = [normalise_row(MESSAGES, "a:1", "banmal", "a")]
    assert {name: len(items) for name, items in assign_splits(one).items()} == {
        "train": 1,
        "validation": 0,
        "test": 0,
    }
    three = [normalise_row(MESSAGES, f"a:{n}", "banmal", "a") for n in range(3)]
    assert {name: len(items) for name, items in assign_splits(three).items()} == {
        "train": 1,
        "validation": 1,
        "test": 1,
    }


def test_data_split_freeze_records_new_conversations_and_keeps_the_old(tmp_path, monkeypatch, capsys):
    import json

    from insabot.cli import main
    from insabot.finetune import splits

    frozen = json.loads(splits.FROZEN_SPLITS.read_text(encoding="utf-8"))
    dropped = frozen["train"][:3]  # as if these three were written after the last freeze
    partial = {name: [i for i in ids if i not in dropped] for name, ids in frozen.items()}
    path = tmp_path / "splits.json"
    path.write_text(json.dumps(partial), encoding="utf-8")
    monkeypatch.setattr(splits, "FROZEN_SPLITS", path)

    assert main(["data", "split", "--freeze"]) == 0
    assert "froze the split of 3 new conversation(s)" in capsys.readouterr().out
    refrozen = json.loads(path.read_text(encoding="utf-8"))
    for name, ids in partial.items():
        assert set(ids) <= set(refrozen[name])  # nothing frozen moves
    assert sorted(i for ids in refrozen.values() for i in ids) == sorted(
        i for ids in frozen.values() for i in ids
    )

    assert main(["data", "split", "somewhere.jsonl", "--freeze"]) == 2
    assert "bundled corpus's split only" in capsys.readouterr().err
    assert main(["data", "split"]) == 2
    assert "give --out DIR, --freeze, or both" in capsys.readouterr().err
