"""Chat formatting shared by the UI, the terminal chat, training data and the eval harness.

The persona system prompts live here and nowhere else: the bundled dataset is written with exactly
these strings, so the tone control in the UI selects the prompt the model was trained with.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from insabot.errors import InsabotError

SYSTEM_PROMPTS: dict[str, str] = {
    "banmal": "너는 인싸봇이야. 트렌드랑 밈에 빠삭한 카톡 친구처럼 반말로 짧고 센스 있게 답해.",
    "jondaetmal": "너는 인싸봇이야. 트렌드랑 밈에 빠삭한 카톡 친구처럼 짧고 센스 있게 답하되, 반드시 존댓말로 답해.",
}
TONE_LABELS: dict[str, str] = {"banmal": "반말", "jondaetmal": "존댓말"}
# The one list of tone names accepted in user data (dataset rows, prompt files, probe sets): people write
# 반말/존댓말 or English words, not our labels. Each maps to a stable label of `TONE_LABELS`; Latin names
# match in any case. Command-line flags and config keys stay strict (`banmal` | `jondaetmal`).
TONE_ALIASES: dict[str, str] = {
    "banmal": "banmal",
    "반말": "banmal",
    "반말체": "banmal",
    "해체": "banmal",
    "casual": "banmal",
    "informal": "banmal",
    "jondaetmal": "jondaetmal",
    "존댓말": "jondaetmal",
    "존대": "jondaetmal",
    "존대말": "jondaetmal",
    "해요체": "jondaetmal",
    "합쇼체": "jondaetmal",
    "polite": "jondaetmal",
    "formal": "jondaetmal",
    "honorific": "jondaetmal",
}

Message = dict[str, str]


class ChatInputError(InsabotError, ValueError):
    """A user message the bot refuses to process (empty, too long, unknown tone)."""


def system_prompt_for(tone: str, override: str | None = None) -> str:
    if override and override.strip():
        return nfc(override.strip())
    if tone not in SYSTEM_PROMPTS:
        raise ChatInputError(f"unknown tone {tone!r}; choose one of {', '.join(SYSTEM_PROMPTS)}")
    return SYSTEM_PROMPTS[tone]


def tone_of(conversation: Iterable[Message]) -> str | None:
    """The tone whose persona prompt is the conversation's system prompt; None for a custom prompt (or none),
    whose tone nothing can know."""
    system = [m["content"] for m in conversation if m["role"] == "system"]
    return next((tone for tone, prompt in SYSTEM_PROMPTS.items() if system == [prompt]), None)


def canonical_tone(name: Any) -> str | None:
    """The stable label (`banmal` | `jondaetmal`) of a tone name from user data, or None when unknown."""
    return TONE_ALIASES.get(nfc(name).strip().lower()) if isinstance(name, str) else None


def unknown_tone_message(name: Any) -> str:
    return f"unknown tone {name!r} (expected one of {', '.join(TONE_ALIASES)})"


def nfc(text: str) -> str:
    """IMEs and pasted text can deliver decomposed Hangul jamo; the tokenizer expects composed syllables."""
    return unicodedata.normalize("NFC", text)


def message_text(content: Any) -> str:
    """Plain text of a message's content: a string, or a list of parts as the Gradio Chatbot sends it."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return str(content.get("text") or "") if content.get("type", "text") == "text" else ""
    if isinstance(content, Iterable):
        return "".join(message_text(part) for part in content)
    return str(content)


def normalize_history(history: Iterable[Mapping[str, Any]] | None) -> list[Message]:
    """`{"role", "content"}` messages with NFC text; drops UI-only fields and empty turns."""
    messages: list[Message] = []
    for item in history or ():
        role = item.get("role")
        text = nfc(message_text(item.get("content"))).strip()
        if role in ("user", "assistant") and text:
            messages.append({"role": role, "content": text})
    return messages


def validate_user_message(message: str, max_chars: int) -> str:
    text = nfc(message_text(message)).strip()
    if not text:
        raise ChatInputError("the message is empty")
    check_length(text, max_chars)
    check_unicode(text)
    return text


def check_length(text: str, max_chars: int) -> None:
    """Refuse a message over `max_chars` (chat.max_message_chars) rather than silently cut it. Every front end
    checks before the model sees the text: a megabyte of it would take gigabytes to encode and attend over."""
    if len(text) > max_chars:
        raise ChatInputError(
            f"the message has {len(text)} characters; the limit is {max_chars} (chat.max_message_chars)"
        )


def check_unicode(text: str) -> None:
    """Refuse a lone UTF-16 surrogate (JSON's "\\ud800", half an emoji cut by a client): it is not text, and
    the tokenizer cannot encode it."""
    lone = next((char for char in text if "\ud800" <= char <= "\udfff"), None)
    if lone is not None:
        raise ChatInputError(
            f"the message holds a lone surrogate U+{ord(lone):04X}, which is not valid Unicode"
        )


def build_conversation(
    message: str, history: Iterable[Mapping[str, Any]] | None, system_prompt: str
) -> list[Message]:
    return [
        {"role": "system", "content": system_prompt},
        *normalize_history(history),
        {"role": "user", "content": message},
    ]
