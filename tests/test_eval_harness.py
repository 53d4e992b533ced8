"""The eval harness end to end on the tiny model (the CI suite), thresholds, reports, metrics on known rows."""

import json
from pathlib import Path

import pytest

from insabot.cli import main
from insabot.eval.harness import aggregate, load_probes, probes_dataset, score_rows
from insabot.eval.metrics import LOWER_IS_BETTER, METRICS

REPO = Path(__file__).resolve().parents[1]


def test_probe_set_is_frozen_and_broad():
    probes = load_probes()
    assert len(probes) >= 300
    assert len({p.id for p in probes}) == len(probes)
    kinds = {p.kind for p in probes}
    assert {"chat", "slang", "local"} <= kinds
    assert sum(p.tone == "jondaetmal" for p in probes) / len(probes) >= 0.25
    assert all(p.messages[-1]["role"] == "user" for p in probes)
    assert all(p.keywords for p in probes if p.kind in ("slang", "local"))
    assert len({p.category for p in probes}) >= 12
    assert len(probes_dataset()) == len(probes)


def row(reply, tone="banmal", kind="chat", keywords=(), level_ok=True, prompt="질문이야 길게 물어봄"):
    return {
        "reply": reply,
        "tone": tone,
        "kind": kind,
        "turns": 1,
        "tone_ok": level_ok,
        "hangul_share": 1.0,
        "latin_leak": [],
        "other_script_leak": [],
        "markers": {"laughter": 0, "crying": 0, "emoji": 0, "emoticon": 0, "slang": []},
        "local_refs": [],
        "keyword_hit": (any(k in reply for k in keywords) if keywords else None),
        "echo": prompt in reply,
        "repeated": False,
        "loop": False,
        "finish_reason": "stop",
        "new_tokens": 5,
        "prompt": prompt,
    }


def test_aggregate_on_known_rows():
    rows = [
        row("가자 ㅋㅋ"),
        row("가요", tone="jondaetmal"),
        row("가", tone="jondaetmal", level_ok=False),
        row("열받는다는 뜻이야", kind="slang", keywords=["열받"]),
        row("몰라", kind="slang", keywords=["열받"]),
    ]
    metrics = aggregate(rows, seconds=2.0, perplexity=None)
    assert list(metrics) == list(METRICS) and "perplexity" in LOWER_IS_BETTER
    assert metrics["tone_adherence"] == 0.8
    assert metrics["tone_adherence_jondaetmal"] == 0.5
    assert metrics["slang_score"] == 0.5
    assert metrics["local_score"] is None
    assert metrics["tokens_per_s"] == 12.5
    assert metrics["distinct_1"] == 1.0


@pytest.fixture
def ci_args(tiny_dir, tmp_path):
    return [
        "eval",
        "--config",
        str(REPO / "configs/eval/ci-tiny.yaml"),
        "--model",
        str(tiny_dir),
        "--set",
        f"eval.output_dir={tmp_path / 'eval'}",
    ]


def test_tone_adherence_reads_the_register():
    replies = [
        (
            "저는 학생입니다. 서울에 살아요.",
            "jondaetmal",
            True,
        ),  # 하십시오체 + 해요체: level mixed, register polite
        ("네.", "jondaetmal", True),  # no predicate, heard as 존댓말
        ("응.", "banmal", True),
        ("내일 비가 온다면", "banmal", False),  # a cut connective shows no tone
        ("어제 잘 들어갔어요? 나 완전 피곤해", "jondaetmal", False),  # the writer's own voice switches
        ("엄마가 '밥 먹었어?' 하시더라고요", "jondaetmal", True),  # the quotation is not the reply's voice
    ]
    rows = [{**row(reply, tone=tone), "category": "daily", "keywords": []} for reply, tone, _ in replies]
    scored = score_rows(rows)
    assert [(r["register"], r["tone_ok"]) for r in scored] == [
        ("polite", True),
        ("polite", True),
        ("casual", True),
        ("none", False),
        ("mixed", False),
        ("polite", True),
    ]
    assert scored[0]["level"] == "mixed"
    assert aggregate(scored, seconds=1.0, perplexity=None)["tone_adherence"] == round(4 / 6, 4)


