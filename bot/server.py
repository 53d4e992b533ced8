"""`insabot serve`: one ASGI app with an OpenAI-compatible chat API and a KakaoTalk channel skill.

Both answer through a `Backend` (the embedded models, or any OpenAI-compatible server). Conversations are
built as the web chat builds them (`build_conversation`, `ChatSettings`): tone works as in training, the system
message selects it; a request without one gets the configured prompt (`chat.system_prompt`, else the tone's
persona prompt). Generation settings are the config's, as the chat's, with the request's overrides.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from insabot.bot.backends import Backend, BackendError
from insabot.bot.kakao import (
    RESET_UTTERANCE,
    CallbackRefused,
    ConversationMemory,
    SkillPayloadError,
    SkillRequest,
    callback_acknowledgement,
    callback_target,
    parse_skill_request,
    skill_response,
)
from insabot.bot.respond import ChatSettings
from insabot.chat import (
    ChatInputError,
    Message,
    build_conversation,
    check_length,
    check_unicode,
    message_text,
    nfc,
    validate_user_message,
)
from insabot.config import Config, GenerationConfig, ServeConfig
from insabot.errors import InsabotError

log = logging.getLogger("insabot.serve")
FALLBACK_REPLY = "앗, 지금 답장을 못 만들었어 😢 잠시 후에 다시 보내줄래?"


class ApiError(Exception):
    """An error answered in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

    def __init__(
        self, status: int, message: str, type_: str = "invalid_request_error", code: str | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.type, self.code = status, message, type_, code

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.type, "param": None, "code": self.code}}
        return JSONResponse(body, status_code=self.status)


# --- OpenAI request shapes ----------------------------------------------------------------------------


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(strict=True)

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    # Other OpenAI fields (user, logprobs, ...) are accepted and unused. Strict types: "max_tokens": "10" or
    # "stream": "yes" is a client's bug to report, not to guess at.
    model_config = ConfigDict(extra="ignore", strict=True)

    model: str | None = None
    messages: list[ChatMessageIn] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=4096)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    repetition_penalty: float | None = Field(default=None, gt=0)
    """Not OpenAI's, but vLLM's extra field, which `--backend-url` sends: one insabot can front another."""
    stream: bool = False
    n: int = Field(default=1, ge=1, le=1)


class ExposedSkillError(InsabotError):
    """The Kakao skill would be reachable from other machines without a token."""


@dataclass
class Settings:
    """What the server needs beyond the backend: config, secrets and switches from the command line. Settings
    that would expose the skill without a token cannot be made, so `insabot serve` fails before loading a model."""

    config: Config
    api_key: str | None = None
    kakao_token: str | None = None
    log_text: bool = False

    def __post_init__(self) -> None:
        host = self.config.serve.host
        if not self.kakao_token and not _is_loopback(host):
            raise ExposedSkillError(
                f"serve.host {host} is reachable from other machines, and without --kakao-token "
                "($INSABOT_KAKAO_TOKEN) anyone there could use the Kakao skill; set a token, or bind 127.0.0.1"
            )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # any other host name may resolve to a public address


# --- pure helpers -------------------------------------------------------------------------------------


def conversation_for(request: ChatCompletionRequest, chat: ChatSettings) -> list[Message]:
    """The request as the web chat builds a conversation: NFC text, content parts flattened, every message
    within chat.max_message_chars; system (or `developer`) messages take the persona prompt's place, and
    without one the configured prompt (`chat.system_prompt`, else the tone's) goes first.

    Normalised where the intent is clear, since chat templates take one system prompt first and then strictly
    alternating user/assistant turns (Gemma's raises on anything else): system messages, wherever they
    stand, are joined in order into that first prompt; empty assistant turns, and assistant turns before the
    first user turn (a greeting the model cannot be shown before a user spoke), are dropped; consecutive turns
    of one role are merged with a newline. A user message without text, text that is not valid Unicode or a
    conversation that does not end with the user is refused (400)."""
    limit = chat.chat.max_message_chars
    system: list[str] = []
    turns: list[Message] = []
    for index, message in enumerate(request.messages):
        text = nfc(message_text(message.content)).strip()
        try:
            check_length(text, limit)
            check_unicode(text)
            if message.role == "user" and not text:
                raise ChatInputError("the message has no text (empty, null or only non-text parts)")
        except ChatInputError as exc:
            raise ApiError(400, f"messages[{index}]: {exc}") from None
        if message.role in ("system", "developer"):
            system.append(text)
        elif not text or (message.role == "assistant" and not turns):
            continue
        elif turns and turns[-1]["role"] == message.role:
            turns[-1]["content"] += "\n" + text
        else:
            turns.append({"role": message.role, "content": text})
    if not turns or turns[-1]["role"] != "user":
        raise ApiError(400, "the last message must come from the user")
    system_prompt = "\n\n".join(text for text in system if text) or chat.system_prompt
    return build_conversation(turns[-1]["content"], turns[:-1], system_prompt)


