"""Int8 weights for CPU decoding: the transformer blocks' linear layers keep one int8 byte per weight and one
scale per output row, and multiply through PyTorch's own int8-weight kernel (`torch._weight_int8pack_mm`, the
kernel gpt-fast uses), with activations in bf16.

Why by hand: batch-1 decoding on a CPU is a chain of matrix-vector products, bound by the bytes of weight read
per token. Halving them from bf16 halves that time; measured on 2 AMD EPYC cores (benchmarks/decode.py), Gemma-3-
270M's 126 block projections per token: bf16 20.8 ms, this kernel 9.0 ms. torchao 0.18's `Int8WeightOnlyConfig`
(the library route) gave no gain here (27 → 29 tokens/s end to end vs 45–50 with this kernel). Fed fp32 activations
the kernel is slower than plain fp32 (105 vs 42 ms), fed bf16 ones it is fast on AVX2 too (ATen restricted to
AVX2: 20.8 ms against fp32's 44.9), so an fp32 model (a CPU without AVX512-BF16) casts each decoding step's
activations to bf16 for it and the result back.

The kernel pays only while few rows go through: the same 126 projections at 1 / 4 / 8 / 16 / 64 / 256 rows took
7.4 / 10.5 / 19.9 / 30.3 / 97.4 / 390 ms against bf16's 15.5 / 17.7 / 20.5 / 23.6 / 46.6 / 165 ms. So a layer keeps its
own weight beside the int8 copy (+50 % of the block weights' bf16 memory, +25 % of fp32's) and multiplies a prompt's
prefill, a reply's scoring or a large batch with it, exactly as without int8: only decoding steps of up to
INT8_MAX_ROWS rows (batch-1 chat, N = 4 reranking candidates) read the int8 copy.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

INT8_MAX = 127
INT8_MAX_ROWS = 8  # at 8 rows the two tie; from 16 on, bf16's matrix multiply is faster (measured above)
# The kernel reads each weight row in blocks: with an input width that is not a multiple of 16 its AVX-512 path
# returns garbage or crashes the process (seen with widths 8, 12, 24, 40, 100). Real models' widths are multiples
# of 64; a layer that is not a multiple of 32 keeps only its own weight.
INT8_WIDTH_MULTIPLE = 32


class Int8Linear(nn.Linear):
    """`nn.Linear` for inference that also holds its weight as symmetric per-output-row int8 (error ~0.8 % of the
    layer's output) and uses it for inputs of at most INT8_MAX_ROWS rows."""

    def __init__(self, linear: nn.Linear):
        super().__init__(linear.in_features, linear.out_features, bias=linear.bias is not None, device="meta")
        self.weight, self.bias = linear.weight, linear.bias
        weight = linear.weight.detach().float()
        scale = weight.abs().amax(dim=1).clamp(min=torch.finfo(torch.float32).tiny) / INT8_MAX
        self.register_buffer("weight_int8", torch.round(weight / scale[:, None]).to(torch.int8))
        self.register_buffer("scale", scale.to(torch.bfloat16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        if rows.shape[0] > INT8_MAX_ROWS:
            return super().forward(x)
        out = torch._weight_int8pack_mm(rows.to(torch.bfloat16), self.weight_int8, self.scale).to(x.dtype)
        out = out.view(*x.shape[:-1], self.out_features)
        return out if self.bias is None else out + self.bias


def quantizes(setting: str, model: Any) -> bool:
    """Whether `model.weights` (auto | int8 | native) gives this loaded model's block weights an int8 copy. `auto`:
    on a CPU (the kernel is PyTorch's CPU kernel; a GPU has the bandwidth), whatever the dtype."""
    if setting == "auto":
        return model.device.type == "cpu"
    return setting == "int8"


def quantize_block_linears(model: Any) -> int:
    """Replace every `nn.Linear` inside the transformer blocks (attention and MLP projections) by an `Int8Linear`;
    the embeddings and the output head stay as they are (the input side reads every token; the trimmed head is
    small and decides which token comes), and so do layers of a width the kernel cannot read (INT8_WIDTH_MULTIPLE).
    Returns how many layers were replaced."""
    replaced = 0
    for block in model.model.layers:
        for parent in list(block.modules()):
            for name, child in list(parent.named_children()):
                if type(child) is nn.Linear and child.in_features % INT8_WIDTH_MULTIPLE == 0:
                    setattr(parent, name, Int8Linear(child))
                    replaced += 1
    return replaced