def test_ci_suite_runs_end_to_end_and_writes_reports(ci_args, tmp_path, capsys):
    assert main(ci_args) == 0
    out = tmp_path / "eval"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["probes"] == 24 and report["metrics"]["replies"] == 24
    assert report["metrics"]["perplexity"] > 1.0
    assert report["selection"]["turns"] == report["selection"]["validation_turns"] == 4
    assert 0.0 <= report["metrics"]["selection_hits_at_1"] <= report["metrics"]["selection_mrr"] <= 1.0
    assert report["selection"]["pmi_lambda"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    replies = [json.loads(line) for line in (out / "replies.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(replies) == 24 and {"reply", "level", "tone_ok", "hangul_share"} <= set(replies[0])
    assert (out / "report.png").stat().st_size > 10_000
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "| tone_adherence |" in markdown and "reply selection: 4 test turns, K = 10" in markdown
    # comparing against itself gives zero deltas
    assert (
        main(
            [
                *ci_args,
                "--set",
                f"eval.output_dir={tmp_path / 'again'}",
                "--compare",
                str(out / "report.json"),
            ]
        )
        == 0
    )
    assert "| replies | 24 | 24 | +0 |" in capsys.readouterr().out

    # rescoring the saved replies (no model) reproduces the report; a broken row is named by file and line
    before = report["metrics"]
    assert main(["eval", "--rescore", str(out)]) == 0
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["metrics"] == before
    # a report from before reply selection and loops: selection stays absent, loops are computed from replies
    old = {
        **report,
        "metrics": {k: v for k, v in before.items() if "selection" not in k and k != "loop_rate"},
    }
    del old["selection"]
    (out / "report.json").write_text(json.dumps(old), encoding="utf-8")
    assert main(["eval", "--rescore", str(out)]) == 0
    rescored = json.loads((out / "report.json").read_text(encoding="utf-8"))["metrics"]
    assert rescored["selection_hits_at_1"] is None and rescored["loop_rate"] == before["loop_rate"]
    lines = (out / "replies.jsonl").read_text(encoding="utf-8").splitlines()
    (out / "replies.jsonl").write_text("\n".join([*lines[:2], '{"reply": ', *lines[3:]]), encoding="utf-8")
    assert main(["eval", "--rescore", str(out)]) == 2
    assert f"{out / 'replies.jsonl'}:3: not valid JSON" in capsys.readouterr().err


def test_a_broken_threshold_fails_with_a_clear_message(ci_args, capsys):
    quick = [
        "--set",
        "eval.limit=8",
        "--set",
        "eval.minimum.replies=8",
        "--set",
        "eval.perplexity_conversations=0",
    ]
    assert main([*ci_args, *quick, "--set", "eval.minimum.hangul_share=0.99"]) == 1
    assert "threshold failed: hangul_share = " in capsys.readouterr().err


def test_unknown_threshold_metric_is_a_config_error(ci_args, capsys):
    assert main([*ci_args, "--set", "eval.minimum.tone_adherance=0.9"]) == 2
    assert "eval.minimum.tone_adherance: unknown metric" in capsys.readouterr().err


def test_report_table_has_one_column_per_report(tmp_path, capsys):
    from insabot.cli import main

    paths = []
    for model, adapter, tone in (
        ("smollm2-135m", None, 0.1),
        ("gemma3-270m", "adapters/insabot-gemma3-ko", 0.9),
    ):
        path = tmp_path / f"{model}.json"
        metrics = {"tone_adherence": tone, "degenerate_rate": 0.5}
        path.write_text(
            json.dumps({"model": model, "adapter": adapter, "probes": 3, "seconds": 1, "metrics": metrics})
        )
        paths.append(str(path))
    assert main(["report", *paths, "--plot", str(tmp_path / "chart.png")]) == 0
    out = capsys.readouterr().out
    assert "| metric | smollm2-135m | gemma3-270m + insabot-gemma3-ko |" in out
    assert "| tone_adherence | 0.1 | 0.9 |" in out and "| degenerate_rate (↓) | 0.5 | 0.5 |" in out
    assert (tmp_path / "chart.png").stat().st_size > 1000
    assert main(["report", str(tmp_path / "missing.json")]) == 2

    rated = tmp_path / "rated.json"
    summary = {"n": 114, "mean": 0.08, "share_0": 0.92, "share_2": 0.0, "loops": 3}
    rated.write_text(json.dumps({"runs": [{"run": "gemma3-tuned-sampled", **summary}], "pairs": []}))
    assert main(["report", *paths, "--ratings", str(rated), "--rated", "-", "gemma3-tuned-sampled"]) == 0
    out = capsys.readouterr().out
    assert "| rated sense: mean (0–2) | – | 0.08 |" in out
    assert (
        "| rated nonsense: share of 0s (↓) | – | 0.92 |" in out
        and "| loops in the rated read (↓) | – | 3 |" in out
    )
    assert main(["report", *paths, "--ratings", str(rated), "--rated", "-", "gemma3-base-sampled"]) == 2
    assert "no rated run 'gemma3-base-sampled'; it has gemma3-tuned-sampled" in capsys.readouterr().err
    assert main(["report", *paths, "--ratings", str(rated), "--rated", "-"]) == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "p1", "kind": "chat", ', "not valid JSON (Expecting property name"),
        ('["성수 카페 추천해줘"]', "expected a JSON object, got list"),
        ('{"id": "p1", "kind": "chat", "category": "daily"}', "probe is missing 'tone', 'messages'"),
        (
            '{"id": "p1", "kind": "chat", "category": "daily", "tone": "반말", "messages": "성수 카페?"}',
            "'messages' must be a list of role/content objects ending with a user turn",
        ),
    ],
)
def test_a_bad_probe_line_is_a_file_line_error(tmp_path, capsys, line, message):
    """Before any model loads: the default base model is never touched."""
    good = '{"id": "p0", "kind": "chat", "category": "daily", "tone": "존댓말", "messages": [{"role": "user", "content": "성수 카페 추천해 주세요"}]}'
    path = tmp_path / "probes.jsonl"
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    out = tmp_path / "eval"
    assert main(["eval", "--set", f"eval.probes={path}", "--set", f"eval.output_dir={out}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"insabot: error: {path}:2: {message}") and err.count("\n") == 1, err
    assert not out.exists()
    path.write_text(good + "\n", encoding="utf-8")
    assert [(p.id, p.tone) for p in load_probes(path)] == [("p0", "jondaetmal")]  # 존댓말 read as the label
