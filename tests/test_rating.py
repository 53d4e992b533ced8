"""The blind rated read: the sheet hides the runs, the shuffle is seeded, scores join back into exact figures."""

import json
from itertools import pairwise
from pathlib import Path

import pytest

from insabot.chat import SYSTEM_PROMPTS
from insabot.cli import main

MESSAGES = {  # id: (tone, message)
    "m1": ("banmal", "월요일 출근 너무 싫다"),
    "m2": ("banmal", "비 와서 약속 취소됨 ㅠ"),
    "m3": ("banmal", "그 드라마 마지막 화 봤어?"),
    "m4": ("jondaetmal", "이번 달 카드값 보고 기절할 뻔했어요"),
}
REPLIES = {  # run: {message id: reply}; the last run answered three messages only
    "gemma-tuned-greedy": {
        "m1": "ㅠㅠ 나도 월요병 심해… 퇴근하고 맛있는 거 먹자",
        "m2": "헐 아쉽다 ㅠ 그럼 집에서 영화나 볼래?",
        "m3": "ㅋㅋ 나도 그거 봤어",
        "m4": '"오늘 하루도 푹 쉬어보세요!" "오늘 하루도 푹 쉬어보세요!" "오늘 하루도 푹 쉬어',
    },
    "gemma-base-greedy": {
        "m1": "화요일은 화요일이 아니라 월요일이니까",
        "m2": "비가 오면 약속이 취소돼.",
        "m3": "ㅋㅋ 나도 그거 봤어",  # the same words as another run: still its own sheet row
        "m4": "카드값은 카드입니다\n카드값은 카드입니다",
    },
    "smollm-tuned-sample": {
        "m1": "월요일엔 역시 커피 수혈이지 ☕ 힘내!",
        "m2": "담배가 아니라 냄새 때문이야",
        "m3": "응 봤어! 결말 좀 허무하지 않았어?",
    },
}
SCORES = {  # the fake rater's verdicts, by (run, message id)
    "gemma-tuned-greedy": {"m1": 2, "m2": 2, "m3": 1, "m4": 0},
    "gemma-base-greedy": {"m1": 0, "m2": 1, "m3": 1, "m4": 0},
    "smollm-tuned-sample": {"m1": 2, "m2": 0, "m3": 1},
}
ADAPTER = "adapters/insabot-gemma3-ko"


