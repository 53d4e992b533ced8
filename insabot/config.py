"""Typed, strict configuration: YAML files map onto dataclasses, with `section.key=value` overrides.

One root `Config` holds every section; a YAML file sets any subset of it and the rest keeps its
defaults. Strictness is the point: an unknown or misspelled key, a wrong type or a missing file is a
`ConfigError` that names the file and the dotted key, never a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from insabot.errors import InsabotError
from insabot.models.registry import DEFAULT_ADAPTER, DEFAULT_MODEL

Tone = Literal["banmal", "jondaetmal"]
TONES: tuple[str, ...] = typing.get_args(Tone)


class ConfigError(InsabotError, ValueError):
    """A configuration problem, with the file and dotted key it concerns in the message."""


@dataclass
class ModelConfig:
    base_model: str = DEFAULT_MODEL
    """Embedded alias (see `insabot model list`), local HF directory, `.gguf` file or Hub id."""
    adapter: str | None = None
    """A LoRA adapter directory (or a training run directory holding one). A `Config` without a model
    section gets the default model's shipped adapter (`default_model()`)."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """`auto`: bfloat16 on a CPU with AVX512-BF16 or AMX (decoding ×1.4; greedy replies may part from fp32's after
    a near tie, quality the same on the eval), float32 on other CPUs (emulated bf16 is slower than fp32), bf16 or
    fp16 on a GPU. Pin `float32` where one report must come out the same on every machine (the quality gate)."""
    revision: str | None = None
    trust_remote_code: bool = False
    output_vocab: Literal["auto", "full", "trimmed"] = "auto"
    """`trimmed`: the LM head computes logits only for the ~12k tokens a Korean chat writes (Hangul, punctuation,
    emoji, single ASCII characters, every token of the corpus; insabot/models/output_vocab.py), in generation,
    reply scoring and training's loss; the input side keeps every token. `auto`: trimmed for Gemma, whose 262k-token
    head is most of the model, full for the Llama family."""
    weights: Literal["auto", "int8", "native"] = "auto"
    """`int8`: the transformer blocks' linear weights also as int8 with a scale per row (insabot/models/int8.py) for
    CPU decoding steps: half the bytes of bf16 read per token, decoding ×1.5 over bf16 (benchmarks/decode.py); a
    prompt's prefill and reply scoring keep the native weights. Greedy replies may part from native's after a near
    tie, quality the same on the eval. `auto`: int8 on a CPU, `native` on a GPU. Pin `native` with `dtype: float32`
    where one report must come out the same on every machine (the quality gate)."""


@dataclass
class GenerationConfig:
    max_new_tokens: int = 256
    do_sample: bool = True
    temperature: float = 0.7
    top_p: float = 0.9
    repetition_penalty: float = 1.1
    """Applied to tokens already in the context, except the end-of-turn/EOS ids (see generation.py)."""
    penalize_end_tokens: bool = False
    """True: transformers' stock penalty, end-of-turn/EOS included. Only for comparison: tuned models
    then stop less often (the README's stopping table measures it)."""
    seed: int | None = None
    stop_loops: bool = True
    """End a reply once it repeats a line or sentence, and drop the repeat (insabot/korean/loops.py): greedy
    decoding of a small model otherwise says the same line to the token limit. A stream holds back a sentence
    that starts like an earlier one until it parts from it or completes the repeat, so no stream shows it."""
    max_sentences: int = 0
    """End a reply after this many sentences, once another begins (insabot/korean/sentences.py: a sentence ends at
    a line break, final punctuation or a laugh before a space, and holds at least five syllables; a quotation and
    the line leading into one stay whole). 0 = no limit. The demo chat uses 1: a small model's first sentence is
    its best (docs/rated-reads.md, round 8)."""
    candidates: int = 1
    """Replies sampled per message where nothing streams (`insabot generate`, the eval, the Kakao skill and
    non-streamed API requests): the best of them by relevance, after dropping looped, empty and wrong-tone ones,
    is the answer (insabot/rerank.py). 1 = no reranking. Above 1 it needs do_sample; each candidate gets its own
    RNG seeded from (seed, its index)."""
    rerank_lambda: float = 0.75
    """λ of the reranker's relevance, mean log P(reply | conversation) − λ · mean log P(reply | an empty user
    turn). Reply selection (insabot/selection.py) picks λ by validation MRR and reports it as `pmi_lambda`: 0.75–1.0
    for the default model. 0.75, the lower end: the null term rewards replies that are unlikely anywhere, and
    the less of it, the less a rare, off-register candidate gains over a plain fitting one."""
    retrieve: bool = False
    """Answer an opening message (the conversation's first user turn, under a persona system prompt) with the reply
    the corpus's writers gave to the most similar opening of the same tone, when the similarity reaches
    `retrieve_min_similarity`; otherwise, and for every later turn, the model writes (insabot/retrieval.py). The
    demo chat turns it on: blind raters scored written replies far above the model's where the match is close
    (docs/rated-reads.md, round 12)."""
    retrieve_min_similarity: float = 0.25
    """The character-gram cosine from which a written reply answers, chosen on the real-style dev half (round 12):
    below ~0.25 a written reply fit worse than the model's own."""


@dataclass
class ChatConfig:
    tone: Tone = "banmal"
    system_prompt: str | None = None
    """Overrides the tone's persona prompt when set."""
    max_message_chars: int = 2000
    """Longer user messages are refused with a clear error instead of being silently cut."""


@dataclass
class DataConfig:
    path: str | None = None
    """Anything `insabot data check` reads (JSONL/JSON/CSV/Parquet file, folder of JSONL shards, Hub id;
    messages, ShareGPT or Alpaca rows); None = the bundled corpus (finetune/corpus) with its frozen split."""
    max_seq_len: int = 512
    packing: bool = True
    """Pack several conversations into one sequence (attention never crosses them)."""
    limit: int | None = None
    """Use only the first N training conversations (smoke runs, notebooks)."""


@dataclass
class LoraConfig:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] | str = "all-linear"
    trainable_tokens: list[str] = field(default_factory=list)
    """Special tokens whose embedding rows train too (e.g. Gemma's <end_of_turn>), via PEFT."""


