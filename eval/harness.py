"""The evaluation harness: replies to a frozen probe set, scored for tone and locality.

Every number in a report can be traced to `replies.jsonl` (one row per probe, with the analyser's fields).
Replies come from `generate_batch`, the same generation path as the chat and `insabot generate`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from insabot.chat import build_conversation, canonical_tone, system_prompt_for, unknown_tone_message
from insabot.config import Config, ConfigError, EvalConfig
from insabot.eval.metrics import METRICS, SELECTION_METRICS
from insabot.generation import generate_batch
from insabot.korean.analyze import analyze
from insabot.korean.locality import HANGUL_SYLLABLE
from insabot.korean.loops import is_loop
from insabot.korean.speech_level import TONE_REGISTER
from insabot.models.loading import LoadedModel
from insabot.textio import InputError, read_jsonl

PROBES = Path(__file__).parent / "data" / "probes.jsonl"


@dataclass(frozen=True)
class Probe:
    id: str
    kind: str
    category: str
    tone: str
    messages: list[dict[str, str]]
    keywords: list[str]


def load_probes(path: str | Path | None = None) -> list[Probe]:
    """The probe set; a bad line is an `InputError` naming `file:line`, before any model loads."""
    path = Path(path) if path else PROBES
    return [_probe(row, f"{path}:{number}") for number, row in read_jsonl(path)]


def _probe(row: dict, where: str) -> Probe:
    missing = [key for key in ("id", "kind", "category", "tone", "messages") if key not in row]
    if missing:
        raise InputError(f"{where}: probe is missing {', '.join(map(repr, missing))}")
    tone = canonical_tone(row["tone"])
    if tone is None:
        raise InputError(f"{where}: {unknown_tone_message(row['tone'])}")
    messages = row["messages"]
    if not (
        isinstance(messages, list)
        and messages
        and all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages)
        and messages[-1].get("role") == "user"
    ):
        raise InputError(
            f"{where}: 'messages' must be a list of role/content objects ending with a user turn"
        )
    keywords = row.get("keywords", [])
    if not (isinstance(keywords, list) and all(isinstance(k, str) for k in keywords)):
        raise InputError(f"{where}: 'keywords' must be a list of strings")
    return Probe(str(row["id"]), str(row["kind"]), str(row["category"]), tone, messages, keywords)


def eval_probes(eval_config: EvalConfig) -> list[Probe]:
    """What an eval answers: every `stride`-th probe (the first `limit` of them), then every
    `real_messages_stride`-th message of the chosen real-style half as a one-turn probe of kind `real`."""
    probes = load_probes(eval_config.probes)[:: eval_config.stride][: eval_config.limit]
    if eval_config.real_messages is None:
        return probes
    from insabot.eval.real_messages import load_real_messages

    messages = load_real_messages(eval_config.real_messages)[:: eval_config.real_messages_stride]
    return probes + [
        Probe(m.id, "real", m.category, m.tone, [{"role": "user", "content": m.text}], []) for m in messages
    ]


def probes_dataset(path: str | Path | None = None):
    """The probe set as a `datasets.Dataset` (for use with other tools)."""
    from datasets import Dataset

    return Dataset.from_list([probe.__dict__ for probe in load_probes(path)])


def check_threshold_names(config: Config) -> None:
    for section in ("minimum", "maximum"):
        for name in getattr(config.eval, section):
            if name not in METRICS:
                raise ConfigError(
                    f"eval.{section}.{name}: unknown metric; known metrics: {', '.join(METRICS)}"
                )


def run_probes(
    probes: list[Probe], loaded: LoadedModel, config: Config, progress: bool = True
) -> tuple[list[dict], float]:
    from tqdm.auto import tqdm

    # Greedy with a fixed seed: the same model gives the same report every time. Reranking samples its
    # candidates, each with its own seeded RNG, so it stays as repeatable.
    gen = dataclasses.replace(
        config.generation,
        max_new_tokens=config.eval.max_new_tokens,
        do_sample=config.generation.candidates > 1,
        seed=config.generation.seed or 0,
    )
    started = time.perf_counter()
    rows = []
    bar = tqdm(total=len(probes), desc="eval", unit="probe", disable=not progress)
    for start in range(0, len(probes), config.eval.batch_size):
        batch = probes[start : start + config.eval.batch_size]
        conversations = [
            build_conversation(
                p.messages[-1]["content"],
                p.messages[:-1],
                system_prompt_for(p.tone, config.chat.system_prompt),
            )
            for p in batch
        ]
        for probe, reply in zip(
            batch,
            generate_batch(loaded.model, loaded.tokenizer, conversations, gen, [p.category for p in batch]),
            strict=True,
        ):
            rows.append(
                {
                    "id": probe.id,
                    "kind": probe.kind,
                    "category": probe.category,
                    "tone": probe.tone,
                    "prompt": probe.messages[-1]["content"],
                    "turns": len(probe.messages),
                    "reply": reply.text,
                    "new_tokens": reply.new_tokens,
                    "finish_reason": reply.finish_reason,
                    "keywords": probe.keywords,
                }
            )
        bar.update(len(batch))
    bar.close()
    seconds = time.perf_counter() - started
    return score_rows(rows), seconds


def score_rows(rows: list[dict]) -> list[dict]:
    """Add the analysers' fields and the per-probe verdicts to rows that hold probe fields and a reply
    (replacing any from an earlier scoring)."""
    for row, analysis in zip(rows, analyze(r["reply"] for r in rows), strict=True):
        row.update({k: v for k, v in analysis.as_dict().items() if k != "text"})
        # tone adherence reads the register: a 하십시오체 + 해요체 reply keeps 존댓말, a mixed or none one misses
        row["tone_ok"] = analysis.register == TONE_REGISTER[row["tone"]]
        row["keyword_hit"] = any(k in row["reply"] for k in row["keywords"]) if row["keywords"] else None
        row["echo"] = len(row["prompt"]) >= 8 and row["prompt"] in row["reply"]
        row["repeated"] = _has_repeated_ngram(row["reply"].split(), 3)
        row["loop"] = is_loop(row["reply"], row["category"])
    return rows


def _has_repeated_ngram(words: list[str], n: int) -> bool:
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(grams) != len(set(grams))


def _distinct(replies: list[str], n: int) -> float:
    grams = [tuple(w[i : i + n]) for w in (r.split() for r in replies) for i in range(len(w) - n + 1)]
    return round(len(set(grams)) / len(grams), 4) if grams else 0.0


def _share(rows: list[dict], predicate) -> float | None:
    return round(sum(bool(predicate(r)) for r in rows) / len(rows), 4) if rows else None


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 3) if present else None


def _every(row: dict) -> bool:
    return True


# The rate metrics: (which rows count, which of them hit). One table, so the quality gate (eval/gate.py) sizes
# each rate's confidence bound on exactly the rows the report divided by.
RATES: dict[str, tuple[Callable[[dict], bool], Callable[[dict], Any]]] = {
    "tone_adherence": (_every, lambda r: r["tone_ok"]),
    "tone_adherence_banmal": (lambda r: r["tone"] == "banmal", lambda r: r["tone_ok"]),
    "tone_adherence_jondaetmal": (lambda r: r["tone"] == "jondaetmal", lambda r: r["tone_ok"]),
    "consistency": (lambda r: r["turns"] > 1, lambda r: r["tone_ok"]),
    "latin_leak_rate": (_every, lambda r: r["latin_leak"]),
    "other_script_leak_rate": (_every, lambda r: r["other_script_leak"]),
    "style_marker_rate": (
        _every,
        lambda r: (
            any(r["markers"][m] for m in ("laughter", "crying", "emoji", "emoticon")) or r["markers"]["slang"]
        ),
    ),
    "local_ref_rate": (_every, lambda r: r["local_refs"]),
    "slang_score": (lambda r: r["kind"] == "slang", lambda r: r["keyword_hit"]),
    "local_score": (lambda r: r["kind"] == "local", lambda r: r["keyword_hit"]),
    "repetition_rate": (_every, lambda r: r["repeated"]),
    "echo_rate": (_every, lambda r: r["echo"]),
    "loop_rate": (_every, lambda r: r["loop"]),
    "empty_rate": (_every, lambda r: not r["reply"].strip()),
    "truncated_rate": (_every, lambda r: r["finish_reason"] == "length"),
    "degenerate_rate": (
        _every,
        lambda r: r["repeated"] or r["echo"] or r["loop"] or not r["reply"].strip(),
    ),
}


def rate_rows(name: str, rows: list[dict]) -> list[dict]:
    """The rows a rate metric divides by."""
    counts, _ = RATES[name]
    return [row for row in rows if counts(row)]


def aggregate(
    rows: list[dict], seconds: float, perplexity: float | None, selection: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The report's metrics, in `METRICS` order, from scored rows, the perplexity and the reply-selection
    metrics (None when not measured)."""
    replies = [r["reply"] for r in rows]
    syllables = sum(len(HANGUL_SYLLABLE.findall(r)) for r in replies)
    metrics = {
        "replies": len(rows),
        **{name: _share(rate_rows(name, rows), hit) for name, (_, hit) in RATES.items()},
        "hangul_share": round(sum(r["hangul_share"] or 0.0 for r in rows) / len(rows), 4) if rows else None,
        "korean_fluency": _mean(r.get("fluency") for r in rows),
        "distinct_1": _distinct(replies, 1),
        "distinct_2": _distinct(replies, 2),
        "perplexity": perplexity,
        **{name: (selection or {}).get(name) for name in SELECTION_METRICS},
        "tokens_per_s": round(sum(r["new_tokens"] for r in rows) / seconds, 2) if seconds else None,
        "seconds_per_hangul_syllable": round(seconds / syllables, 4) if syllables else None,
    }
    return {name: metrics[name] for name in METRICS}


