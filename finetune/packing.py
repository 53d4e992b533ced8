"""Pack rendered conversations into fixed-budget sequences and collate them into batches.

Attention never crosses conversations: each conversation's position ids restart at 0; the training
attention (finetune/attention.py) cuts the sequence there, and transformers' (>= 5) own
implementations build a block-diagonal causal mask from such position ids when no attention mask is
passed. Padding is one more "conversation" (positions restart, labels ignored).
"""

from __future__ import annotations

import bisect
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
    """Best-fit decreasing: longest conversation first, each into the fullest sequence it still fits,
    else a new one. In-order greedy packing filled 78 % of SmolLM2's 1024-token rows on the bundled
    data; best-fit decreasing fills 96 %, and every unfilled position is compute spent on padding.
    Ties keep the input order, so a shuffled input gives a reproducible, shuffled packing. Without
    `packing` every conversation is its own sequence, in input order."""
    if not packing:
        return [_single(example) for example in examples]
    sequences: list[Packed] = []
    free: list[tuple[int, int]] = []  # (free positions, sequence index), ascending
    for example in sorted(examples, key=lambda e: len(e.input_ids), reverse=True):
        size = len(example.input_ids)
        slot = bisect.bisect_left(free, (size, -1))
        if slot == len(free):
            sequences.append(Packed())
            index, room = len(sequences) - 1, max(max_length, size)
        else:
            room, index = free.pop(slot)
        sequences[index].add(example)
        bisect.insort(free, (room - size, index))
    return sequences


def _single(example: Example) -> Packed:
    sequence = Packed()
    sequence.add(example)
    return sequence


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
