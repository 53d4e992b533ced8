"""The quality gate: thresholds that follow a committed measurement of the model they guard.

A gate config (configs/eval/ci-default.yaml) holds, per gated metric, the shipped model's measured value, a
threshold and the margin between them. The margin is a confidence bound, not a guess: for a rate measured on
n rows it is the distance to the Wilson score bound at z = 1.96 (for a mean, the normal bound), so the gate
passes the model's own sampling error and the small differences between CPUs, and catches real regressions.
`insabot eval --suggest-thresholds` prints a fresh block from a run (and from runs on other machines, the
worst bound of them all); `gate_problems` refuses a config whose threshold sits further from its measurement
than its margin, so a gate is never loosened by editing one number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from insabot.config import EvalConfig
from insabot.eval.harness import RATES, rate_rows
from insabot.eval.metrics import LOWER_IS_BETTER
from insabot.textio import InputError

Z = 1.96
"""Two-sided 95 %: each one-sided bound is passed by chance ~2.5 % of the time per metric, in either way."""
GATED = (
    "tone_adherence_banmal",
    "tone_adherence_jondaetmal",
    "hangul_share",
    "loop_rate",
    "degenerate_rate",
    "truncated_rate",
    "selection_pmi_hits_at_1",
)
"""What a new gate guards: the speech level per tone, writing Hangul, not looping or rambling, and picking a
conversation's true reply out of ten (the only one of these that sees sense)."""
GATEABLE = frozenset([*RATES, "hangul_share", "selection_hits_at_1", "selection_pmi_hits_at_1"])
"""Metrics with a confidence bound: rates over rows, the mean Hangul share, and hits@1 over selection turns."""
SLACK = 1e-9
"""Float noise allowed when comparing a threshold with measured ± margin."""


@dataclass(frozen=True)
class Bound:
    """A suggested threshold for one metric: measured on `n` rows, standard error `se`."""

    metric: str
    measured: float
    n: int
    se: float
    threshold: float

    @property
    def margin(self) -> float:
        return round(abs(self.measured - self.threshold), 4)

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER


def wilson_bound(rate: float, n: int, upper: bool, z: float = Z) -> float:
    """The Wilson score interval's upper or lower end for a rate seen on n trials (sound at 0 and 1, where the
    normal interval collapses to a zero width)."""
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return min(1.0, centre + half) if upper else max(0.0, centre - half)


def suggest_bound(metric: str, rows: list[dict], report: dict[str, Any]) -> Bound:
    """The threshold for `metric` from one run: the confidence bound on the regressing side, rounded outward
    to two decimals."""
    upper = metric in LOWER_IS_BETTER
    if metric not in GATEABLE:
        raise InputError(
            f"{metric}: no confidence bound for it (gateable: {', '.join(sorted(GATEABLE))}); set its threshold "
            "by hand, without eval.measured"
        )
    if report["metrics"].get(metric) is None:
        raise InputError(f"{metric}: not measured by this run's suite, so it cannot be gated")
    if metric == "hangul_share":  # a mean of per-reply shares in [0, 1], not a rate
        values = [row["hangul_share"] or 0.0 for row in rows]
        n = len(values)
        mean = sum(values) / n
        se = math.sqrt(sum((v - mean) ** 2 for v in values) / max(n - 1, 1) / n)
        measured, bound = mean, mean - Z * se
    else:
        measured = report["metrics"][metric]
        n = report["selection"]["turns"] if metric.startswith("selection_") else len(rate_rows(metric, rows))
        se = math.sqrt(measured * (1 - measured) / n)
        bound = wilson_bound(measured, n, upper)
    threshold = math.ceil(bound * 100) / 100 if upper else math.floor(bound * 100) / 100
    return Bound(metric, round(measured, 4), n, round(se, 4), threshold)


def suggest(metrics: tuple[str, ...], runs: list[tuple[dict[str, Any], list[dict]]]) -> list[Bound]:
    """One bound per metric over runs of the same suite (e.g. one per kind of CPU): the measured value of the
    first run, the loosest of their thresholds (so each machine passes its own measurement)."""
    bounds = []
    for metric in metrics:
        each = [suggest_bound(metric, rows, report) for report, rows in runs]
        pick = max if metric in LOWER_IS_BETTER else min
        first = each[0]
        bounds.append(Bound(metric, first.measured, first.n, first.se, pick(b.threshold for b in each)))
    return bounds


def suggestion_yaml(bounds: list[Bound], runs: int) -> str:
    """The `eval:` keys to paste into a gate config, each number with how it was found."""
    lines = [
        f"  # suggested by insabot eval --suggest-thresholds from {runs} run(s): threshold = the Wilson "
        f"(rates) or normal (hangul_share) {Z}-sigma bound on the regressing side, rounded outward",
    ]
    for section, lower in (("minimum", False), ("maximum", True)):
        chosen = [b for b in bounds if b.lower_is_better == lower]
        if chosen:
            lines.append(f"  {section}:")
            lines += [
                f"    {b.metric}: {b.threshold}  # measured {b.measured} on n = {b.n}, standard error {b.se}"
                for b in chosen
            ]
    lines.append("  measured:")
    lines += [f"    {b.metric}: {b.measured}" for b in bounds]
    lines.append("  margin:")
    lines += [f"    {b.metric}: {b.margin}" for b in bounds]
    return "\n".join(lines) + "\n"


def gate_problems(eval_config: EvalConfig) -> list[str]:
    """Why a gate config is not a gate (empty when it is, or when it has no committed measurement): every
    threshold needs its measurement and margin, and may not sit further than the margin from the measurement."""
    if not eval_config.measured:
        return []
    problems = []
    for section, lower_is_better in (("minimum", False), ("maximum", True)):
        for metric, threshold in getattr(eval_config, section).items():
            measured = eval_config.measured.get(metric)
            margin = eval_config.margin.get(metric)
            if measured is None or margin is None:
                problems.append(
                    f"eval.{section}.{metric}: no committed eval.measured.{metric} and eval.margin.{metric} "
                    "beside it (print them with insabot eval --suggest-thresholds)"
                )
                continue
            gap = threshold - measured if lower_is_better else measured - threshold
            if gap > margin + SLACK:
                problems.append(
                    f"eval.{section}.{metric} = {threshold} sits {gap:.4g} from the committed measurement "
                    f"{measured}, more than its margin {margin}: a loosened gate (measure again and update "
                    "measured, margin and threshold together)"
                )
    return problems
