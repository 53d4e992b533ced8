"""The quality gate (eval/gate.py, configs/eval/ci-default.yaml): confidence bounds, the suggested-thresholds
printer, the loosened-gate check, and the suite's fixed slice."""

import json
from pathlib import Path

import pytest
import yaml

from insabot.cli import main
from insabot.config import EvalConfig, load_config
from insabot.eval.gate import GATED, gate_problems, suggest, suggest_bound, wilson_bound
from insabot.eval.harness import eval_probes

REPO = Path(__file__).resolve().parents[1]
GATE = REPO / "configs/eval/ci-default.yaml"


def rows(hits: int, total: int, tone: str = "banmal") -> list[dict]:
    return [{"tone": tone, "tone_ok": index < hits, "hangul_share": 1.0} for index in range(total)]


def test_wilson_bounds_hold_the_rate_and_stay_open_at_zero_and_one():
    assert wilson_bound(0.7, 60, upper=False) < 0.7 < wilson_bound(0.7, 60, upper=True)
    # the normal interval has zero width at 0 and 1; the Wilson bound does not
    assert 0.05 < wilson_bound(0.0, 60, upper=True) < 0.07
    assert 0.93 < wilson_bound(1.0, 60, upper=False) < 0.95
    # more rows, a tighter bound
    assert wilson_bound(0.7, 600, upper=False) > wilson_bound(0.7, 60, upper=False)


def test_a_rate_bound_counts_only_the_rows_the_rate_divides_by():
    scored = rows(42, 60) + rows(5, 40, tone="jondaetmal")
    report = {"metrics": {"tone_adherence_banmal": 0.7, "tone_adherence_jondaetmal": 0.125}}
    bound = suggest_bound("tone_adherence_banmal", scored, report)
    assert (bound.n, bound.measured) == (60, 0.7)
    assert bound.threshold == 0.57  # Wilson lower end 0.5737, rounded down
    assert bound.margin == 0.13 and bound.se == 0.0592
    assert suggest_bound("tone_adherence_jondaetmal", scored, report).n == 40


def test_a_lower_is_better_rate_gets_a_maximum_above_its_measurement():
    scored = [{"loop": False, "tone": "banmal"} for _ in range(100)]
    bound = suggest_bound("loop_rate", scored, {"metrics": {"loop_rate": 0.0}})
    assert bound.lower_is_better and bound.threshold == 0.04  # Wilson upper end 0.037 at n = 100


def test_several_runs_give_each_metric_the_loosest_of_their_bounds():
    report = {"metrics": {"tone_adherence_banmal": 0.7}}
    worse = {"metrics": {"tone_adherence_banmal": 0.6}}
    (bound,) = suggest(("tone_adherence_banmal",), [(report, rows(42, 60)), (worse, rows(36, 60))])
    assert (
        bound.measured == 0.7
        and bound.threshold == suggest_bound("tone_adherence_banmal", rows(36, 60), worse).threshold
    )


def test_a_metric_without_a_confidence_bound_is_refused():
    with pytest.raises(Exception, match="replies: no confidence bound"):
        suggest_bound("replies", rows(1, 1), {"metrics": {"replies": 1}})


def test_a_loosened_or_unmeasured_threshold_is_a_gate_problem():
    gate = EvalConfig(
        minimum={"tone_adherence_banmal": 0.57},
        maximum={"loop_rate": 0.04},
        measured={"tone_adherence_banmal": 0.7, "loop_rate": 0.0},
        margin={"tone_adherence_banmal": 0.13, "loop_rate": 0.04},
    )
    assert gate_problems(gate) == []
    gate.minimum["tone_adherence_banmal"] = 0.5
    gate.maximum["loop_rate"] = 0.1
    gate.minimum["hangul_share"] = 0.9
    problems = "\n".join(gate_problems(gate))
    assert "eval.minimum.tone_adherence_banmal = 0.5 sits 0.2 from the committed measurement 0.7" in problems
    assert "eval.maximum.loop_rate = 0.1 sits 0.1 from the committed measurement 0.0" in problems
    assert "eval.minimum.hangul_share: no committed eval.measured.hangul_share" in problems
    # a pipeline suite without a measurement (ci-tiny) is not a gate and has no gate problems
    assert gate_problems(EvalConfig(minimum={"replies": 24})) == []


