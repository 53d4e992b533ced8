"""Helpers the benchmark scripts share (run them from the repository root: `python benchmarks/NAME.py`)."""

from __future__ import annotations

import socket
import statistics


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def p50_p95(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):.2f} s, p95 {percentile(values, 95):.2f} s"
