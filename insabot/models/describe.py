"""Facts about a loaded model, for `insabot model info` and model cards."""

from __future__ import annotations

from typing import Any

from insabot.models.int8 import Int8Linear
from insabot.models.loading import LoadedModel
from insabot.models.output_vocab import TrimmedHead


def describe(loaded: LoadedModel) -> dict[str, Any]:
    model = loaded.model
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = base.config
    first_param = next(model.parameters())
    head = base.get_output_embeddings()
    return {
        "name": loaded.source.spec,
        "source": loaded.source.kind,
        "path": loaded.source.location,
        "architecture": (config.architectures or [type(base).__name__])[0],
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": str(first_param.dtype).removeprefix("torch."),
        "weights": "int8" if any(isinstance(m, Int8Linear) for m in model.modules()) else "native",
        "device": str(first_param.device),
        "vocab_size": config.vocab_size,
        "output_tokens": len(head.kept_ids) if isinstance(head, TrimmedHead) else config.vocab_size,
        "context_length": getattr(config, "max_position_embeddings", None),
        "chat_template": bool(loaded.tokenizer.chat_template),
        "adapter": loaded.adapter,
        "load_seconds": round(loaded.load_seconds, 2),
    }