def test_the_shipped_gate_is_a_gate():
    config = load_config(GATE)
    assert gate_problems(config.eval) == []
    assert set(config.eval.measured) == set(config.eval.minimum) | set(config.eval.maximum)
    assert set(GATED) <= set(config.eval.measured)
    # greedy fp32 on the shipped default model (no model section naming a base)
    assert config.model.dtype == "float32" and config.model.weights == "native" and config.model.adapter


def test_the_gate_slice_is_fixed_and_spans_both_tones_and_both_sets():
    config = load_config(GATE)
    first, again = eval_probes(config.eval), eval_probes(config.eval)
    assert [p.id for p in first] == [p.id for p in again]
    kinds = {p.kind for p in first}
    assert {"chat", "slang", "local", "real"} <= kinds
    real = [p for p in first if p.kind == "real"]
    assert len(real) == 134 and all(p.id.startswith("real-") for p in real)
    assert sum(p.tone == "jondaetmal" for p in first) >= 55


def test_a_loosened_gate_fails_before_any_model_loads(tmp_path, capsys):
    config = yaml.safe_load(GATE.read_text(encoding="utf-8"))
    metric = next(iter(config["eval"]["minimum"]))
    config["eval"]["minimum"][metric] = 0.0
    loosened = tmp_path / "gate.yaml"
    loosened.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    assert main(["eval", "--config", str(loosened), "--model", "no/such-model"]) == 2
    assert f"eval.minimum.{metric} = 0.0 sits" in capsys.readouterr().err


@pytest.fixture
def tiny_gate_args(tiny_dir, tmp_path):
    return [
        "eval",
        "--config",
        str(REPO / "configs/eval/ci-tiny.yaml"),
        "--model",
        str(tiny_dir),
        "--set",
        "eval.minimum={}",
        "--set",
        "eval.maximum={}",
        "--set",
        "eval.perplexity_conversations=0",
        "--set",
        f"eval.output_dir={tmp_path / 'eval'}",
    ]


def test_suggested_thresholds_paste_into_a_gate_that_the_same_model_passes(tiny_gate_args, tmp_path, capsys):
    assert main([*tiny_gate_args, "--suggest-thresholds"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("  # suggested by")  # only the block, ready to paste under eval:
    block = yaml.safe_load("eval:\n" + printed)["eval"]
    assert set(block) == {"minimum", "maximum", "measured", "margin"}
    assert set(block["measured"]) == set(GATED)
    report = json.loads((tmp_path / "eval" / "report.json").read_text(encoding="utf-8"))
    for metric, value in block["measured"].items():
        assert value == pytest.approx(report["metrics"][metric], abs=1e-4)
    assert block["maximum"]["loop_rate"] >= block["measured"]["loop_rate"]

    gate = tmp_path / "gate.yaml"
    gate.write_text(
        yaml.safe_dump(
            {
                "eval": {
                    **load_config(REPO / "configs/eval/ci-tiny.yaml").eval.__dict__,
                    **block,
                    "output_dir": str(tmp_path / "again"),
                }
            }
        ),
        encoding="utf-8",
    )
    assert (
        main(
            [
                "eval",
                "--config",
                str(gate),
                "--model",
                tiny_gate_args[4],
                "--set",
                "eval.perplexity_conversations=0",
            ]
        )
        == 0
    )


def test_a_gate_breach_names_metric_threshold_and_value(tiny_gate_args, capsys):
    assert main([*tiny_gate_args, "--set", "eval.maximum.truncated_rate=-0.5"]) == 1
    err = capsys.readouterr().err
    assert (
        "threshold failed: truncated_rate = " in err
        and "is above the maximum -0.5 (eval.maximum.truncated_rate)" in err
    )


def test_suggesting_from_a_folder_that_is_not_a_run_is_a_clear_error(tiny_gate_args, tmp_path, capsys):
    assert main([*tiny_gate_args, "--suggest-thresholds", str(tmp_path / "nothing")]) == 2
    assert "nothing: no replies.jsonl and report.json there (an eval output_dir)" in capsys.readouterr().err
