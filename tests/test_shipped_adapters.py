"""The adapters shipped in adapters/: small, documented, and they make their base answer in casual Korean."""

import json
from pathlib import Path

import pytest

from insabot.chat import build_conversation, system_prompt_for
from insabot.config import GenerationConfig, ModelConfig
from insabot.generation import generate_batch
from insabot.korean.analyze import analyze
from insabot.models.loading import load

ADAPTERS = Path(__file__).resolve().parents[1] / "adapters"
SHIPPED = {"insabot-smollm2-ko": "smollm2-135m", "insabot-gemma3-ko": "gemma3-270m"}


@pytest.mark.parametrize(("name", "base"), SHIPPED.items())
def test_shipped_adapter_is_small_and_documented(name, base):
    folder = ADAPTERS / name
    # the Gemma adapter is LoRA r64 stored in bf16 (29 MiB; `insabot export --weights-dtype bfloat16`), fp32 would be 58
    assert (folder / "adapter_model.safetensors").stat().st_size <= 32 * 2**20
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    assert config["base_model_name_or_path"] == base
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert f"--model {base} --adapter adapters/{name}" in card
    assert "## Eval" in card
    for name in ("loss.png", "metrics.jsonl", "config.yaml", "chat_template.jinja"):
        assert (folder / name).is_file(), name


@pytest.mark.real_model
@pytest.mark.parametrize(("name", "base"), SHIPPED.items())
def test_shipped_adapter_answers_in_casual_korean(name, base):
    # fp32 on every CPU: `dtype: auto` picks bf16 where the CPU has it, and a greedy reply of these small models
    # can part at a near tie (SmolLM2 + adapter answered 해요체 in bf16 on an AVX512-BF16 machine)
    loaded = load(
        ModelConfig(base_model=base, adapter=str(ADAPTERS / name), dtype="float32", weights="native"),
        device="cpu",
    )
    conversation = build_conversation("야, 이거 어때?", [], system_prompt_for("banmal"))
    greedy = GenerationConfig(max_new_tokens=64, do_sample=False)
    (reply,) = generate_batch(loaded.model, loaded.tokenizer, [conversation], greedy)
    (analysis,) = analyze([reply.text])
    assert reply.finish_reason == "stop", reply
    assert analysis.hangul_share >= 0.9 and not analysis.latin_leak, reply.text
    assert analysis.level == "banmal", (reply.text, analysis.sentences)
