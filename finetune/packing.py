"""Pack rendered conversations into fixed-budget sequences and collate them into batches.

Attention never crosses conversations: each conversation's position ids restart at 0, and
transformers (>= 5) builds a block-diagonal causal mask from such position ids when no attention
mask is passed. Padding is one more "conversation" (positions restart, labels ignored).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from insabot.finetune.render import IGNORE, Example


@dataclass
class Packed:
    input_ids: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    position_ids: list[int] = field(default_factory=list)
    conversations: int = 0

    def add(self, example: Example) -> None:
        self.input_ids += example.input_ids
        self.labels += example.labels
        self.position_ids += range(len(example.input_ids))
        self.conversations += 1

    def __len__(self) -> int:
        return len(self.input_ids)


def pack(examples: Sequence[Example], max_length: int, packing: bool = True) -> list[Packed]:
    """Greedy in-order packing: a conversation goes into the current sequence if it fits, else starts
    the next one. Without `packing` every conversation is its own sequence."""
    sequences: list[Packed] = []
    current = Packed()
    for example in examples:
        if current.conversations and (not packing or len(current) + len(example.input_ids) > max_length):
            sequences.append(current)
            current = Packed()
        current.add(example)
    if current.conversations:
        sequences.append(current)
    return sequences


def collate(sequences: Sequence[Packed], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(s) for s in sequences)
    input_ids, labels, positions = [], [], []
    for sequence in sequences:
        pad = width - len(sequence)
        input_ids.append(sequence.input_ids + [pad_id] * pad)
        labels.append(sequence.labels + [IGNORE] * pad)
        positions.append(sequence.position_ids + list(range(pad)))
    return {
        "input_ids": torch.tensor(input_ids),
        "labels": torch.tensor(labels),
        "position_ids": torch.tensor(positions),
    }
