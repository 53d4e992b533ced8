"""The Korean-capable embedded base: alias, conversion with Gemma 3's chat template, masks, stopping."""

import json
from pathlib import Path

import pytest

import insabot.models.loading as loading
from insabot.finetune.render import IGNORE, render
from insabot.generation import end_token_ids
from insabot.models.registry import EMBEDDED

GEMMA = "gemma3-270m"


def test_alias_is_embedded_with_its_own_cache_entry():
    assert loading.classify(GEMMA) == "embedded"
    assert loading.cache_dir_for(GEMMA).name.startswith("gemma3-270m-")
    assert EMBEDDED[GEMMA].template_text().startswith("{{ bos_token }}")


def test_interrupted_gemma_conversion_leaves_nothing_and_adds_the_chat_template(tmp_path, monkeypatch, tiny):
    import copy

    monkeypatch.setenv("INSABOT_HOME", str(tmp_path))
    model, tokenizer = tiny
    monkeypatch.setattr(loading, "read_gguf", lambda gguf: (model, copy.deepcopy(tokenizer)))
    real_save = model.save_pretrained
    monkeypatch.setattr(model, "save_pretrained", lambda *a, **k: (_ for _ in ()).throw(OSError("killed")))
    with pytest.raises(OSError, match="killed"):
        loading.resolve(GEMMA)
    entry = loading.cache_dir_for(GEMMA)
    assert not entry.exists()
    assert [p.name for p in entry.parent.iterdir()] == ["gguf"]  # the assembled, sha256-checked GGUF only
    monkeypatch.setattr(model, "save_pretrained", real_save)
    source = loading.resolve(GEMMA)
    assert (entry / "chat_template.jinja").read_text() == EMBEDDED[GEMMA].template_text()
    assert source.location == str(entry)


@pytest.fixture(scope="module")
def gemma_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(loading.resolve(GEMMA).location)


@pytest.mark.real_model
def test_cached_tokenizer_is_the_fast_loading_form_with_the_same_tokens(gemma_tokenizer):
    from transformers import GemmaTokenizer

    location = Path(loading.resolve(GEMMA).location)
    config = json.loads((location / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "TokenizersBackend"
    assert len(config["added_tokens_decoder"]) == len(gemma_tokenizer.added_tokens_decoder) > 6000
    reference = GemmaTokenizer.from_pretrained(
        location
    )  # the model class, rebuilt in Python from the same files
    for text in (
        "야, 이거 어때? 성수 카페 ㅋㅋㅋ 🔥",
        "<start_of_turn>user\n킹받네<end_of_turn>\n",
        "  two  spaces\tx\n",
    ):
        ids = gemma_tokenizer(text).input_ids
        assert ids == reference(text).input_ids
        assert gemma_tokenizer.decode(ids) == reference.decode(ids)


@pytest.mark.real_model
def test_gemma_template_masks_and_end_of_turn(gemma_tokenizer):
    conversation = [
        {"role": "system", "content": "반말로 답해."},
        {"role": "user", "content": "야 이거 어때?"},
        {"role": "assistant", "content": "완전 좋아 ㅋㅋ"},
        {"role": "user", "content": "ㄱㄱ"},
        {"role": "assistant", "content": "가자"},
    ]
    example = render(gemma_tokenizer, conversation, 1000)
    text = gemma_tokenizer.decode(example.input_ids)
    assert text == (
        "<bos><start_of_turn>user\n반말로 답해.\n\n야 이거 어때?<end_of_turn>\n<start_of_turn>model\n완전 좋아 ㅋㅋ<end_of_turn>\n"
        "<start_of_turn>user\nㄱㄱ<end_of_turn>\n<start_of_turn>model\n가자<end_of_turn>\n"
    )
    supervised = gemma_tokenizer.decode(
        [t for t, label in zip(example.input_ids, example.labels, strict=True) if label != IGNORE]
    )
    assert supervised == "완전 좋아 ㅋㅋ<end_of_turn>가자<end_of_turn>"
    end_of_turn = gemma_tokenizer.convert_tokens_to_ids("<end_of_turn>")

    class Model:
        generation_config = type("G", (), {"eos_token_id": gemma_tokenizer.eos_token_id})()

    assert end_of_turn in end_token_ids(gemma_tokenizer, Model())
    assert (
        len(gemma_tokenizer("야, 이거 어때? 성수에 새로 생긴 카페 가볼래?")["input_ids"]) < 20
    )  # ~0.9 per syllable


@pytest.mark.real_model
def test_generation_stops_on_end_of_turn_with_gemmas_template(gemma_tokenizer):
    """A tiny Gemma3 whose logits are pushed to <end_of_turn> at the third new token: generation stops
    there (it is an end id even though Gemma's EOS is <eos>), in a batch and in the streamed chat path."""
    import threading

    from tiny_models import tiny_gemma3

    from insabot.config import GenerationConfig
    from insabot.generation import generate_batch, stream_reply

    model = tiny_gemma3(gemma_tokenizer, layers=2)
    end_of_turn = gemma_tokenizer.convert_tokens_to_ids("<end_of_turn>")
    assert end_of_turn != gemma_tokenizer.eos_token_id
    calls = []

    def force_end_of_turn(module, args, output):
        calls.append(True)
        if len(calls) % 3 == 0:  # prefill, new token 1, new token 2 -> the third call chooses <end_of_turn>
            output.logits[:, -1, end_of_turn] += 1e4
        return output

    model.register_forward_hook(force_end_of_turn)
    conversation = [
        {"role": "system", "content": "반말로 답해."},
        {"role": "user", "content": "야 이거 어때?"},
    ]
    gen = GenerationConfig(max_new_tokens=20, do_sample=False, repetition_penalty=1.3)
    (reply,) = generate_batch(model, gemma_tokenizer, [conversation], gen)
    assert (reply.finish_reason, reply.new_tokens) == ("stop", 2)

    calls.clear()
    pieces = list(stream_reply(model, gemma_tokenizer, conversation, gen))
    assert len(calls) == 3 and "<end_of_turn>" not in "".join(pieces)
    assert not any(thread.name == "insabot-generate" for thread in threading.enumerate())