def generation_for(request: ChatCompletionRequest, base: GenerationConfig) -> GenerationConfig:
    max_tokens = request.max_completion_tokens or request.max_tokens or base.max_new_tokens
    gen = replace(base, max_new_tokens=max_tokens)
    if request.temperature is not None:
        gen = replace(
            gen, do_sample=request.temperature > 0, temperature=request.temperature or base.temperature
        )
    if request.top_p is not None:
        gen = replace(gen, top_p=request.top_p)
    if request.seed is not None:
        gen = replace(gen, seed=request.seed)
    if request.repetition_penalty is not None:
        gen = replace(gen, repetition_penalty=request.repetition_penalty)
    return gen


class UntilStop:
    """Passes text pieces through until a stop string appears (it and what follows are dropped). Text that
    could be the start of a stop string is held back until the next piece decides."""

    def __init__(self, pieces: Iterator[str], stops: list[str]):
        self.pieces, self.stops = pieces, [s for s in stops if s]
        self.hit = False

    def __iter__(self) -> Iterator[str]:
        buffer = ""
        try:
            for piece in self.pieces:
                buffer += piece
                cuts = [i for i in (buffer.find(stop) for stop in self.stops) if i >= 0]
                if cuts:
                    self.hit = True
                    if buffer[: min(cuts)]:
                        yield buffer[: min(cuts)]
                    return
                keep = max((_overlap(buffer, stop) for stop in self.stops), default=0)
                if len(buffer) > keep:
                    yield buffer[: len(buffer) - keep]
                    buffer = buffer[len(buffer) - keep :]
            if buffer:
                yield buffer
        finally:
            close = getattr(self.pieces, "close", None)
            if close:
                close()  # stops the generation behind the pieces


def _overlap(text: str, stop: str) -> int:
    """Length of the longest end of `text` that is a proper beginning of `stop`."""
    return next((n for n in range(min(len(stop) - 1, len(text)), 0, -1) if text.endswith(stop[:n])), 0)


# --- the app ------------------------------------------------------------------------------------------