@dataclass
class TrainConfig:
    output_dir: str = "runs/insabot"
    method: Literal["lora", "full"] = "lora"
    """`lora`: the `lora` settings. `full`: every weight of the transformer blocks (and the final norm) trains,
    the embeddings and a tied head stay frozen except `lora.trainable_tokens` rows; the run writes a whole model
    (`model/`, ~4 bytes per parameter) instead of an adapter."""
    epochs: float = 1.0
    max_steps: int | None = None
    """Stop after this many optimizer steps (overrides epochs when set)."""
    batch_size: int = 4
    """With packing, a micro-batch is one padding-free row of up to batch_size × max_seq_len tokens;
    without, batch_size conversations padded to the longest."""
    grad_accum: int = 1
    lr: float = 2e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    """`auto`: bf16 autocast where the CPU/GPU supports it, else fp32."""
    gradient_checkpointing: bool = False
    quantization: Literal["none", "4bit"] = "none"
    """`4bit`: QLoRA through bitsandbytes (CUDA only)."""
    seed: int = 0
    log_every: int = 10
    eval_every: int = 100
    selection_turns: int = 32
    """At every evaluation, also rank each of this many validation turns' true reply among 9 distractors
    (hits@1, MRR: the eval's reply selection on a slice, so a run's curve shows sense and not only loss);
    0 = off."""
    save_every: int = 100
    keep_checkpoints: int = 2
    init_adapter: str | None = None
    """Start the LoRA from this saved adapter (an adapter directory or a run directory holding `adapter/`)
    instead of from zero: a warm start with a fresh optimiser and schedule — a second stage of training, or a
    new machine going on from the committed adapter when the old run's checkpoints are gone. Its rank, target
    modules and trainable tokens must match `lora`."""


