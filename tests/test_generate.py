"""`insabot generate` on the tiny model: inputs, order, batching, --analyze, bad input."""

import json

import pytest

from insabot.cli import main
from insabot.config import GenerationConfig
from insabot.generation import generate_batch
from insabot.korean.analyze import analyze


def run(capsys, *argv):
    code = main(["generate", *map(str, argv)])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_batched_replies_equal_unbatched_under_greedy(tiny):
    model, tokenizer = tiny
    conversations = [
        [{"role": "user", "content": text}]
        for text in ("야", "성수에 갈만한 카페 추천 좀 해줘 제발", "ㅋㅋ 뭐해")
    ]
    greedy = GenerationConfig(max_new_tokens=10, do_sample=False)
    batched = generate_batch(model, tokenizer, conversations, greedy)
    assert batched == [generate_batch(model, tokenizer, [c], greedy)[0] for c in conversations]
    assert all(r.new_tokens == 10 and r.finish_reason == "length" for r in batched)


def test_plain_text_in_order_with_analysis(tiny_dir, tmp_path, capsys):
    path = tmp_path / "prompts.txt"
    path.write_text("야 이거 어때?\n\n성수 카페 추천 좀\n점메추\n", encoding="utf-8")
    code, rows, err = run(
        capsys, path, "--model", tiny_dir, "--max-new-tokens", 6, "--batch-size", 2, "--analyze"
    )
    assert code == 0
    assert [(r["line"], r["prompt"]) for r in rows] == [
        (1, "야 이거 어때?"),
        (3, "성수 카페 추천 좀"),
        (4, "점메추"),
    ]
    assert all(r["tone"] == "banmal" and r["system"].startswith("너는 인싸봇") for r in rows)
    for row, analysis in zip(rows, analyze(r["reply"] for r in rows), strict=True):
        assert row["level"] == analysis.level and row["hangul_share"] == analysis.as_dict()["hangul_share"]
        assert row["markers"] == analysis.as_dict()["markers"]
    assert "texts/s" in err


