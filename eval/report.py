"""Eval reports: report.json (machine), report.md (tables), report.png (bars, side by side with a comparison)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from insabot.eval.metrics import LOWER_IS_BETTER

# Metrics in [0, 1] that the picture shows (the lower-is-better ones get a ↓).
PLOTTED = (
    "tone_adherence",
    "consistency",
    "hangul_share",
    "style_marker_rate",
    "local_ref_rate",
    "slang_score",
    "local_score",
    "distinct_2",
    "latin_leak_rate",
    "degenerate_rate",
    "truncated_rate",
    "selection_hits_at_1",
)


def label(report: dict[str, Any]) -> str:
    return report["model"] + (f" + {Path(report['adapter']).name}" if report.get("adapter") else "")


def markdown(report: dict[str, Any], compare: dict[str, Any] | None = None) -> str:
    columns = [label(report)] + ([label(compare)] if compare else [])
    lines = [
        f"# insabot eval: {label(report)}",
        "",
        f"probes: {report['probes']} · runtime: {report['seconds']} s",
        *_selection_line(report),
        "",
    ]
    header = "| metric | " + " | ".join(columns) + (" | Δ |" if compare else " |")
    lines += [header, "|---|" + "---|" * (len(columns) + (1 if compare else 0))]
    for name, value in report["metrics"].items():
        row = f"| {name}{' (↓)' if name in LOWER_IS_BETTER else ''} | {_fmt(value)} |"
        if compare:
            other = compare["metrics"].get(name)
            delta = (
                value - other if isinstance(value, (int, float)) and isinstance(other, (int, float)) else None
            )
            row += f" {_fmt(other)} | {_fmt(delta, signed=True)} |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def _selection_line(report: dict[str, Any]) -> list[str]:
    selection = report.get("selection")
    if not selection:
        return []
    return [
        f"reply selection: {selection['turns']} test turns, K = {selection['k']} (chance hits@1 = "
        f"{1 / selection['k']:.2f}), seed {selection['seed']}, PMI λ = {selection['pmi_lambda']} chosen on "
        f"{selection['validation_turns']} validation turns, {selection['seconds']} s"
    ]


def _fmt(value: Any, signed: bool = False) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:+.4g}" if signed else f"{value:.4g}"
    return f"{value:+d}" if signed and isinstance(value, int) else str(value)


RATED_ROWS = (
    ("rated sense: mean (0–2)", "mean", False),
    ("rated nonsense: share of 0s", "share_0", True),
    ("loops in the rated read", "loops", True),
)
"""The blind rated read's per-run figures (eval/rating.py, `insabot rate join`) as rows of the table."""


def table(reports: list[dict[str, Any]], ratings: list[dict[str, Any] | None] | None = None) -> str:
    """One column per report, every metric any of them has (the README's base-vs-tuned, both-bases table);
    with `ratings` (one rated run's summary per report, or None), the blind rated read's rows after them."""
    names = list(dict.fromkeys(name for report in reports for name in report["metrics"]))
    probes = sorted({report["probes"] for report in reports})
    lines = [
        f"probes: {', '.join(map(str, probes))}" + (" (different probe sets!)" if len(probes) > 1 else ""),
        "",
        "| metric | " + " | ".join(label(report) for report in reports) + " |",
        "|---|" + "---|" * len(reports),
    ]
    for name in names:
        values = " | ".join(_fmt(report["metrics"].get(name)) for report in reports)
        lines.append(f"| {name}{' (↓)' if name in LOWER_IS_BETTER else ''} | {values} |")
    for title, key, lower in RATED_ROWS if ratings else ():
        values = " | ".join(_fmt(None if rated is None else rated[key]) for rated in ratings)
        lines.append(f"| {title}{' (↓)' if lower else ''} | {values} |")
    if ratings:
        runs = ", ".join(rated["run"] for rated in ratings if rated)
        lines += [
            "",
            f"rated read: runs {runs} of the blind read (eval/ratings/rated.json), n = "
            f"{', '.join(str(rated['n']) for rated in ratings if rated)} messages",
        ]
    return "\n".join(lines) + "\n"


def rated_runs(path: Path, names: list[str]) -> list[dict[str, Any] | None]:
    """The rated read's summaries (`insabot rate join --json`) of the named runs, in order; `-` gives None
    (a column without a rated run)."""
    from insabot.textio import InputError

    try:
        runs = {run["run"]: run for run in json.loads(path.read_text(encoding="utf-8"))["runs"]}
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a rated read's summary (insabot rate join --json): {exc}") from exc
    unknown = [name for name in names if name != "-" and name not in runs]
    if unknown:
        raise InputError(f"{path}: no rated run {unknown[0]!r}; it has {', '.join(runs)}")
    return [None if name == "-" else runs[name] for name in names]


def plot(reports: list[dict[str, Any]], out: Path) -> None:
    """Bars of the [0, 1] metrics, one colour per report."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in PLOTTED if any(isinstance(r["metrics"].get(n), (int, float)) for r in reports)]
    width = 0.8 / len(reports)
    figure, axis = plt.subplots(figsize=(12, 4.5))
    for index, item in enumerate(reports):
        values = [item["metrics"].get(n) or 0.0 for n in names]
        axis.bar([i + index * width for i in range(len(names))], values, width, label=label(item))
    axis.set_xticks([i + width * (len(reports) - 1) / 2 for i in range(len(names))])
    axis.set_xticklabels([n + (" ↓" if n in LOWER_IS_BETTER else "") for n in names], rotation=35, ha="right")
    axis.set_ylim(0, 1.05)
    # beside the axes, not over them: with four reports an inside legend hides bars
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    axis.grid(axis="y", alpha=0.3)
    axis.set_title("insabot eval (↓ = lower is better)")
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def write_report(
    out_dir: Path, report: dict[str, Any], rows: list[dict], compare: dict[str, Any] | None
) -> None:
    from insabot.textio import write_jsonl_atomic

    out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(rows, out_dir / "replies.jsonl")
    (out_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (out_dir / "report.md").write_text(markdown(report, compare), encoding="utf-8")
    plot([report, compare] if compare else [report], out_dir / "report.png")