def test_split_perplexity(loaded: LoadedModel, limit: int | None, max_len: int = 1024) -> float | None:
    """exp(mean loss over assistant tokens) on the corpus's frozen test split."""
    import torch

    from insabot.finetune.conversations import load_corpus
    from insabot.finetune.loss import supervised_loss_sum
    from insabot.finetune.packing import collate, pack
    from insabot.finetune.render import render
    from insabot.finetune.splits import assign_splits, load_frozen

    if limit == 0:
        return None
    test = assign_splits(load_corpus(), frozen=load_frozen())["test"][:limit]
    examples = [render(loaded.tokenizer, c.messages, max_len, c.source) for c in test]
    total, count = 0.0, 0
    pad = loaded.tokenizer.pad_token_id or 0
    with torch.no_grad():
        for sequence in pack(examples, max_len):
            loss_sum, n = supervised_loss_sum(
                loaded.model, {k: v.to(loaded.model.device) for k, v in collate([sequence], pad).items()}
            )
            total, count = total + float(loss_sum), count + n
    return round(math.exp(total / count), 3) if count else None


def evaluate_model(config: Config, progress: bool = True) -> tuple[dict[str, Any], list[dict]]:
    """The whole eval of `config.model` (base + adapter) on the probe set of `config.eval`:
    the report (model, adapter, probe count, time, metrics) and one row per probe."""
    from insabot.models.loading import load

    probes = eval_probes(config.eval)
    loaded = load(config.model, progress=progress)
    rows, seconds = run_probes(probes, loaded, config, progress)
    perplexity = test_split_perplexity(loaded, config.eval.perplexity_conversations)
    selection = test_split_selection(loaded, config)
    report = {
        "model": config.model.base_model,
        "adapter": config.model.adapter,
        "probes": len(probes),
        "seconds": round(seconds, 1),
        "metrics": aggregate(rows, seconds, perplexity, selection["metrics"] if selection else None),
    }
    if selection:
        report["selection"] = {key: value for key, value in selection.items() if key != "metrics"}
    return report, rows


