"""The eval's metric names in report order, and which way is better: one table for the harness (which
computes them and checks threshold names) and the reports (which mark the lower-is-better ones)."""

LOWER_IS_BETTER = frozenset(
    {
        "latin_leak_rate",
        "other_script_leak_rate",
        "repetition_rate",
        "echo_rate",
        "empty_rate",
        "truncated_rate",
        "degenerate_rate",
        "perplexity",
        "seconds_per_hangul_syllable",
    }
)
METRICS = (
    "replies",
    "tone_adherence",
    "tone_adherence_banmal",
    "tone_adherence_jondaetmal",
    "consistency",
    "hangul_share",
    "korean_fluency",
    "latin_leak_rate",
    "other_script_leak_rate",
    "style_marker_rate",
    "local_ref_rate",
    "slang_score",
    "local_score",
    "distinct_1",
    "distinct_2",
    "repetition_rate",
    "echo_rate",
    "empty_rate",
    "truncated_rate",
    "degenerate_rate",
    "perplexity",
    "tokens_per_s",
    "seconds_per_hangul_syllable",
)