@dataclass
class EvalConfig:
    probes: str | None = None
    """Probe set JSONL; None = the bundled frozen set (eval/data/probes.jsonl)."""
    limit: int | None = None
    """Only the first N probes (CI smoke suites)."""
    stride: int = 1
    """Every n-th probe (a quick suite that still spans every kind, category and tone)."""
    real_messages: Literal["dev", "test"] | None = None
    """Also answer one half of the real-style message set (eval/data/real_messages.jsonl), as probes of kind
    `real`: short first lines as people send them, scored for tone, script and loops like the probes."""
    real_messages_stride: int = 1
    """Every n-th message of that half (the file is ordered by category and tone, so a stride keeps both)."""
    batch_size: int = 8
    max_new_tokens: int = 96
    perplexity_conversations: int | None = None
    """Test-split conversations for perplexity (None = all, 0 = skip)."""
    selection_turns: int | None = None
    """Test-split turns for reply selection (insabot/selection.py; None = all, 0 = skip); λ is chosen on as many
    validation turns."""
    selection_k: int = 10
    """Candidates per turn in reply selection: the true reply and K−1 distractors (chance hits@1 = 1/K)."""
    selection_seed: int = 0
    """Seed of the distractor choice."""
    output_dir: str = "runs/eval"
    minimum: dict[str, float] = field(default_factory=dict)
    """Thresholds: the run fails when one of these metrics is lower (e.g. tone_adherence: 0.8)."""
    maximum: dict[str, float] = field(default_factory=dict)
    """Thresholds: the run fails when one of these metrics is higher (e.g. latin_leak_rate: 0.05)."""
    measured: dict[str, float] = field(default_factory=dict)
    """A quality gate's committed measurement of the model it guards, per thresholded metric (written by
    `insabot eval --suggest-thresholds`). With it, every threshold needs its `margin`, and a threshold set
    further than its margin from the measurement fails the run: a gate cannot be loosened quietly."""
    margin: dict[str, float] = field(default_factory=dict)
    """How far each threshold may sit from `measured` (its confidence bound, see eval/gate.py)."""


@dataclass
class UiConfig:
    """The web chat (`insabot chat`). Login and share links are command-line flags, never config files."""

    host: str = "127.0.0.1"
    port: int = 7860
    concurrency_limit: int = 2
    """Generations running at once across all browser sessions; more requests wait in Gradio's queue."""
    max_queue: int = 64
    """Requests waiting beyond this are refused with a 'busy' notice instead of piling up."""
    model_dirs: list[str] = field(default_factory=lambda: ["adapters", "runs"])
    """Folders searched for adapters and training runs offered in the model dropdowns."""


@dataclass
class ServeConfig:
    """`insabot serve`: the OpenAI-compatible API and the KakaoTalk skill. Keys and tokens are flags or
    environment variables, never config files."""

    host: str = "127.0.0.1"
    port: int = 8000
    concurrency_limit: int = 2
    """Generations running at once; more requests wait for a slot."""
    max_queue: int = 32
    """Requests waiting for a slot beyond this are turned away at once (429 on /v1, a short notice on the Kakao
    skill) instead of waiting without end. 32 keeps benchmarks/serve_load.py's 20 concurrent requests queued."""
    max_prompt_tokens: int = 2048
    """The longest prompt (chat template included) a request may bring, in tokens; the model's context length
    caps it. Its prefill alone holds two CPU cores for ~20 s with the demo default at 2,048 tokens (one
    2,000-character Korean message is ~900 of Gemma's tokens). Longer /v1 requests are a 400; the Kakao skill
    leaves out the oldest remembered turns."""
    max_body_bytes: int = 65536
    kakao_budget_s: float = 3.5
    """Kakao drops a skill that has not answered in 5 s: past this budget, answer through the callback URL
    (or, without one, with a short 'busy' notice)."""
    kakao_callback_timeout_s: float = 50.0
    """The callback URL is valid for one minute from the skill request: a reply not ready this many seconds
    after the request arrived is stopped, and the 'busy' notice goes to the callback instead."""
    kakao_callback_hosts: list[str] = field(default_factory=lambda: ["bot-api.kakao.com"])
    """The only hosts a skill request's `callbackUrl` may name (anyone who can reach the skill writes that URL,
    and the server POSTs to it): the host of Kakao's chatbot API, where the AI-chatbot callback URLs point. An
    entry starting with a dot (`.example.com`) also matches its subdomains. Any other host, an IP address or a
    non-https URL is refused, and the skill answers within `kakao_budget_s` instead."""
    kakao_callback_allow_http: bool = False
    """Accept plain-http callback URLs (a local inbox in tests and benchmarks/serve_load.py); never in production."""
    memory_turns: int = 8
    memory_ttl_s: float = 1800.0
    memory_max_users: int = 10000


