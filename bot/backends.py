"""Where `insabot serve` gets its replies: the embedded models in this process, or any OpenAI-compatible
server (vLLM, TGI, another insabot) when a deployment outgrows one CPU.

Both stream text pieces for a list of chat messages; the server in front (OpenAI API, Kakao skill, tone
and memory handling) does not care which one answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx

from insabot.bot.models import ModelChoice, ModelPool
from insabot.chat import Message
from insabot.config import GenerationConfig
from insabot.errors import InsabotError
from insabot.generation import encode_conversation, reranked_reply, stream_reply

SLOT_POLL_S = 0.1
"""How often a request waiting for a generation slot checks whether it was given up."""


class BackendError(InsabotError, RuntimeError):
    """The backend cannot answer (unknown model, remote server down or refusing)."""


class Backend(Protocol):
    def model_ids(self) -> list[str]: ...

    def stream(
        self, model_id: str, messages: list[Message], gen: GenerationConfig, stop_event: threading.Event
    ) -> Iterator[str]: ...

    def count_tokens(self, model_id: str, text: str) -> int | None: ...

    def prompt_tokens(self, model_id: str, messages: list[Message]) -> int | None:
        """The conversation's length in tokens as the model reads it (chat template included); None where the
        tokenizer lives elsewhere."""

    def context_length(self, model_id: str) -> int | None:
        """The most tokens the model takes in, where known."""


def model_id(choice: ModelChoice) -> str:
    """An OpenAI-style model id: the base alias, plus the adapter folder's name."""
    return f"{choice.base_model}+{Path(choice.adapter).name}" if choice.adapter else choice.base_model


class LocalBackend:
    """The models of a `ModelPool`, at most `concurrency` generations at once (more requests wait)."""

    def __init__(self, pool: ModelPool, concurrency: int):
        self.pool = pool
        self._labels = {model_id(choice): label for label, choice in pool.choices.items()}
        self._slots = threading.BoundedSemaphore(concurrency)

    def model_ids(self) -> list[str]:
        return list(self._labels)

    def _loaded(self, model: str):
        if model not in self._labels:
            raise BackendError(f"unknown model {model!r}; this server has: {', '.join(self._labels)}")
        return self.pool.get(self._labels[model])

    def stream(
        self, model: str, messages: list[Message], gen: GenerationConfig, stop_event: threading.Event
    ) -> Iterator[str]:
        loaded = self._loaded(model)
        # A request given up while it waited for a slot never starts: no one is left to read its reply.
        while not self._slots.acquire(timeout=SLOT_POLL_S):
            if stop_event.is_set():
                return
        try:
            if not stop_event.is_set():
                reply = reranked_reply if gen.candidates > 1 else stream_reply
                yield from reply(loaded.model, loaded.tokenizer, messages, gen, stop_event)
        finally:
            self._slots.release()

    def count_tokens(self, model: str, text: str) -> int | None:
        return len(self._loaded(model).tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt_tokens(self, model: str, messages: list[Message]) -> int | None:
        return encode_conversation(self._loaded(model).tokenizer, messages)["input_ids"].shape[-1]

    def context_length(self, model: str) -> int | None:
        return getattr(self._loaded(model).model.config.get_text_config(), "max_position_embeddings", None)


def request_body(model: str, messages: list[Message], gen: GenerationConfig) -> dict[str, Any]:
    """A streamed chat completion request with the settings the local backend would generate with."""
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": gen.max_new_tokens,
        "stream": True,
    }
    if gen.do_sample:
        body.update(temperature=gen.temperature, top_p=gen.top_p)
    else:
        body["temperature"] = 0.0
    if gen.repetition_penalty != 1.0:
        # Not in OpenAI's API: an extra field vLLM (and insabot) read. 1.0, no penalty, is left out, so a
        # server that refuses unknown fields still works. vLLM's penalty covers end-of-turn tokens too, as
        # generation.penalize_end_tokens: true does here.
        body["repetition_penalty"] = gen.repetition_penalty
    if gen.seed is not None:
        body["seed"] = gen.seed
    return body


class RemoteBackend:
    """An OpenAI-compatible server (`POST /v1/chat/completions` with `stream: true`, `GET /v1/models`)."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 120.0):
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def model_ids(self) -> list[str]:
        try:
            response = self._client.get("/v1/models")
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise BackendError(f"backend {self.base_url}: cannot list models ({exc})") from exc
        return [model["id"] for model in response.json()["data"]]

    def stream(
        self, model: str, messages: list[Message], gen: GenerationConfig, stop_event: threading.Event
    ) -> Iterator[str]:
        body = request_body(model, messages, gen)
        try:
            with self._client.stream("POST", "/v1/chat/completions", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    raise BackendError(
                        f"backend {self.base_url}: {response.status_code} {response.text[:300]}"
                    )
                for line in response.iter_lines():
                    if stop_event.is_set():
                        return  # leaving the block closes the connection: the backend stops generating
                    if not line.startswith("data:"):
                        continue
                    data = line.removeprefix("data:").strip()
                    if data == "[DONE]":
                        return
                    delta = json.loads(data)["choices"][0].get("delta", {}).get("content")
                    if delta:
                        yield delta
        except httpx.HTTPError as exc:
            raise BackendError(f"backend {self.base_url}: {exc}") from exc

    def count_tokens(self, model: str, text: str) -> int | None:
        return None  # the tokenizer lives on the backend

    def prompt_tokens(self, model: str, messages: list[Message]) -> int | None:
        return None  # the backend server bounds its prompts by its own context length

    def context_length(self, model: str) -> int | None:
        return None