def test_split_selection(loaded: LoadedModel, config: Config) -> dict[str, Any] | None:
    """Reply selection on the frozen test split (insabot/selection.py), timed; None when switched off."""
    from insabot.selection import corpus_selection

    if config.eval.selection_turns == 0:
        return None
    started = time.perf_counter()
    selection = corpus_selection(
        loaded.model,
        loaded.tokenizer,
        config.eval.selection_turns,
        config.eval.selection_k,
        config.eval.selection_seed,
    )
    return {**selection, "seconds": round(time.perf_counter() - started, 1)}


def rescore(run_dir: Path) -> tuple[dict[str, Any], list[dict]]:
    """A finished eval run scored again by the current analysers, from its replies.jsonl (no generation):
    generation time, perplexity and reply selection are kept from its report.json (absent in runs older than
    the metric: None)."""
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    rows = [row for _, row in read_jsonl(run_dir / "replies.jsonl")]
    metrics = report["metrics"]
    report["metrics"] = aggregate(score_rows(rows), report["seconds"], metrics.get("perplexity"), metrics)
    # speeds as measured (report.json keeps the generation time rounded to 0.1 s)
    for name in ("tokens_per_s", "seconds_per_hangul_syllable"):
        report["metrics"][name] = metrics.get(name)
    return report, rows


def threshold_failures(metrics: dict[str, Any], config: Config) -> list[str]:
    failures = []
    for name, bound in config.eval.minimum.items():
        value = metrics.get(name)
        if value is None or value < bound:
            failures.append(f"{name} = {value} is below the minimum {bound} (eval.minimum.{name})")
    for name, bound in config.eval.maximum.items():
        value = metrics.get(name)
        if value is None or value > bound:
            failures.append(f"{name} = {value} is above the maximum {bound} (eval.maximum.{name})")
    return failures