def default_model() -> ModelConfig:
    """What every command runs when nothing names a model: the default base with its shipped adapter."""
    return ModelConfig(base_model=DEFAULT_MODEL, adapter=DEFAULT_ADAPTER)


@dataclass
class Config:
    model: ModelConfig = field(default_factory=default_model)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
    data: DataConfig = field(default_factory=DataConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read `path` (YAML) into a `Config`, then apply `section.key=value` overrides."""
    raw: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: top level must be a mapping of sections, got {type(loaded).__name__}")
        raw = loaded or {}
    config = _build(Config, _with_default_adapter(raw), source, prefix="")
    for item in overrides:  # each override is checked on its own, so an error names the --set that caused it
        _apply_override(raw, item)
        config = _build(Config, _with_default_adapter(raw), f"--set {item}", prefix="")
    return config


def _with_default_adapter(raw: dict[str, Any]) -> dict[str, Any]:
    """A model section that names no base model (e.g. only `dtype`) keeps the default model whole, shipped
    adapter included; one that names a base without an adapter means that base bare."""
    section = raw.get("model")
    if not isinstance(section, dict) or "base_model" in section:
        return raw
    return {**raw, "model": {"adapter": DEFAULT_ADAPTER, **section}}


def config_to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def dump_config(config: Any) -> str:
    return yaml.safe_dump(config_to_dict(config), allow_unicode=True, sort_keys=False)


def _apply_override(raw: dict[str, Any], item: str) -> None:
    key, sep, value_text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {item!r}: expected section.key=value, e.g. generation.temperature=0.5")
    node = raw
    *parents, leaf = key.strip().split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {item!r}: {part!r} is a value, not a section")
        node = child
    # YAML parsing gives overrides the same typing rules as files ("0.5" -> float, "null" -> None).
    node[leaf] = yaml.safe_load(value_text) if value_text.strip() else ""


def _build(cls: type, raw: Any, source: str, prefix: str) -> Any:
    where = f"{source}: {prefix.rstrip('.') or 'top level'}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__} {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            known = ", ".join(fields)
            raise ConfigError(f"{source}: unknown key '{prefix}{key}'{hint}; known keys here: {known}")
    values = {}
    for name, value in raw.items():
        values[name] = _coerce(hints[name], value, source, f"{prefix}{name}")
    return cls(**values)


def _coerce(tp: Any, value: Any, source: str, key: str) -> Any:
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, source, prefix=f"{key}.")
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, source, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise errors[0] if len(errors) == 1 else ConfigError(f"{source}: {key}: {value!r} fits none of {tp}")
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{source}: {key}: {value!r} is not one of {choices}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{source}: {key}: expected a list, got {value!r}")
        return [_coerce(args[0], v, source, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {key}: expected a mapping, got {value!r}")
        return {str(k): _coerce(args[1], v, source, f"{key}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    # bool is a subclass of int in Python; `max_new_tokens: true` is still a typo.
    if tp in (int, float, str, bool) and (
        not isinstance(value, tp) or (tp is int and isinstance(value, bool))
    ):
        raise ConfigError(f"{source}: {key}: expected {tp.__name__}, got {type(value).__name__} {value!r}")
    return value
