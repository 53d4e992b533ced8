"""`insabot serve`: one ASGI app with an OpenAI-compatible chat API and a KakaoTalk channel skill.

Both answer through a `Backend` (the embedded models, or any OpenAI-compatible server). Conversations are
built as the web chat builds them (`build_conversation`, `ChatSettings`): tone works as in training, the system
message selects it; a request without one gets the configured prompt (`chat.system_prompt`, else the tone's
persona prompt). Generation settings are the config's, as the chat's, with the request's overrides.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ipaddress
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
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
    BUSY_NOTICES,
    RESET_UTTERANCE,
    CallbackRefused,
    ConversationMemory,
    SkillPayloadError,
    SkillRequest,
    callback_acknowledgement,
    callback_target,
    parse_skill_request,
    plan_card,
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
from insabot.generation import check_generation
from insabot.kakao_export import KakaoFormatError
from insabot.plan import PlanInputError, parse_now, plan_message, plan_text, to_ics

log = logging.getLogger("insabot.serve")
FALLBACK_REPLY = "앗, 지금 답장을 못 만들었어 😢 잠시 후에 다시 보내줄래?"


class ApiError(Exception):
    """An error answered in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

    def __init__(
        self, status: int, message: str, type_: str = "invalid_request_error", code: str | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.type, self.code = status, message, type_, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": None, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


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


class PlanRequest(BaseModel):
    """`POST /v1/plan`: chat text (plain lines or a KakaoTalk export) and the reference time of plain lines."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str
    now: str | None = None
    """ISO 8601; without an offset Asia/Seoul; default the server's current time."""
    ics: bool = False
    """Also return the events as an .ics calendar (text)."""


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
    if request.stream or not gen.do_sample:
        # a streamed reply cannot wait for whole candidates to rerank, and greedy ones would all be the same
        gen = replace(gen, candidates=1)
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


# --- bounded work: admission, one thread per generation, stopping -------------------------------------

DISCONNECT_POLL_S = 0.1
"""How often a /v1 request checks, while its reply generates, that its client is still connected."""


class Admission:
    """At most `capacity` generations admitted at once, running or waiting for a slot (serve.concurrency_limit
    + serve.max_queue): one more is turned away at once instead of waiting without end."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._free = threading.BoundedSemaphore(capacity)

    def enter(self) -> bool:
        return self._free.acquire(blocking=False)

    def leave(self) -> None:
        self._free.release()


class GenerationJob:
    """One reply generating in its own thread, which always drives the backend's stream to its end: the request
    waits, streams or hands over to a callback from the event loop, and stopping is a flag (`stop`) the
    generation checks before each layer of the model. No stream is ever abandoned half-read to the garbage collector, whose
    finalizer could run in the generation thread and fail to join it ('cannot join current thread').
    Waiting costs no thread: the generation thread wakes the event loop."""

    def __init__(self, pieces: UntilStop, stop_event: threading.Event, on_end: Callable[[], None]):
        self.text = ""
        self.error: Exception | None = None
        self.stopped = False
        """Set by `stop`: the text is not the whole reply."""
        self._pieces, self._stop_event, self._on_end = pieces, stop_event, on_end
        self._loop = asyncio.get_running_loop()
        self._finished = asyncio.Event()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._run, name="insabot-reply", daemon=True).start()

    @property
    def stop_hit(self) -> bool:
        """A stop string of the request ended the reply."""
        return self._pieces.hit

    def stop(self) -> None:
        self.stopped = True
        self._stop_event.set()

    def _run(self) -> None:
        try:
            for piece in self._pieces:
                self.text += piece
                self._notify(self._queue.put_nowait, piece)
        except BackendError as exc:  # expected (a remote backend down or refusing): reported, no traceback
            log.warning("generation failed: %s", exc)
            self.error = exc
        except Exception as exc:  # a bug: reported to the client without its details, logged with them
            log.exception("generation failed")
            self.error = exc
        finally:
            self._on_end()
            self._notify(self._end)

    def _notify(self, callback: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed (the server shut down): no one waits now
            self._loop.call_soon_threadsafe(callback, *args)

    def _end(self) -> None:
        self._finished.set()
        self._queue.put_nowait(None)

    async def wait(self, timeout: float | None = None) -> bool:
        """True once the generation has ended; False if `timeout` seconds passed first."""
        try:
            await asyncio.wait_for(self._finished.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def stream(self) -> AsyncIterator[str]:
        """The text pieces as they are generated (read once)."""
        while (piece := await self._queue.get()) is not None:
            yield piece


async def _stop_when_client_leaves(request: Request, job: GenerationJob) -> None:
    """Returns when the job ends; a client that disconnects first stops it. Uvicorn does not cancel a handler
    whose client left, so without this a reply nobody reads would generate to its end."""
    while not await job.wait(DISCONNECT_POLL_S):
        if await request.is_disconnected():
            job.stop()
            return


def _generation_error(exc: Exception) -> ApiError:
    """A failed generation as the client is told: the backend's own message, or none of a bug's details."""
    if isinstance(exc, BackendError):
        return ApiError(502, str(exc), "api_error")
    return ApiError(500, "the reply could not be generated (the server logged why)", "api_error")


# --- the app ------------------------------------------------------------------------------------------


def create_app(backend: Backend, settings: Settings) -> FastAPI:
    config = settings.config
    check_generation(config.generation)  # here, not in the first Kakao user's reply
    chat = ChatSettings.from_config(config)
    app = FastAPI(title="insabot", version="1", docs_url=None, redoc_url=None)
    app.add_middleware(BodyLimit, limit=config.serve.max_body_bytes)
    memory = ConversationMemory(
        config.serve.memory_turns, config.serve.memory_ttl_s, config.serve.memory_max_users
    )
    admission = Admission(config.serve.concurrency_limit + config.serve.max_queue)
    background: set[asyncio.Task] = set()  # callbacks and stream watchers, held until done
    model_ids = backend.model_ids()
    busy_notice = BUSY_NOTICES[chat.chat.tone]

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

    def prompt_limit(model: str) -> tuple[int, str]:
        """The most prompt tokens a request to `model` may bring, and the setting that says so."""
        context = backend.context_length(model)
        if context is not None and context < config.serve.max_prompt_tokens:
            return context, f"the context length of {model}"
        return config.serve.max_prompt_tokens, "serve.max_prompt_tokens"

    async def prompt_tokens(model: str, messages: list[Message]) -> int | None:
        # off the event loop: templating and tokenizing a body of max_body_bytes takes tens of milliseconds
        return await run_in_threadpool(backend.prompt_tokens, model, messages)

    def start_generation(
        model: str, messages: list[Message], gen: GenerationConfig, stops: list[str]
    ) -> GenerationJob | None:
        """The reply generating in its own thread; None when every slot and queue place is taken."""
        if not admission.enter():
            return None
        stop_event = threading.Event()
        pieces = UntilStop(backend.stream(model, messages, gen, stop_event), stops)
        return GenerationJob(pieces, stop_event, admission.leave)

    def keep(task: asyncio.Task) -> None:
        background.add(task)
        task.add_done_callback(background.discard)

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
        prompt = await prompt_tokens(model, messages)
        limit, limit_name = prompt_limit(model)
        if prompt is not None and prompt > limit:
            raise ApiError(400, f"the prompt is {prompt} tokens; the limit is {limit} ({limit_name}): send "
                           "fewer or shorter messages", code="context_length_exceeded")  # fmt: skip
        gen = generation_for(body, chat.generation)
        stops = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
        job = start_generation(model, messages, gen, stops)
        if job is None:
            raise ApiError(429, f"the server is busy: {admission.capacity} requests are generating or waiting "
                           "(serve.concurrency_limit + serve.max_queue); retry shortly",
                           "requests", "rate_limit_exceeded")  # fmt: skip
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if settings.log_text:
            log.info("chat %s: %s", completion_id, messages[-1]["content"])
        watcher = asyncio.create_task(_stop_when_client_leaves(request, job))
        if body.stream:
            keep(watcher)
            sse = _sse(job, completion_id, model, gen, backend)
            return StreamingResponse(sse, media_type="text/event-stream")
        await watcher
        if job.stopped:  # the client left: this answer reaches no one, but the access log shows why
            raise ApiError(499, "the client closed the request")
        if job.error is not None:
            raise _generation_error(job.error)
        completion_tokens = backend.count_tokens(model, job.text)
        finish = _finish_reason(job.stop_hit, completion_tokens, gen)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": job.text}, "finish_reason": finish}
            ],
            "usage": _usage(prompt, completion_tokens),
        }

    @app.post("/v1/plan")
    async def plan(request: Request, body: PlanRequest):
        check_api_key(request)
        try:
            check_unicode(body.text)
            now = parse_now(body.now, "now")
            # off the event loop: a long export takes a moment to read
            result = await run_in_threadpool(plan_text, nfc(body.text), now, "text")
        except (ChatInputError, PlanInputError, KakaoFormatError) as exc:
            raise ApiError(400, str(exc)) from None
        answer: dict[str, Any] = {
            "object": "plan",
            "events": [event.as_dict() for event in result.events],
            "skipped": [skipped.as_dict() for skipped in result.skipped],
        }
        if body.ics:
            answer["ics"] = to_ics(result.events).decode("utf-8")
        return answer

    async def kakao_conversation(utterance: str, user_id: str) -> list[Message] | None:
        """The skill's conversation within the prompt limit: the oldest remembered exchanges are left out until
        it fits; None when the message alone does not."""
        model = model_ids[0]
        limit, _ = prompt_limit(model)
        history = memory.history(user_id)
        while True:
            messages = build_conversation(utterance, history, chat.system_prompt)
            tokens = await prompt_tokens(model, messages)
            if tokens is None or tokens <= limit:
                return messages
            if not history:
                return None
            history = history[2:]

    @app.post("/kakao/skill")
    @app.post("/kakao/skill/{token}")
    async def kakao_skill(request: Request, token: str | None = None):
        arrived = time.monotonic()  # the budget and the callback's minute count from Kakao's request
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
        # A plan in the message gets a card after the reply. Reading it takes well under a millisecond, so it
        # costs nothing of the skill's budget.
        cards = [plan_card(event) for event in plan_message(utterance)[:1]]
        messages = await kakao_conversation(utterance, skill.user_id)
        if messages is None:
            return skill_response("메시지가 너무 길어. 짧게 다시 보내줘!")
        job = start_generation(model_ids[0], messages, chat.generation, [])
        if job is None:
            return skill_response(busy_notice)
        if await job.wait(max(arrived + config.serve.kakao_budget_s - time.monotonic(), 0.0)):
            return skill_response(_finished_reply(job, memory, skill), cards)
        if callback is not None:
            deadline = arrived + config.serve.kakao_callback_timeout_s
            delivery = _deliver_callback(job, memory, skill, callback, deadline, busy_notice, cards)
            keep(asyncio.create_task(delivery))
            return callback_acknowledgement()
        # No (allowed) callback: a part of a reply reads as a reply, so say plainly that it did not come.
        job.stop()
        return skill_response(busy_notice)

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


async def _sse(
    job: GenerationJob, completion_id: str, model: str, gen: GenerationConfig, backend: Backend
) -> AsyncIterator[str]:
    def chunk(delta: dict, finish: str | None = None) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    try:
        yield chunk({"role": "assistant", "content": ""})
        async for piece in job.stream():
            yield chunk({"content": piece})
        if job.error is None:
            yield chunk({}, _finish_reason(job.stop_hit, backend.count_tokens(model, job.text), gen))
        else:  # the 200 is sent: an error event is the only way left to tell the client
            yield f"data: {json.dumps(_generation_error(job.error).body(), ensure_ascii=False)}\n\n"
    finally:
        job.stop()  # cancelled when the client disconnects mid-stream: the generation ends with it
    yield "data: [DONE]\n\n"


def _finish_reason(stop_hit: bool, completion_tokens: int | None, gen: GenerationConfig) -> str:
    if stop_hit:
        return "stop"
    return "length" if completion_tokens is not None and completion_tokens >= gen.max_new_tokens else "stop"


def _usage(prompt_tokens: int | None, completion_tokens: int | None) -> dict | None:
    if prompt_tokens is None or completion_tokens is None:
        return None
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _finished_reply(job: GenerationJob, memory: ConversationMemory, skill: SkillRequest) -> str:
    """The reply of a job that ended by itself; a complete exchange is remembered for the user's next
    message."""
    reply = job.text.strip()
    if job.error is not None or not reply:
        return FALLBACK_REPLY
    memory.add(skill.user_id, skill.utterance, reply)
    return reply


async def _deliver_callback(
    job: GenerationJob,
    memory: ConversationMemory,
    skill: SkillRequest,
    url: httpx.URL,
    deadline: float,
    busy_notice: str,
    cards: list[dict[str, Any]],
) -> None:
    """POSTs the reply to the callback URL, or the busy notice if the reply is not ready by `deadline`
    (time.monotonic), so that something reaches the user while the URL is valid. Nothing partial is sent or
    remembered, and the stopped generation is not waited for."""
    if await job.wait(max(deadline - time.monotonic(), 0.0)):
        text = _finished_reply(job, memory, skill)
    else:
        job.stop()
        text, cards = busy_notice, []
    # The URL's path is Kakao's one-time key: logs name the host only. A redirect is not followed, since it
    # could lead anywhere the allowlist does not.
    try:
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
            response = await client.post(url, json=skill_response(text, cards))
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
