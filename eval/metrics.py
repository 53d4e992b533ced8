"""The eval's metrics in report order, each with whether lower is better: one table for the harness
(which computes them and checks threshold names) and the reports (which mark the lower-is-better ones)."""

METRICS: dict[str, bool] = {
    "replies": False,
    "tone_adherence": False,
    "tone_adherence_banmal": False,
    "tone_adherence_jondaetmal": False,
    "consistency": False,
    "hangul_share": False,
    "korean_fluency": False,
    "latin_leak_rate": True,
    "other_script_leak_rate": True,
    "style_marker_rate": False,
    "local_ref_rate": False,
    "slang_score": False,
    "local_score": False,
    "distinct_1": False,
    "distinct_2": False,
    "repetition_rate": True,
    "echo_rate": True,
    "loop_rate": True,
    "empty_rate": True,
    "truncated_rate": True,
    "degenerate_rate": True,
    "perplexity": True,
    "selection_hits_at_1": False,
    "selection_mrr": False,
    "selection_pmi_hits_at_1": False,
    "selection_pmi_mrr": False,
    "tokens_per_s": False,
    "seconds_per_hangul_syllable": True,
}
SELECTION_METRICS = tuple(name for name in METRICS if name.startswith("selection_"))
"""Reply selection's (insabot/selection.py): measured on the corpus, not on the probes' replies."""
LOWER_IS_BETTER = frozenset(name for name, lower in METRICS.items() if lower)