def create_app(backend: Backend, settings: Settings) -> FastAPI:
    config = settings.config
    chat = ChatSettings.from_config(config)
    app = FastAPI(title="insabot", version="1", docs_url=None, redoc_url=None)
    app.add_middleware(BodyLimit, limit=config.serve.max_body_bytes)
    memory = ConversationMemory(
        config.serve.memory_turns, config.serve.memory_ttl_s, config.serve.memory_max_users
    )
    callbacks: set[asyncio.Task] = set()
    model_ids = backend.model_ids()

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if part != "body")
        return ApiError(400, f"{where}: {first['msg']}" if where else first["msg"]).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        return ApiError(exc.status_code, str(exc.detail), "invalid_request_error").response()

    def check_api_key(request: Request) -> None:
        if settings.api_key and request.headers.get("authorization") != f"Bearer {settings.api_key}":
            raise ApiError(401, "Incorrect API key provided.", "authentication_error", "invalid_api_key")

    def pick_model(requested: str | None) -> str:
        if requested in (None, "", "insabot"):
            return model_ids[0]
        if requested not in model_ids:
            raise ApiError(404, f"The model {requested!r} does not exist; available: {', '.join(model_ids)}",
                           code="model_not_found")  # fmt: skip
        return requested

    @app.get("/v1/models")
    def list_models(request: Request):
        check_api_key(request)
        created = int(time.time())
        data = [{"id": m, "object": "model", "created": created, "owned_by": "insabot"} for m in model_ids]
        return {"object": "list", "data": data}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request, body: ChatCompletionRequest):
        check_api_key(request)
        model = pick_model(body.model)
        messages = conversation_for(body, chat)
        gen = generation_for(body, chat.generation)
        stops = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
        stop_event = threading.Event()
        pieces = UntilStop(backend.stream(model, messages, gen, stop_event), stops)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if settings.log_text:
            log.info("chat %s: %s", completion_id, messages[-1]["content"])
        if body.stream:
            # a sync generator: Starlette iterates it in a worker thread, off the event loop
            sse = _sse(pieces, completion_id, model, gen, backend, stop_event)
            return StreamingResponse(sse, media_type="text/event-stream")
        try:
            text = await run_in_threadpool(lambda: "".join(pieces))
        except BackendError as exc:
            raise ApiError(502, str(exc), "api_error") from exc
        completion_tokens = backend.count_tokens(model, text)
        finish = _finish_reason(pieces.hit, completion_tokens, gen)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
            ],
            "usage": _usage(backend, model, messages, completion_tokens),
        }

    @app.post("/kakao/skill")
    @app.post("/kakao/skill/{token}")
    async def kakao_skill(request: Request, token: str | None = None):
        if settings.kakao_token and settings.kakao_token not in (
            token,
            request.headers.get("x-insabot-token"),
        ):
            raise ApiError(
                401, "wrong or missing skill token (path /kakao/skill/TOKEN or header X-Insabot-Token)"
            )
        try:
            skill = parse_skill_request(json.loads(await request.body()))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"the body is not JSON: {exc}") from exc
        except RecursionError:
            raise ApiError(400, "the body is not JSON a skill payload could be: nested too deeply") from None
        except SkillPayloadError as exc:
            raise ApiError(400, f"not a Kakao skill payload: {exc}") from exc
        if settings.log_text:
            log.info("kakao %s: %s", skill.user_id, skill.utterance)
        if skill.utterance == RESET_UTTERANCE:
            memory.reset(skill.user_id)
            return skill_response("좋아, 처음부터 다시 하자! 무슨 얘기할래?")
        limit = chat.chat.max_message_chars
        try:
            utterance = validate_user_message(skill.utterance, limit)
        except ChatInputError:
            # A Kakao user sees the skill's answer, not an HTTP status: say what went wrong in the chat.
            return skill_response(f"메시지가 비었거나 너무 길어 (최대 {limit}자). 짧게 다시 보내줘!")
        callback = _callback_target(skill, config.serve)
        messages = build_conversation(utterance, memory.history(skill.user_id), chat.system_prompt)
        job = ReplyJob(backend, model_ids[0], messages, chat.generation)
        if await job.wait(config.serve.kakao_budget_s):
            return skill_response(job.finish(memory, skill.user_id, skill.utterance))
        if callback is not None:
            task = asyncio.create_task(
                _deliver_callback(job, memory, skill, callback, config.serve.kakao_callback_timeout_s)
            )
            callbacks.add(task)
            task.add_done_callback(callbacks.discard)
            return callback_acknowledgement()
        job.stop_event.set()  # no (allowed) callback: answer within the budget with what is ready
        await job.wait()
        return skill_response(job.finish(memory, skill.user_id, skill.utterance))

    return app


def _callback_target(skill: SkillRequest, serve_config: ServeConfig) -> httpx.URL | None:
    """Where a late reply may go: the request's callback URL if the allowlist admits it, else None (the
    skill then answers within its budget, as without a callback)."""
    if skill.callback_url is None:
        return None
    try:
        return callback_target(
            skill.callback_url, serve_config.kakao_callback_hosts, serve_config.kakao_callback_allow_http
        )
    except CallbackRefused as exc:
        log.warning("kakao callbackUrl refused, answering without it: %s", exc)
        return None


def _sse(
    pieces: UntilStop, completion_id: str, model: str, gen, backend: Backend, stop_event
) -> Iterator[str]:
    def chunk(delta: dict, finish: str | None = None) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    text = ""
    try:
        yield chunk({"role": "assistant", "content": ""})
        for piece in pieces:
            text += piece
            yield chunk({"content": piece})
        yield chunk({}, _finish_reason(pieces.hit, backend.count_tokens(model, text), gen))
    except Exception as exc:  # the 200 is sent: an error event is the only way left to tell the client
        if isinstance(exc, BackendError):
            message = str(exc)
        else:
            log.exception("chat %s: generation failed mid-stream", completion_id)
            message = "the reply could not be generated (the server logged why)"
        error = {"error": {"message": message, "type": "api_error", "param": None, "code": None}}
        yield f"data: {json.dumps(error, ensure_ascii=False)}\n\n"
    finally:
        stop_event.set()  # a client that disconnects mid-stream stops the generation too
    yield "data: [DONE]\n\n"


def _finish_reason(stop_hit: bool, completion_tokens: int | None, gen: GenerationConfig) -> str:
    if stop_hit:
        return "stop"
    return "length" if completion_tokens is not None and completion_tokens >= gen.max_new_tokens else "stop"


def _usage(
    backend: Backend, model: str, messages: list[Message], completion_tokens: int | None
) -> dict | None:
    if completion_tokens is None:
        return None
    prompt_tokens = sum(backend.count_tokens(model, m["content"]) or 0 for m in messages)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


