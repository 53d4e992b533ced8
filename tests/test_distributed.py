"""The recipe in two CPU processes (gloo) equals one process on the same global batch."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file


@pytest.fixture
def tiny_run_args(tiny_dir, tmp_path):
    from insabot.finetune.conversations import load_corpus

    data = tmp_path / "chats.jsonl"
    data.write_text(
        "".join(
            json.dumps(
                {"id": c.id, "category": c.category, "tone": c.tone, "messages": c.messages},
                ensure_ascii=False,
            )
            + "\n"
            for c in load_corpus()[:40]
        ),
        encoding="utf-8",
    )
    settings = {
        "model.base_model": tiny_dir,
        "data.path": data,
        "data.max_seq_len": 512,
        "train.batch_size": 2,
        "train.lr": 0.01,
        "train.warmup_ratio": 0,
        "train.log_every": 1,
        "train.eval_every": 100,
        "train.save_every": 100,
        "train.precision": "fp32",
        "lora.dropout": 0.0,
        "train.max_steps": 4,
    }
    return [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]


def run(command, tmp_path, name):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / name
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return metrics, load_file(out / "adapter" / "adapter_model.safetensors")


def test_two_processes_match_one_process_on_the_same_global_batch(tiny_run_args, tmp_path):
    cli = [sys.executable, "-m", "insabot.cli", "train", *tiny_run_args]
    one = run(
        [*cli, "--set", f"train.output_dir={tmp_path / 'one'}", "--set", "train.grad_accum=2"],
        tmp_path,
        "one",
    )
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29571",
    ]
    two = run(
        [
            *torchrun,
            "-m",
            "insabot.cli",
            "train",
            *tiny_run_args,
            "--set",
            f"train.output_dir={tmp_path / 'two'}",
            "--set",
            "train.grad_accum=1",
        ],
        tmp_path,
        "two",
    )
    one_metrics, one_adapter = one
    two_metrics, two_adapter = two
    assert [m["step"] for m in two_metrics] == [1, 2, 3, 4]  # one run, written once by rank 0
    for a, b in zip(one_metrics, two_metrics, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], abs=2e-3)
    assert two_metrics[-1]["eval_loss"] == pytest.approx(one_metrics[-1]["eval_loss"], abs=2e-3)
    for key in one_adapter:
        torch.testing.assert_close(two_adapter[key], one_adapter[key], atol=1e-4, rtol=1e-3)
