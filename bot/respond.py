"""The bot's one reply function. It knows nothing of Gradio or terminals: UIs adapt to it."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from insabot.chat import build_conversation, system_prompt_for, validate_user_message
from insabot.config import ChatConfig, Config, GenerationConfig
from insabot.generation import reranked_reply, stream_reply
from insabot.models.loading import LoadedModel


@dataclass
class ChatSettings:
    """What a user can change between two messages: tone/persona and sampling."""

    chat: ChatConfig = field(default_factory=ChatConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)

    @classmethod
    def from_config(cls, config: Config) -> ChatSettings:
        return cls(chat=config.chat, generation=config.generation)

    @property
    def system_prompt(self) -> str:
        return system_prompt_for(self.chat.tone, self.chat.system_prompt)


def respond(
    message: str,
    history: list[Mapping[str, Any]] | None,
    settings: ChatSettings,
    loaded: LoadedModel,
    stop_event: threading.Event | None = None,
) -> Iterator[str]:
    """Yield the growing reply to `message` after `history` (each yield is the whole reply so far). With
    `generation.candidates` > 1 the reply is reranked and comes whole, in one yield."""
    text = validate_user_message(message, settings.chat.max_message_chars)
    conversation = build_conversation(text, history, settings.system_prompt)
    reply_pieces = reranked_reply if settings.generation.candidates > 1 else stream_reply
    reply = ""
    stop_event = stop_event or threading.Event()
    for piece in reply_pieces(loaded.model, loaded.tokenizer, conversation, settings.generation, stop_event):
        reply += piece
        yield reply
