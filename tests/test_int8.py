"""Int8 block weights for CPU decoding (insabot/models/int8.py): the layer's output against nn.Linear's, which
models `weights: auto | int8 | native` quantizes, and a loaded model that decodes with them."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from torch import nn

from insabot.config import GenerationConfig, ModelConfig
from insabot.models.int8 import INT8_MAX_ROWS, Int8Linear, quantize_block_linears, quantizes


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("bias", [False, True])
def test_int8_linear_matches_the_linear_it_replaces(dtype, bias):
    torch.manual_seed(0)
    linear = nn.Linear(96, 40, bias=bias).to(dtype)
    x = torch.randn(2, 3, 96, dtype=dtype)
    expected, got = linear(x).float(), Int8Linear(linear)(x)
    assert got.shape == (2, 3, 40) and got.dtype == dtype
    relative = (got.float() - expected).norm() / expected.norm()
    # rounded to 255 levels per row, so not exact; within a few per mille plus bf16's own rounding
    assert 0 < relative < 0.02


def test_more_rows_than_decoding_has_go_through_the_unquantized_weight():
    torch.manual_seed(0)
    linear = nn.Linear(96, 40).to(torch.bfloat16)
    layer = Int8Linear(linear)
    prompt = torch.randn(
        1, INT8_MAX_ROWS + 1, 96, dtype=torch.bfloat16
    )  # a prefill, a scored reply, a big batch
    assert torch.equal(layer(prompt), linear(prompt))
    step = prompt[:, -1:]
    assert not torch.equal(layer(step), linear(step))  # a decoding step reads the int8 copy


def test_a_zero_row_stays_zero():
    linear = nn.Linear(32, 3, bias=False)
    with torch.no_grad():
        linear.weight[1] = 0
    out = Int8Linear(linear)(torch.randn(1, 32))
    assert torch.isfinite(out).all() and out[0, 1] == 0


def test_auto_quantizes_on_the_cpu_whatever_the_dtype(tiny, monkeypatch):
    model = tiny[0]
    assert quantizes("auto", model) and quantizes("int8", model) and not quantizes("native", model)
    assert quantizes("auto", model.to(torch.bfloat16))
    model.float()
    monkeypatch.setattr(type(model), "device", property(lambda self: torch.device("cuda")))
    assert not quantizes("auto", model) and quantizes("int8", model)


def test_a_width_the_kernel_cannot_read_keeps_its_own_weight():
    block = nn.Module()
    block.wide, block.narrow = nn.Linear(64, 8), nn.Linear(24, 8)  # the kernel crashes on a width of 24
    model = nn.Module()
    model.model = nn.Module()
    model.model.layers = nn.ModuleList([block])
    assert quantize_block_linears(model) == 1
    assert type(block.wide) is Int8Linear and type(block.narrow) is nn.Linear


def test_every_block_projection_is_replaced_and_nothing_else(tiny):
    model = copy.deepcopy(tiny[0])
    replaced = quantize_block_linears(model)
    assert replaced == 2 * 7  # two layers × q, k, v, o, gate, up, down
    assert not any(type(m) is nn.Linear for m in model.model.layers.modules())
    assert type(model.get_output_embeddings()) is nn.Linear  # the head and the embeddings stay


def test_a_loaded_int8_model_decodes_like_the_native_one(tiny_dir):
    from insabot.generation import generate_token_ids
    from insabot.models.describe import describe
    from insabot.models.loading import load

    config = ModelConfig(base_model=str(tiny_dir), dtype="bfloat16")
    native = load(dataclasses.replace(config, weights="native"), device="cpu")
    int8 = load(dataclasses.replace(config, weights="int8"), device="cpu")
    assert describe(int8)["weights"] == "int8" and describe(native)["weights"] == "native"
    assert describe(int8)["parameters"] == describe(native)["parameters"]
    inputs = native.tokenizer("안녕 오늘 뭐 해", return_tensors="pt")
    with torch.inference_mode():
        a, b = (m.model(**inputs).logits.float() for m in (native, int8))
    assert torch.allclose(a, b, atol=0.05 * a.abs().max().item())
    gen = GenerationConfig(max_new_tokens=6, do_sample=False)
    messages = [[{"role": "user", "content": "야 뭐해"}]]
    assert len(generate_token_ids(int8.model, int8.tokenizer, messages, gen)[0]) > 0
