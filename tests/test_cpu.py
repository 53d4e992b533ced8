"""`auto` precision picks bf16 only on a CPU that reports native bf16 instructions, for training's autocast and
for generation's model dtype alike."""

import pytest
import torch

from insabot import cpu
from insabot.finetune.train import precision_dtype
from insabot.models.loading import pick_dtype

CPUINFO_HEAD = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n"
AVX2_ONLY = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma f16c"


@pytest.fixture(autouse=True)
def real_cpu_flags(monkeypatch):
    """These tests read the flags from the cpuinfo they write; the suite itself may run under an imitated CPU
    (`make test-avx2` sets the override)."""
    monkeypatch.delenv(cpu.FLAGS_OVERRIDE, raising=False)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (AVX2_ONLY, False),
        (AVX2_ONLY + " avx512f avx512bw avx512_vnni", False),  # AVX-512 without its bf16 extension
        (AVX2_ONLY + " avx512f avx512_bf16", True),
        (AVX2_ONLY + " amx_tile amx_bf16 amx_int8", True),
    ],
)
def test_auto_picks_bf16_only_where_the_cpu_reports_it(tmp_path, monkeypatch, flags, expected):
    info = tmp_path / "cpuinfo"
    info.write_text(
        f"{CPUINFO_HEAD}flags\t\t: {flags}\n\n{CPUINFO_HEAD.replace(': 0', ': 1')}flags\t\t: {flags}\n"
    )
    monkeypatch.setattr(cpu, "CPUINFO", info)
    assert cpu.has_fast_bf16() is expected
    assert pick_dtype("auto", "cpu") == (torch.bfloat16 if expected else torch.float32)
    assert precision_dtype("auto", "cpu") == (torch.bfloat16 if expected else None)
    # an explicit choice is never second-guessed
    assert pick_dtype("float32", "cpu") == torch.float32 and precision_dtype("fp32", "cpu") is None
    assert (
        pick_dtype("bfloat16", "cpu") == torch.bfloat16 and precision_dtype("bf16", "cpu") == torch.bfloat16
    )


def test_no_cpuinfo_means_fp32(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu, "CPUINFO", tmp_path / "missing")
    assert cpu.cpu_flags() == set()
    assert pick_dtype("auto", "cpu") == torch.float32 and precision_dtype("auto", "cpu") is None


def test_the_flags_override_imitates_another_cpu(tmp_path, monkeypatch):
    info = tmp_path / "cpuinfo"
    info.write_text(f"{CPUINFO_HEAD}flags\t\t: {AVX2_ONLY} avx512f avx512_bf16\n")
    monkeypatch.setattr(cpu, "CPUINFO", info)
    assert cpu.has_fast_bf16()
    monkeypatch.setenv(cpu.FLAGS_OVERRIDE, AVX2_ONLY)
    assert cpu.cpu_flags() == set(AVX2_ONLY.split()) and not cpu.has_fast_bf16()
    assert pick_dtype("auto", "cpu") == torch.float32 and precision_dtype("auto", "cpu") is None
