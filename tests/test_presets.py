"""The Korean Hub presets (kanana 1.5, HyperCLOVA X SEED): each preset file trains one step through the recipe on
a tiny random model of its architecture, and its chat template passes the recipe's and the eval's template check.
The real weights are for users with internet; the architecture facts live in tests/hub_presets.py."""

import json
import math
from pathlib import Path

import pytest
import torch
from hub_presets import HUB_PRESETS, llama_config, tiny_model, tiny_tokenizer
from huggingface_hub.errors import StrictDataclassClassValidationError

from insabot.config import load_config

CONFIGS = Path(__file__).parents[1] / "configs" / "train"
CONVERSATION = [
    {"role": "system", "content": "반말로 답해."},
    {"role": "user", "content": "야 이거 어때?"},
    {"role": "assistant", "content": "완전 좋아 ㅋㅋ"},
    {"role": "user", "content": "ㄱㄱ"},
    {"role": "assistant", "content": "가자"},
]


@pytest.mark.parametrize("name", HUB_PRESETS)
def test_preset_names_its_hub_model_and_fits_its_context(name):
    arch = HUB_PRESETS[name]
    config = load_config(CONFIGS / f"{name}.yaml")
    assert config.model.base_model == arch.hub_id
    assert config.data.max_seq_len <= arch.max_position_embeddings
    assert f"configs/train/{name}.yaml" in (CONFIGS.parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            "kanana15-2.1b-ko-casual",
            marks=pytest.mark.xfail(
                raises=StrictDataclassClassValidationError,
                strict=True,  # passes once transformers accepts the config: then drop this mark and the README note
                reason="transformers 5.25 rejects hidden_size 1792 with 24 heads despite head_dim 128 "
                "(huggingface/transformers#46082)",
            ),
        ),
        "hyperclovax-seed-0.5b-ko-casual",
    ],
)
def test_real_architecture_builds_and_matches_the_stated_size(name):
    """The full-size model on the meta device (no memory): transformers accepts the config, and the facts add up
    to the parameter count the model card states."""
    from transformers import LlamaForCausalLM

    arch = HUB_PRESETS[name]
    with torch.device("meta"):
        model = LlamaForCausalLM(llama_config(arch))
    decimals = len(arch.parameters_b.split(".")[1])
    assert round(sum(p.numel() for p in model.parameters()) / 1e9, decimals) == float(arch.parameters_b)


@pytest.mark.parametrize("name", HUB_PRESETS)
def test_template_check_supervises_each_reply_through_its_closing_tokens(name, smol_tokenizer):
    from insabot.finetune.render import IGNORE, end_of_turn_text, render
    from insabot.generation import end_token_ids
    from insabot.likelihood import split_tokens

    arch = HUB_PRESETS[name]
    tokenizer = tiny_tokenizer(arch, smol_tokenizer)
    assert end_of_turn_text(tokenizer) == arch.closing
    example = render(tokenizer, CONVERSATION, 1000)
    text = tokenizer.decode(example.input_ids)
    for message in CONVERSATION:
        assert message["content"] in text
    supervised = [t for t, label in zip(example.input_ids, example.labels, strict=True) if label != IGNORE]
    assert tokenizer.decode(supervised) == f"완전 좋아 ㅋㅋ{arch.closing}가자{arch.closing}"
    # the eval scores a reply over the same tokens training supervises
    _, reply = split_tokens(tokenizer, CONVERSATION[:2], "완전 좋아 ㅋㅋ")
    assert tokenizer.decode(reply) == f"완전 좋아 ㅋㅋ{arch.closing}"
    # each closing token is one special token, and generation stops on it
    closing_ids = tokenizer(arch.closing, add_special_tokens=False)["input_ids"]
    assert [tokenizer.decode([i]) for i in closing_ids] == tokenizer.tokenize(arch.closing)
    assert set(closing_ids) <= set(end_token_ids(tokenizer, tiny_model(arch, tokenizer)))


@pytest.mark.parametrize("name", HUB_PRESETS)
def test_one_training_step_of_the_preset_on_a_tiny_model_of_its_kind(name, smol_tokenizer, tmp_path):
    from insabot.finetune.conversations import load_corpus
    from insabot.finetune.train import train

    arch = HUB_PRESETS[name]
    tokenizer = tiny_tokenizer(arch, smol_tokenizer)
    model = tiny_model(arch, tokenizer)
    attention = model.model.layers[0].self_attn
    assert attention.num_key_value_groups == arch.heads // arch.kv_heads
    assert attention.q_proj.out_features > model.config.hidden_size  # head_dim is not hidden / heads
    assert (model.lm_head.weight is model.model.embed_tokens.weight) == arch.tie_word_embeddings
    base = tmp_path / "base"
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    data = tmp_path / "chats.jsonl"
    data.write_text(
        "".join(json.dumps({"messages": c.messages}, ensure_ascii=False) + "\n" for c in load_corpus()[:8]),
        encoding="utf-8",
    )
    # The preset as written, on the tiny base and data: one optimizer step, fp32 on the CPU.
    overrides = [f"model.base_model={base}", f"data.path={data}", f"train.output_dir={tmp_path / 'run'}"]
    overrides += ["train.max_steps=1", "train.batch_size=2", "train.grad_accum=1", "train.precision=fp32"]
    config = load_config(CONFIGS / f"{name}.yaml", overrides)
    assert config.train.gradient_checkpointing and config.lora.target_modules == "all-linear"
    run = train(config, progress=False)

    (record,) = [
        json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if "loss" in line
    ]
    assert math.isfinite(record["loss"]) and record["step"] == 1
    adapter = run / "adapter"
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == config.lora.r
    assert (adapter / "chat_template.jinja").read_text(encoding="utf-8") == arch.chat_template
