"""Helpers the benchmark scripts share (run them from the repository root: `python benchmarks/NAME.py`)."""

from __future__ import annotations

import socket
import statistics
import subprocess
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def p50_p95(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):.2f} s, p95 {percentile(values, 95):.2f} s"


def cpu_flags() -> str:
    """The CPU's model name and its vector-instruction flags (lscpu), to print beside every figure: whether a
    machine has AVX2, AVX-512 or AMX, bf16 or not, decides much of its speed."""
    fields = dict(
        line.split(":", 1)
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    )
    flags = fields.get("Flags", "").split()
    vector = [f for f in flags if f.startswith(("sse", "ssse", "avx", "fma", "f16c", "amx"))]
    return f"{fields.get('Model name', '?').strip()}, {fields.get('CPU(s)', '?').strip()} CPUs; flags: {' '.join(vector)}"


class TokenClock:
    """A streamer that records the time of each generated token (the prompt arrives first, as one put)."""

    def __init__(self):
        self.times: list[float] = []
        self.seen_prompt = False

    def put(self, value):
        if self.seen_prompt:
            self.times.append(time.perf_counter())
        self.seen_prompt = True

    def end(self):
        pass
