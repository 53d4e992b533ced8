"""What this CPU can do fast: training's autocast and generation's `dtype: auto` both ask here, so the two agree
on a machine (this project's machines differ: some have AVX512-BF16, some only AVX2)."""

from __future__ import annotations

import os
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
FLAGS_OVERRIDE = "INSABOT_CPU_FLAGS"
"""An environment variable that, when set, replaces the CPU's flags (space-separated): with ATen's and oneDNN's own
ISA limits (the Makefile's AVX2_ONLY) it imitates a CPU without AVX512-BF16 on one that has it. ATen's limit alone
is not enough: `auto` would still pick bf16 here, and bf16 on kernels held to AVX2 is emulated, far slower than
any real machine of either kind."""
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
"""Instructions that multiply bf16 natively. Without them PyTorch emulates bf16 matmuls through fp32, slower than
fp32 itself, so bf16 pays only where the CPU reports one of these."""


def cpu_flags() -> set[str]:
    """The first processor's `flags` from /proc/cpuinfo (or $INSABOT_CPU_FLAGS); empty where there is none
    (macOS, Windows)."""
    if (override := os.environ.get(FLAGS_OVERRIDE)) is not None:
        return set(override.split())
    try:
        text = CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def has_fast_bf16() -> bool:
    return any(flag in cpu_flags() for flag in BF16_FLAGS)