class ReplyJob:
    """One Kakao reply generating in its own thread, so the request can answer (or hand over to the
    callback) when the time budget runs out while generation goes on. Waiting costs no thread: the
    generation thread wakes the event loop when it ends."""

    def __init__(self, backend: Backend, model: str, messages: list[Message], gen: GenerationConfig):
        self.text = ""
        self.error: BaseException | None = None
        self.stop_event = threading.Event()
        self._finished = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._args = (model, messages, gen)
        self._backend = backend
        threading.Thread(target=self._run, name="insabot-kakao-reply", daemon=True).start()

    def _run(self) -> None:
        try:
            for piece in self._backend.stream(*self._args, self.stop_event):
                self.text += piece
        except Exception as exc:  # reported to the user by finish()
            log.exception("kakao reply failed")
            self.error = exc
        finally:
            self._loop.call_soon_threadsafe(self._finished.set)

    async def wait(self, timeout: float | None = None) -> bool:
        """True once the reply is complete; False if `timeout` seconds passed first."""
        try:
            await asyncio.wait_for(self._finished.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def finish(self, memory: ConversationMemory, user_id: str, utterance: str) -> str:
        """The reply to send; a complete exchange is remembered for the user's next message."""
        reply = self.text.strip()
        if self.error is not None or not reply:
            return FALLBACK_REPLY
        memory.add(user_id, utterance, reply)
        return reply


async def _deliver_callback(
    job: ReplyJob, memory: ConversationMemory, skill: SkillRequest, url: httpx.URL, timeout_s: float
) -> None:
    if not await job.wait(timeout_s):
        job.stop_event.set()  # the callback URL expires: send what is ready
        await job.wait()
    body = skill_response(job.finish(memory, skill.user_id, skill.utterance))
    # The URL's path is Kakao's one-time key: logs name the host only. A redirect is not followed, since it
    # could lead anywhere the allowlist does not.
    try:
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
            response = await client.post(url, json=body)
        log.info("kakao callback to %s: HTTP %s %s", url.host, response.status_code, response.text[:200])
    except httpx.HTTPError as exc:
        log.warning("kakao callback to %s failed: %s", url.host, exc)


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, whether announced by Content-Length or not."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and int(declared) > self.limit:
            return await self._too_large().response()(scope, receive, send)
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                # an HTTPException: FastAPI re-raises those from body parsing, and the app's handler
                # answers it in OpenAI's error shape
                raise StarletteHTTPException(413, self._too_large().message)
            return message

        await self.app(scope, counting_receive, send)

    def _too_large(self) -> ApiError:
        return ApiError(413, f"the request body is over {self.limit} bytes (serve.max_body_bytes)")


def local_backend(config: Config) -> Backend:
    """The configured model first (loaded now, so a bad path fails at start), then every other base and
    adapter the web chat would offer, loaded on first request."""
    from insabot.bot.backends import LocalBackend
    from insabot.bot.models import ModelPool, discover_choices

    pool = ModelPool(config.model, discover_choices(config.model, config.ui.model_dirs))
    pool.get(pool.labels[0])
    return LocalBackend(pool, config.serve.concurrency_limit)


_SKILL_TOKEN_IN_PATH = re.compile(r"(/kakao/skill/)[^/?#\s]+")


class RedactSkillToken(logging.Filter):
    """uvicorn's access lines (`--log-text`) carry the request path, and with it a skill token passed as
    /kakao/skill/TOKEN: the token is masked before any handler sees the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SKILL_TOKEN_IN_PATH.sub(r"\1***", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the `insabot` loggers on its stderr handler (so `--log-text` lines and warnings
    print) and skill tokens masked in the access lines."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"redact_skill_token": {"()": RedactSkillToken}}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_skill_token"]
    config["loggers"]["insabot"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def build_server(backend: Backend, settings: Settings) -> uvicorn.Server:
    """The server `serve` runs. Making its config sets up logging (once, here), then the start-up warnings
    are given through it."""
    serve_config = settings.config.serve
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(backend, settings),
            host=serve_config.host,
            port=serve_config.port,
            log_config=log_config(),
            # The access log records every request path: off unless asked, as user text is.
            access_log=settings.log_text,
        )
    )
    if not settings.kakao_token:
        log.warning(
            "NO KAKAO TOKEN: /kakao/skill answers anyone who reaches this port; set --kakao-token "
            "($INSABOT_KAKAO_TOKEN) before a proxy or tunnel points here"
        )
    return server


def serve(backend: Backend, settings: Settings) -> None:
    build_server(backend, settings).run()