def test_jsonl_prompts_messages_and_tones_to_a_file(tiny_dir, tmp_path, capsys):
    path = tmp_path / "prompts.jsonl"
    rows_in = [
        {"id": "a", "prompt": "안녕"},
        {
            "messages": [
                {"role": "user", "content": "성수 어때"},
                {"role": "assistant", "content": "좋아"},
                {"role": "user", "content": "ㄱㄱ"},
            ],
            "tone": "jondaetmal",
        },
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows_in), encoding="utf-8")
    out = tmp_path / "replies.jsonl"
    code, printed, _ = run(capsys, path, "--model", tiny_dir, "--max-new-tokens", 4, "--out", out)
    assert code == 0 and printed == []
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r.get("id"), r["prompt"], r["tone"]) for r in rows] == [
        ("a", "안녕", "banmal"),
        (None, "ㄱㄱ", "jondaetmal"),
    ]
    assert "존댓말" in rows[1]["system"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_batch_size_does_not_change_greedy_replies(tiny_dir, tmp_path, capsys):
    path = tmp_path / "p.txt"
    path.write_text("하나\n두 번째 질문이야 길게\n셋\n", encoding="utf-8")
    _, one, _ = run(capsys, path, "--model", tiny_dir, "--max-new-tokens", 6, "--batch-size", 1)
    _, three, _ = run(capsys, path, "--model", tiny_dir, "--max-new-tokens", 6, "--batch-size", 3)
    assert [r["reply"] for r in one] == [r["reply"] for r in three]


@pytest.fixture
def generation_settings(monkeypatch):
    """The generation settings each `generate` run used (recorded as it hands them to generate_rows)."""
    import insabot.bot.batch

    seen = []
    generate_rows = insabot.bot.batch.generate_rows
    monkeypatch.setattr(
        insabot.bot.batch,
        "generate_rows",
        lambda prompts, conversations, loaded, config, *rest: (
            seen.append(config.generation) or generate_rows(prompts, conversations, loaded, config, *rest)
        ),
    )
    return seen


def test_candidates_flag_sets_the_reranker(tiny_dir, tmp_path, capsys, generation_settings):
    path = tmp_path / "p.txt"
    path.write_text("야 뭐해\n", encoding="utf-8")
    argv = ["--model", tiny_dir, "--max-new-tokens", 4, "--temperature", 0.7, "--candidates", 2]
    code, rows, _ = run(capsys, path, *argv)
    assert code == 0 and [g.candidates for g in generation_settings] == [2] and len(rows) == 1


@pytest.mark.parametrize(
    ("name", "content", "extra", "message"),
    [
        ("empty.txt", "\n\n", [], r"empty\.txt: no prompts"),
        ("bad.jsonl", '{"prompt": "야"}\n{"prompt": \n', [], r"bad\.jsonl:2: not valid JSON"),
        ("tone.jsonl", '{"prompt": "야", "tone": "사투리"}\n', [], r"tone\.jsonl:1: unknown tone '사투리'"),
        ("noprompt.jsonl", '{"message": "야"}\n', [], r"noprompt\.jsonl:1: needs a non-empty 'prompt'"),
        (
            "ok.txt",
            "야\n",
            ["--adapter", "/nowhere/adapter"],
            r"adapter /nowhere/adapter: no adapter_config\.json",
        ),
    ],
)
def test_bad_input_is_a_clear_error(tiny_dir, tmp_path, capsys, name, content, extra, message):
    import re

    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, _, err = run(capsys, path, "--model", tiny_dir, "--out", out, *extra)
    assert code == 2 and re.search(message, err), err
    assert not out.exists()


@pytest.fixture
def no_model_load(monkeypatch):
    """Fails the test if `generate` loads a model: refusals must come before that heavy work."""
    import insabot.models.loading

    def load(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(insabot.models.loading, "load", load)


def test_a_prompt_over_max_message_chars_is_refused_before_the_model_loads(tmp_path, capsys, no_model_load):
    path = tmp_path / "prompts.txt"
    path.write_text("야 이거 어때?\n" + "가" * 2001 + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, rows, err = run(capsys, path, "--out", out)
    assert code == 2 and rows == [] and not out.exists()
    assert err.strip() == (
        f"insabot: error: {path}:2: the message has 2001 characters; the limit is 2000 (chat.max_message_chars)"
    )


def test_an_earlier_turn_over_the_limit_is_refused_too(tmp_path, capsys, no_model_load):
    path = tmp_path / "prompts.jsonl"
    row = {"messages": [{"role": "user", "content": "성수 카페 추천 좀 해줘 제발"}, {"role": "assistant", "content": "ㄱㄱ"}, {"role": "user", "content": "어디?"}]}  # fmt: skip
    path.write_text('{"prompt": "안녕"}\n' + json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    code, _, err = run(capsys, path, "--set", "chat.max_message_chars=10")
    assert code == 2
    assert f"{path}:2: the message has 16 characters; the limit is 10" in err


def test_prompt_rows_accept_korean_and_english_tone_names(tmp_path):
    from insabot.bot.batch import read_prompts

    path = tmp_path / "prompts.jsonl"
    rows = [{"prompt": "밥 먹었어?", "tone": "반말"}, {"prompt": "식사하셨어요?", "tone": "해요체"}]
    rows += [
        {"prompt": "뭐 해?", "tone": "Casual"},
        {"prompt": "안녕하세요", "tone": "polite"},
        {"prompt": "ㅎㅇ"},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert [(p.message, p.tone) for p in read_prompts(str(path), "jondaetmal")] == [
        ("밥 먹었어?", "banmal"),
        ("식사하셨어요?", "jondaetmal"),
        ("뭐 해?", "banmal"),
        ("안녕하세요", "jondaetmal"),
        ("ㅎㅇ", "jondaetmal"),
    ]


def test_the_real_style_message_set_reads_as_prompts_with_ids_and_tones():
    from insabot.bot.batch import read_prompts
    from insabot.eval.real_messages import REAL_MESSAGES, load_real_messages

    prompts = read_prompts(str(REAL_MESSAGES), "banmal")
    expected = load_real_messages()
    assert [(p.row_id, p.message, p.tone) for p in prompts] == [(m.id, m.text, m.tone) for m in expected]


def test_max_sentences_flag_sets_the_sentence_limit_and_a_negative_one_is_refused(
    tiny_dir, tmp_path, capsys, generation_settings
):
    path = tmp_path / "p.txt"
    path.write_text("야 뭐해\n", encoding="utf-8")
    code, rows, _ = run(capsys, path, "--model", tiny_dir, "--max-new-tokens", 4, "--max-sentences", 1)
    assert code == 0 and [g.max_sentences for g in generation_settings] == [1] and len(rows) == 1
    code, _, err = run(capsys, path, "--model", tiny_dir, "--max-sentences", -1)
    assert code == 2 and "generation.max_sentences: -1 is below 0" in err


def test_retrieve_flag_turns_written_replies_on(tiny_dir, tmp_path, capsys, generation_settings):
    path = tmp_path / "p.txt"
    path.write_text("야 뭐해\n", encoding="utf-8")
    code, rows, _ = run(capsys, path, "--model", tiny_dir, "--max-new-tokens", 4, "--retrieve")
    assert code == 0 and [g.retrieve for g in generation_settings] == [True]
    assert rows[0]["source"] in {"model", "corpus"}
    code, rows, _ = run(capsys, path, "--model", tiny_dir, "--max-new-tokens", 4)
    assert generation_settings[-1].retrieve is False and rows[0]["source"] == "model"