def write_run(folder: Path, run: str) -> Path:
    """A reply file as `insabot generate` writes it."""
    path = folder / run / ADAPTER.replace("/", "-") / "replies.jsonl"
    path.parent.mkdir(parents=True)
    rows = [
        {
            "line": line,
            "id": message_id,
            "prompt": MESSAGES[message_id][1],
            "tone": MESSAGES[message_id][0],
            "system": SYSTEM_PROMPTS[MESSAGES[message_id][0]],
            "reply": reply,
            "new_tokens": 17,
            "finish_reason": "stop",
        }
        for line, (message_id, reply) in enumerate(REPLIES[run].items(), start=1)
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def run_files(tmp_path) -> dict[str, Path]:
    return {run: write_run(tmp_path / "runs", run) for run in REPLIES}


def make_sheet(folder: Path, run_files: dict[str, Path], seed: int = 0, names=None) -> tuple[Path, Path]:
    names = names or {run: run for run in run_files}
    sheet, key = folder / "sheet.jsonl", folder / "key.jsonl"
    specs = [word for run, path in run_files.items() for word in ("--run", f"{names[run]}={path}")]
    argv = ["rate", "sheet", *specs, "--seed", str(seed), "--sheet", str(sheet), "--key", str(key)]
    assert main(argv) == 0
    return sheet, key


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_sheet_holds_only_id_tone_message_and_reply(tmp_path, run_files, capsys):
    sheet, _ = make_sheet(tmp_path, run_files)
    assert "11 replies to 4 messages from 3 runs" in capsys.readouterr().err
    sheet_rows = rows(sheet)
    assert {tuple(row) for row in sheet_rows} == {("id", "tone", "message", "reply")}
    assert sorted((r["message"], r["reply"]) for r in sheet_rows) == sorted(
        (MESSAGES[m][1], reply) for replies in REPLIES.values() for m, reply in replies.items()
    )
    # the tone asked for is part of the request, shown as the rater reads it
    assert {r["tone"] for r in sheet_rows if r["message"] == MESSAGES["m4"][1]} == {"존댓말"}
    assert {r["tone"] for r in sheet_rows if r["message"] == MESSAGES["m1"][1]} == {"반말"}
    # identical replies of two runs are two rows with two ids
    assert len([r for r in sheet_rows if r["reply"] == "ㅋㅋ 나도 그거 봤어"]) == 2
    assert len({r["id"] for r in sheet_rows}) == 11


def test_the_sheet_names_no_run_model_adapter_or_system_prompt(tmp_path, run_files):
    sheet, key = make_sheet(tmp_path, run_files)
    text = sheet.read_text(encoding="utf-8").lower()
    for name in [*REPLIES, "gemma", "smollm", "tuned", "greedy", "sample", ADAPTER, "adapters", "insabot"]:
        assert name not in text
    for prompt in SYSTEM_PROMPTS.values():  # not even a fragment of the persona prompt
        assert not [prompt[i : i + 6] for i in range(len(prompt) - 5) if prompt[i : i + 6] in text]
    for field in ("system", "new_tokens", "finish_reason", "line"):
        assert f'"{field}"' not in text
    # neither the sheet's order nor its ids group the replies by run
    run_of = {row["id"]: row["run"] for row in rows(key)}
    in_sheet_order = [run_of[row["id"]] for row in rows(sheet)]
    by_id = [run_of[opaque] for opaque in sorted(run_of)]
    for order in (in_sheet_order, by_id):
        assert sum(a != b for a, b in pairwise(order)) > 2  # more than the 2 run borders


def test_the_sheet_does_not_depend_on_the_run_names(tmp_path, run_files):
    """Ids and order come from the seed alone: renaming the runs leaves the sheet byte for byte the same."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, _ = make_sheet(tmp_path / "a", run_files)
    renamed = {run: f"x{i}" for i, run in enumerate(run_files)}
    second, key = make_sheet(tmp_path / "b", run_files, names=renamed)
    assert first.read_bytes() == second.read_bytes()
    assert {row["run"] for row in rows(key)} == {"x0", "x1", "x2"}


def test_the_shuffle_is_deterministic_with_a_seed(tmp_path, run_files):
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    sheet_a, key_a = make_sheet(tmp_path / "a", run_files, seed=7)
    sheet_b, key_b = make_sheet(tmp_path / "b", run_files, seed=7)
    sheet_c, _ = make_sheet(tmp_path / "c", run_files, seed=8)
    assert sheet_a.read_bytes() == sheet_b.read_bytes() and key_a.read_bytes() == key_b.read_bytes()
    assert [r["reply"] for r in rows(sheet_a)] != [r["reply"] for r in rows(sheet_c)]
    assert {r["id"] for r in rows(sheet_a)}.isdisjoint(r["id"] for r in rows(sheet_c))


def write_scores(path: Path, key: Path) -> None:
    """What the rater hands back, one line per sheet id (the test looks the ids up in the key)."""
    lines = [
        {"id": row["id"], "score": SCORES[row["run"]][row["message_id"]], "note": "반복"}
        if row["message_id"] == "m4"
        else {"id": row["id"], "score": SCORES[row["run"]][row["message_id"]]}
        for row in rows(key)
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")


def test_scores_join_back_into_the_per_run_table(tmp_path, run_files, capsys):
    _, key = make_sheet(tmp_path, run_files)
    scores, out = tmp_path / "scores.jsonl", tmp_path / "rated.json"
    write_scores(scores, key)
    capsys.readouterr()
    assert main(["rate", "join", "--key", str(key), "--scores", str(scores), "--out", str(out)]) == 0
    assert capsys.readouterr().out == (
        "| run | n | mean score | 0s | 2s | loops |\n"
        "|---|---|---|---|---|---|\n"
        "| gemma-tuned-greedy | 4 | 1.25 | 25% | 50% | 1 |\n"
        "| gemma-base-greedy | 4 | 0.50 | 50% | 0% | 1 |\n"
        "| smollm-tuned-sample | 3 | 1.00 | 33% | 33% | 0 |\n"
        "\n"
        "| A | B | messages both answered | A wins (ties ½) |\n"
        "|---|---|---|---|\n"
        "| gemma-tuned-greedy | gemma-base-greedy | 4 | 75% |\n"
        "| gemma-tuned-greedy | smollm-tuned-sample | 3 | 67% |\n"
        "| gemma-base-greedy | smollm-tuned-sample | 3 | 50% |\n"
    )
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["runs"] == [
        {"run": "gemma-tuned-greedy", "n": 4, "mean": 1.25, "share_0": 0.25, "share_2": 0.5, "loops": 1},
        {"run": "gemma-base-greedy", "n": 4, "mean": 0.5, "share_0": 0.5, "share_2": 0.0, "loops": 1},
        {"run": "smollm-tuned-sample", "n": 3, "mean": 1.0, "share_0": 1 / 3, "share_2": 1 / 3, "loops": 0},
    ]
    # A vs B: wins on m1 and m2, ties on m3 and m4; vs the third run only the three messages it answered
    assert figures["pairs"] == [
        {"a": "gemma-tuned-greedy", "b": "gemma-base-greedy", "messages": 4, "a_wins": 0.75},
        {"a": "gemma-tuned-greedy", "b": "smollm-tuned-sample", "messages": 3, "a_wins": 2 / 3},
        {"a": "gemma-base-greedy", "b": "smollm-tuned-sample", "messages": 3, "a_wins": 0.5},
    ]


def bad_scores(key: Path) -> dict[str, tuple[list[str], str]]:
    """Scores files with one fault each, and the error each must give (`{path}` is the file)."""
    ids = [row["id"] for row in rows(key)]
    good = [json.dumps({"id": opaque, "score": 1}) for opaque in ids]
    return {
        "unknown id": (
            [good[0], '{"id": "zzzzzzzz", "score": 1}', *good[1:]],
            "{path}:2: id 'zzzzzzzz' is not on the sheet",
        ),
        "score 3": (
            [*good[:3], json.dumps({"id": ids[3], "score": 3}), *good[4:]],
            f"{{path}}:4: score 3 for id '{ids[3]}'; a score is 0, 1 or 2",
        ),
        "score as text": (
            [json.dumps({"id": ids[0], "score": "2"}), *good[1:]],
            f"{{path}}:1: score '2' for id '{ids[0]}'; a score is 0, 1 or 2",
        ),
        "score as true": (
            [*good[:-1], json.dumps({"id": ids[-1], "score": True})],
            f"{{path}}:11: score True for id '{ids[-1]}'; a score is 0, 1 or 2",
        ),
        "no score": (
            [*good[:-1], json.dumps({"id": ids[-1], "note": "모르겠음"}, ensure_ascii=False)],
            f"{{path}}:11: score None for id '{ids[-1]}'; a score is 0, 1 or 2",
        ),
        "scored twice": ([*good, good[5]], f"{{path}}:12: id '{ids[5]}' was already scored at line 6"),
        "missing id": (good[:-1], f"{{path}}: 1 sheet id(s) have no score: {ids[-1]}"),
        "no id": (['{"score": 2}', *good], "{path}:1: needs the sheet's 'id' (text)"),
        "bad JSON": ([*good[:2], '{"id": "x", "score": 2', *good[2:]], "{path}:3: not valid JSON"),
    }


@pytest.mark.parametrize(
    "fault",
    [
        "unknown id",
        "score 3",
        "score as text",
        "score as true",
        "no score",
        "scored twice",
        "missing id",
        "no id",
        "bad JSON",
    ],
)
def test_a_bad_scores_file_is_a_clear_error_naming_file_and_line(tmp_path, run_files, capsys, fault):
    _, key = make_sheet(tmp_path, run_files)
    lines, error = bad_scores(key)[fault]
    scores = tmp_path / "scores.jsonl"
    scores.write_text("\n".join(lines) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["rate", "join", "--key", str(key), "--scores", str(scores)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"insabot: error: {error.format(path=scores)}")
    assert len(captured.err.splitlines()) == 1  # one line, no traceback


def test_replies_without_ids_join_on_the_prompt(tmp_path):
    files = {}
    for run, reply in (("a", "헐 대박"), ("b", "ㅋㅋㅋ 왜")):
        files[run] = tmp_path / f"{run}.jsonl"
        files[run].write_text(
            json.dumps({"line": 1, "prompt": "나 오늘 복권 됨", "tone": "banmal", "reply": reply}) + "\n",
            encoding="utf-8",
        )
    _, key = make_sheet(tmp_path, files)
    assert sorted((row["run"], row["message_id"]) for row in rows(key)) == [
        ("a", "나 오늘 복권 됨"),
        ("b", "나 오늘 복권 됨"),
    ]


@pytest.mark.parametrize(
    ("runs", "error"),
    [
        (lambda f: [f"a={f['a']}"], "rate sheet: give two or more --run NAME=FILE"),
        (lambda f: [f"a={f['a']}", f"a={f['b']}"], "run name 'a' is given twice"),
        (lambda f: [f"a={f['a']}", str(f["b"])], "expected NAME=FILE"),
        (
            lambda f: [f"a={f['a']}", f"b={f['other']}"],
            "message 'm1': run 'a' was asked '월요일 출근 너무 싫다'",
        ),
        (lambda f: [f"a={f['a']}", f"b={f['no_reply']}"], "{no_reply}:1: needs a text 'reply'"),
        (lambda f: [f"a={f['a']}", f"b={f['twice']}"], "{twice}:2: message 'm1' is answered twice"),
    ],
)
def test_bad_runs_are_clear_errors(tmp_path, capsys, runs, error):
    row = {"line": 1, "id": "m1", "prompt": "월요일 출근 너무 싫다", "tone": "banmal", "reply": "ㅠㅠ"}
    contents = {
        "a": [row],
        "b": [row],
        "other": [{**row, "prompt": "화요일 출근도 싫다"}],
        "no_reply": [{k: v for k, v in row.items() if k != "reply"}],
        "twice": [row, row],
    }
    files = {name: tmp_path / f"{name}.jsonl" for name in contents}
    for name, lines in contents.items():
        files[name].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), "utf-8")
    specs = [word for spec in runs(files) for word in ("--run", spec)]
    argv = ["rate", "sheet", *specs, "--sheet", str(tmp_path / "s.jsonl"), "--key", str(tmp_path / "k.jsonl")]
    assert main(argv) == 2
    assert error.format(**files) in capsys.readouterr().err
    assert not (tmp_path / "s.jsonl").exists()
