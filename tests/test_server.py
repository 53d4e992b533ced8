"""`insabot serve`: the OpenAI-compatible API (driven by the official `openai` client) and the KakaoTalk
skill (payloads as the skill guide of 챗봇 관리자센터 writes them), on loopback."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from insabot.bot.kakao import ConversationMemory, parse_skill_request, skill_response, split_text
from insabot.bot.server import Settings, UntilStop, create_app
from insabot.chat import SYSTEM_PROMPTS
from insabot.config import Config

# --- pure parts ---------------------------------------------------------------------------------------


def test_until_stop_cuts_at_a_stop_string_split_across_pieces():
    closed = []

    def pieces():
        try:
            yield from ["안녕 ", "친구", "야 ##", "#끝 더", " 있음"]
        finally:
            closed.append(True)

    stream = UntilStop(pieces(), ["###"])
    assert "".join(stream) == "안녕 친구야 " and stream.hit and closed == [True]
    passthrough = UntilStop(iter(["a#", "#b"]), ["###"])
    assert "".join(passthrough) == "a##b" and not passthrough.hit


def test_split_text_respects_kakao_limits():
    assert split_text("짧은 답") == ["짧은 답"]
    long = ("가나다라마바사 " * 400).strip()  # 3199 characters
    chunks = split_text(long)
    assert len(chunks) == 3 and all(len(chunk) <= 1000 for chunk in chunks)
    assert chunks[-1].endswith("…") and chunks[0].startswith("가나다라마바사")


def test_memory_keeps_recent_turns_per_user_and_forgets():
    now = [0.0]
    memory = ConversationMemory(max_turns=2, ttl_s=60, max_users=2, clock=lambda: now[0])
    for turn in range(3):
        memory.add("a", f"질문{turn}", f"답{turn}")
    assert [m["content"] for m in memory.history("a")] == ["질문1", "답1", "질문2", "답2"]
    assert memory.history("b") == []
    memory.add("b", "안녕", "응")
    memory.add("c", "하이", "ㅎㅇ")  # a third user pushes out the least recently active
    assert memory.history("a") == [] and len(memory) == 2
    now[0] = 61
    assert memory.history("b") == []


def test_skill_payload_errors_name_the_field():
    with pytest.raises(ValueError, match=r"userRequest\.utterance"):
        parse_skill_request({"userRequest": {"user": {"id": "u"}}})
    with pytest.raises(ValueError, match=r"userRequest\.user\.id"):
        parse_skill_request({"userRequest": {"utterance": "야"}})


# --- servers on loopback ------------------------------------------------------------------------------


class ScriptedBackend:
    """Replies with a fixed text in pieces, `delay` seconds apart, and records what it was asked."""

    def __init__(self, reply="오 좋지 ㅋㅋ 성수 가자", delay=0.0, piece=3):
        self.reply, self.delay, self.piece = reply, delay, piece
        self.requests: list[list[dict]] = []

    def model_ids(self):
        return ["scripted"]

    def stream(self, model, messages, gen, stop_event):
        self.requests.append(messages)
        for start in range(0, len(self.reply), self.piece):
            if stop_event.is_set():
                return
            time.sleep(self.delay)
            yield self.reply[start : start + self.piece]

    def count_tokens(self, model, text):
        return len(text)

    def prompt_tokens(self, model, messages):
        return sum(len(message["content"]) for message in messages)

    def context_length(self, model):
        return None


def _config(**serve):
    config = Config()
    config.chat.max_message_chars = 300
    for key, value in serve.items():
        setattr(config.serve, key, value)
    return config


@pytest.fixture(scope="module")
def tiny_backend(tiny_backend_for):
    return tiny_backend_for()


@pytest.fixture(scope="module")
def api(tiny_backend, running):
    config = _config(max_body_bytes=8192)
    config.generation.max_new_tokens = 24
    with running(create_app(tiny_backend, Settings(config, api_key="sk-test"))) as url:
        yield url, tiny_backend.model_ids()[0]


def _client(url, key="sk-test"):
    from openai import OpenAI

    return OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


GREEDY = {"temperature": 0, "max_tokens": 20}
MESSAGES = [
    {"role": "system", "content": SYSTEM_PROMPTS["banmal"]},
    {"role": "user", "content": "야, 이거 어때?"},
]


def test_openai_client_non_streamed_and_streamed_agree(api):
    url, model = api
    client = _client(url)
    completion = client.chat.completions.create(model=model, messages=MESSAGES, **GREEDY)
    text = completion.choices[0].message.content
    assert text and completion.choices[0].finish_reason in ("stop", "length")
    assert completion.usage.completion_tokens > 0 and completion.model == model
    chunks = list(client.chat.completions.create(model=model, messages=MESSAGES, stream=True, **GREEDY))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text
    assert chunks[-1].choices[0].finish_reason == completion.choices[0].finish_reason


def test_models_and_the_default_model_name(api):
    url, model = api
    client = _client(url)
    assert [m.id for m in client.models.list().data] == [model]
    reply = client.chat.completions.create(model="insabot", messages=MESSAGES, **GREEDY)
    assert reply.model == model


def test_stop_sequences_cut_the_reply(api):
    url, model = api
    client = _client(url)
    full = client.chat.completions.create(model=model, messages=MESSAGES, **GREEDY).choices[0].message.content
    stop = full[4:7]
    cut = client.chat.completions.create(model=model, messages=MESSAGES, stop=[stop], **GREEDY)
    assert cut.choices[0].message.content == full[: full.find(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_auth_and_error_shapes(api):
    import openai

    url, model = api
    with pytest.raises(openai.AuthenticationError) as error:
        _client(url, key="wrong").models.list()
    assert error.value.code == "invalid_api_key"
    client = _client(url)
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-9", messages=MESSAGES)
    with pytest.raises(openai.BadRequestError, match="the limit is 300"):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "가" * 301}])
    headers = {"Authorization": "Bearer sk-test"}
    empty = httpx.post(f"{url}/v1/chat/completions", json={"messages": []}, headers=headers)
    assert empty.status_code == 400 and empty.json()["error"]["type"] == "invalid_request_error"
    assert "messages" in empty.json()["error"]["message"]
    huge = httpx.post(f"{url}/v1/chat/completions", content=b"x" * 9000, headers=headers)
    assert huge.status_code == 413 and "max_body_bytes" in huge.json()["error"]["message"]


def test_backend_url_sends_generation_to_another_instance(api, running):
    """A second insabot in front of the first, as a deployment would put it in front of vLLM."""
    from insabot.bot.backends import RemoteBackend

    url, model = api
    direct = _client(url).chat.completions.create(model=model, messages=MESSAGES, **GREEDY)
    front = create_app(RemoteBackend(f"{url}/v1", api_key="sk-test"), Settings(_config()))
    with running(front) as front_url:
        client = _client(front_url, key="unused")
        assert [m.id for m in client.models.list().data] == [model]
        relayed = client.chat.completions.create(model=model, messages=MESSAGES, **GREEDY)
        streamed = list(client.chat.completions.create(model=model, messages=MESSAGES, stream=True, **GREEDY))
    assert relayed.choices[0].message.content == direct.choices[0].message.content
    assert "".join(c.choices[0].delta.content or "" for c in streamed) == direct.choices[0].message.content


PERSONA = "너는 부산 토박이 인싸봇이야. 사투리로 짧게 답해."


def _persona_config():
    """`chat.system_prompt` set: the prompt for every request that brings no system message."""
    config = _config()
    config.chat.system_prompt = PERSONA
    return config


def test_requests_without_a_system_message_get_chat_system_prompt(running):
    backend = ScriptedBackend()
    user = {"role": "user", "content": "주말에 뭐해?"}
    with running(create_app(backend, Settings(_persona_config()))) as url:
        client = _client(url, key="unused")
        client.chat.completions.create(model="insabot", messages=[user])
        client.chat.completions.create(model="insabot", messages=MESSAGES)
        httpx.post(f"{url}/kakao/skill", json=skill_payload("야 뭐해"))
    without, with_system, kakao = backend.requests
    assert without == [{"role": "system", "content": PERSONA}, user]
    assert with_system == MESSAGES  # the request's own system message wins, as in training
    assert kakao == [{"role": "system", "content": PERSONA}, {"role": "user", "content": "야 뭐해"}]


def test_conversations_are_built_as_the_web_chat_builds_them():
    from insabot.bot.respond import ChatSettings
    from insabot.bot.server import ApiError, ChatCompletionRequest, conversation_for

    chat = ChatSettings.from_config(_persona_config())

    def build(*messages):
        return conversation_for(ChatCompletionRequest(messages=list(messages)), chat)

    decomposed = "\u1100\u1161 \u110b\u1161"  # 가 아 as jamo, as some IMEs send them
    built = build(
        {"role": "developer", "content": "반말로 답해."},
        {"role": "system", "content": [{"type": "text", "text": "짧게."}]},
        {"role": "user", "content": "안녕"},
        {"role": "assistant", "content": ""},  # dropped, as the web chat drops empty turns
        {"role": "user", "content": decomposed},
    )
    assert built == [
        {"role": "system", "content": "반말로 답해.\n\n짧게."},
        {"role": "user", "content": "안녕\n가 아"},  # the two user turns, now adjacent, are one
    ]
    with pytest.raises(ApiError, match=r"messages\[0\]: the message has no text"):
        build({"role": "user", "content": "  "})
    with pytest.raises(ApiError, match=r"messages\[0\]: the message has 301 characters; the limit is 300"):
        build({"role": "assistant", "content": "가" * 301}, {"role": "user", "content": "야"})


SYS = {"role": "system", "content": "반말로 짧게."}
ORDERS = {
    "two user messages in a row": (
        [{"role": "user", "content": "야"}, {"role": "user", "content": "뭐해?"}],
        [{"role": "system", "content": PERSONA}, {"role": "user", "content": "야\n뭐해?"}],
    ),
    "an assistant message first": (
        [{"role": "assistant", "content": "안녕! 뭐하고 놀까?"}, {"role": "user", "content": "심심해"}],
        [{"role": "system", "content": PERSONA}, {"role": "user", "content": "심심해"}],
    ),
    "a system message in the middle": (
        [{"role": "user", "content": "야"}, {"role": "assistant", "content": "응"}, SYS, {"role": "user", "content": "뭐해"}],
        [{"role": "system", "content": "반말로 짧게."}, {"role": "user", "content": "야"}, {"role": "assistant", "content": "응"}, {"role": "user", "content": "뭐해"}],
    ),
    "two system messages": (
        [SYS, {"role": "developer", "content": "이모지 써."}, {"role": "user", "content": "안녕"}],
        [{"role": "system", "content": "반말로 짧게.\n\n이모지 써."}, {"role": "user", "content": "안녕"}],
    ),
    "two assistant messages in a row": (
        [{"role": "user", "content": "야"}, {"role": "assistant", "content": "응"}, {"role": "assistant", "content": "왜?"}, {"role": "user", "content": "그냥"}],
        [{"role": "system", "content": PERSONA}, {"role": "user", "content": "야"}, {"role": "assistant", "content": "응\n왜?"}, {"role": "user", "content": "그냥"}],
    ),
}  # fmt: skip


@pytest.mark.parametrize("stream", [False, True])
def test_message_orders_are_normalised_for_the_model(running, stream):
    """What the model receives: one system prompt first, then user/assistant turns that alternate."""
    backend = ScriptedBackend()
    with running(create_app(backend, Settings(_persona_config()))) as url:
        for messages, _ in ORDERS.values():
            body = {"messages": messages, "stream": stream}
            response = httpx.post(f"{url}/v1/chat/completions", json=body)
            assert response.status_code == 200, response.text
            if stream:
                assert response.text.endswith("data: [DONE]\n\n") and '"error"' not in response.text
    assert backend.requests == [expected for _, expected in ORDERS.values()]


@pytest.mark.real_model
def test_gemma_template_accepts_every_normalised_order():
    """Gemma's template is the strictest (it raises on any other order): it takes each normalised order."""
    from transformers import AutoTokenizer

    from insabot.bot.respond import ChatSettings
    from insabot.bot.server import ChatCompletionRequest, conversation_for
    from insabot.models.loading import resolve

    tokenizer = AutoTokenizer.from_pretrained(resolve("gemma3-270m").location)
    chat = ChatSettings.from_config(_persona_config())
    for messages, _ in ORDERS.values():
        conversation = conversation_for(ChatCompletionRequest(messages=messages), chat)
        assert "<start_of_turn>user" in tokenizer.apply_chat_template(conversation, tokenize=False)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": [{"role": "user", "content": None}]}, "messages[0]: the message has no text"),
        ({"messages": [{"role": "user", "content": ""}]}, "messages[0]: the message has no text"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages[0]: the message has no text",
        ),
        (
            {"messages": [{"role": "user", "content": "야"}, {"role": "user", "content": " "}]},
            "messages[1]: the message has no text",
        ),
        ({"messages": [{"role": "user", "content": "야"}], "max_tokens": "10"}, "max_tokens: Input should be a valid integer"),
        ({"messages": [{"role": "user", "content": "야"}], "stream": "yes"}, "stream: Input should be a valid boolean"),
        ({"messages": [{"role": "system", "content": "짧게."}]}, "the last message must come from the user"),
        ({"messages": [{"role": "user", "content": "야"}, {"role": "assistant", "content": "응"}]}, "the last message must come from the user"),
    ],
)  # fmt: skip
def test_requests_that_cannot_be_normalised_are_400s_in_openai_shape(running, body, message):
    backend = ScriptedBackend()
    with running(create_app(backend, Settings(_config()))) as url:
        for stream in (False, True):
            response = httpx.post(
                f"{url}/v1/chat/completions", json={**body, "stream": body.get("stream", stream)}
            )
            assert response.status_code == 400
            assert response.json()["error"]["type"] == "invalid_request_error"
            assert response.json()["error"]["message"].startswith(message)
    assert backend.requests == []


JSON = {"Content-Type": "application/json"}


def test_lone_surrogates_and_deeply_nested_json_are_400s(running):
    backend = ScriptedBackend()
    lone = b'{"messages": [{"role": "user", "content": "\\ud800 \xec\x95\x88\xeb\x85\x95"}], "stream": true}'
    nested = b"[" * 60000  # within max_body_bytes, beyond json's recursion limit
    with running(create_app(backend, Settings(_config(max_body_bytes=65536)))) as url:
        surrogate = httpx.post(f"{url}/v1/chat/completions", content=lone, headers=JSON)
        deep_v1 = httpx.post(f"{url}/v1/chat/completions", content=nested, headers=JSON)
        deep_kakao = httpx.post(f"{url}/kakao/skill", content=nested, headers=JSON)
    assert surrogate.status_code == 400
    assert surrogate.json()["error"]["message"] == (
        "messages[0]: the message holds a lone surrogate U+D800, which is not valid Unicode"
    )
    for response in (deep_v1, deep_kakao):
        assert response.status_code == 400 and "message" in response.json()["error"]
    assert "nested too deeply" in deep_kakao.json()["error"]["message"]
    assert backend.requests == []


class FailingBackend(ScriptedBackend):
    """Yields one piece, then fails as a backend bug would (not a BackendError)."""

    def stream(self, model, messages, gen, stop_event):
        yield "오"
        raise RuntimeError("boom: an internal detail")


def test_a_generation_error_mid_stream_ends_with_an_error_event(running):
    with running(create_app(FailingBackend(), Settings(_config()))) as url:
        body = {"messages": [{"role": "user", "content": "야"}], "stream": True}
        response = httpx.post(f"{url}/v1/chat/completions", json=body)
    events = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]
    assert response.status_code == 200 and events[-1] == "[DONE]"
    assert json.loads(events[1])["choices"][0]["delta"] == {"content": "오"}
    error = json.loads(events[-2])["error"]
    assert error["type"] == "api_error" and "boom" not in error["message"]


def test_request_seed_and_repetition_penalty_override_the_config():
    from insabot.bot.server import ChatCompletionRequest, generation_for
    from insabot.config import GenerationConfig

    request = ChatCompletionRequest(
        messages=[{"role": "user", "content": "야"}], seed=7, repetition_penalty=1.3
    )
    gen = generation_for(request, GenerationConfig(seed=None, repetition_penalty=1.1))
    assert (gen.seed, gen.repetition_penalty) == (7, 1.3)
    plain = generation_for(
        ChatCompletionRequest(messages=[{"role": "user", "content": "야"}]), GenerationConfig()
    )
    assert (plain.seed, plain.repetition_penalty) == (None, 1.1)


def fake_vllm(bodies: list[dict]):
    """An OpenAI-compatible server that records each request body and streams a fixed reply."""
    app = FastAPI()

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [{"id": "insabot-gemma3", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        bodies.append(await request.json())
        chunk = {"choices": [{"index": 0, "delta": {"content": "마, 바다 보러 가자"}}]}
        events = [f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n", "data: [DONE]\n\n"]
        return StreamingResponse(iter(events), media_type="text/event-stream")

    return app


def test_backend_url_receives_the_configured_prompt_penalty_and_seed(running):
    from insabot.bot.backends import RemoteBackend

    bodies: list[dict] = []
    config = _persona_config()
    config.generation.repetition_penalty, config.generation.seed = 1.3, 7
    with running(fake_vllm(bodies)) as vllm_url:
        front = create_app(RemoteBackend(f"{vllm_url}/v1"), Settings(config))
        with running(front) as url:
            reply = _client(url, key="unused").chat.completions.create(
                model="insabot", messages=[{"role": "user", "content": "주말에 뭐해?"}]
            )
            kakao = httpx.post(f"{url}/kakao/skill", json=skill_payload("심심해")).json()
    assert reply.choices[0].message.content == "마, 바다 보러 가자"
    assert _texts(kakao) == ["마, 바다 보러 가자"]
    for body, utterance in zip(bodies, ["주말에 뭐해?", "심심해"], strict=True):
        assert body["messages"] == [
            {"role": "system", "content": PERSONA},
            {"role": "user", "content": utterance},
        ]
        assert body["repetition_penalty"] == 1.3 and body["seed"] == 7
        assert body["model"] == "insabot-gemma3" and body["stream"] is True


def test_backend_url_leaves_out_what_the_config_does_not_set():
    from insabot.bot.backends import request_body
    from insabot.config import GenerationConfig

    body = request_body("m", [], GenerationConfig(do_sample=False, repetition_penalty=1.0, seed=None))
    assert body == {"model": "m", "messages": [], "max_tokens": 256, "stream": True, "temperature": 0.0}


# --- KakaoTalk skill ----------------------------------------------------------------------------------


def skill_payload(utterance, user="user-a", callback_url=None):
    """Shaped as the skill guide's SkillPayload example (ids are placeholders)."""
    user_request = {
        "timezone": "Asia/Seoul",
        "params": {"surface": "BuilderBotTest", "ignoreMe": "true"},
        "block": {"id": "65f1c0a2e1b2c3d4e5f60718", "name": "폴백 블록"},
        "utterance": utterance,
        "lang": "ko",
        "user": {"id": user, "type": "botUserKey", "properties": {"botUserKey": user, "isFriend": True}},
    }
    if callback_url:
        user_request["callbackUrl"] = callback_url
    return {
        "intent": {"id": "65f1c0a2e1b2c3d4e5f60718", "name": "폴백 블록"},
        "userRequest": user_request,
        "bot": {"id": "65f1bf00a1b2c3d4e5f60700", "name": "인싸봇"},
        "action": {"id": "65f1c111", "name": "insabot", "params": {}, "detailParams": {}, "clientExtra": {}},
        "contexts": [],
    }


def _texts(response_json):
    return [output["simpleText"]["text"] for output in response_json["template"]["outputs"]]


def test_kakao_immediate_reply_and_memory_per_user(running):
    backend = ScriptedBackend()
    with running(create_app(backend, Settings(_config()))) as url:
        first = httpx.post(f"{url}/kakao/skill", json=skill_payload("야 주말에 뭐해?")).json()
        assert first["version"] == "2.0" and _texts(first) == ["오 좋지 ㅋㅋ 성수 가자"]
        assert first["template"]["quickReplies"][0] == {
            "label": "처음부터",
            "action": "message",
            "messageText": "처음부터",
        }
        httpx.post(f"{url}/kakao/skill", json=skill_payload("어디 갈까?"))
        httpx.post(f"{url}/kakao/skill", json=skill_payload("안녕", user="user-b"))
        reset = httpx.post(f"{url}/kakao/skill", json=skill_payload("처음부터")).json()
        httpx.post(f"{url}/kakao/skill", json=skill_payload("다시 안녕"))
    assert len(backend.requests) == 4 and "처음부터" in _texts(reset)[0]
    second, other_user, after_reset = backend.requests[1], backend.requests[2], backend.requests[3]
    assert [m["content"] for m in second[1:]] == ["야 주말에 뭐해?", "오 좋지 ㅋㅋ 성수 가자", "어디 갈까?"]
    assert second[0] == {"role": "system", "content": SYSTEM_PROMPTS["banmal"]}
    assert [m["content"] for m in other_user[1:]] == ["안녕"]
    assert [m["content"] for m in after_reset[1:]] == ["다시 안녕"]


@contextmanager
def callback_receiver(redirect_to: str | None = None):
    """A local stand-in for Kakao's callback endpoint, on 127.0.0.1; yields its port, what it received and an
    event set on the first POST. With `redirect_to`, it answers 307 to that path instead of accepting."""
    received: list[dict] = []
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(
                {"path": self.path, "content_type": self.headers["Content-Type"], "body": json.loads(body)}
            )
            if redirect_to:
                self.send_response(307)
                self.send_header("Location", redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                answer = json.dumps(
                    {"taskId": "t-1", "status": "SUCCESS", "message": "", "timestamp": 0}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer)
            arrived.set()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, received, arrived
    finally:
        server.shutdown()


def _inbox_config(**serve):
    """The test's own inbox allowed explicitly: the host name localhost, over plain http."""
    return _config(kakao_callback_hosts=["localhost"], kakao_callback_allow_http=True, **serve)


def test_kakao_slow_reply_goes_through_the_callback_url(running):
    backend = ScriptedBackend(delay=0.1)  # ~0.7 s in all, over the 0.2 s budget
    with (
        running(create_app(backend, Settings(_inbox_config(kakao_budget_s=0.2)))) as url,
        callback_receiver() as (port, received, arrived),
    ):
        # an allowed host name that resolves to the local listener
        callback_url = f"http://localhost:{port}/callback/abc"
        immediate = httpx.post(
            f"{url}/kakao/skill", json=skill_payload("성수 카페 추천", callback_url=callback_url)
        )
        assert immediate.json() == {
            "version": "2.0",
            "useCallback": True,
            "data": {"text": "잠깐만, 생각 중이야 🤔"},
        }
        assert arrived.wait(30), "no callback arrived"
    (posted,) = received
    assert posted["content_type"].startswith("application/json")
    assert posted["body"]["version"] == "2.0" and _texts(posted["body"]) == ["오 좋지 ㅋㅋ 성수 가자"]


@pytest.mark.parametrize(
    "callback_url",
    [
        "http://127.0.0.1:{port}/callback/abc",  # an IP literal, even of the listener
        "http://[::1]:{port}/callback/abc",
        "ftp://localhost:{port}/callback/abc",  # allowed host, not http(s)
        "http://[::1",  # malformed: a clean refusal, not an uncaught InvalidURL
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost.evil.test:{port}/callback/abc",
    ],
)
def test_kakao_refused_callback_url_answers_within_the_budget(running, caplog, callback_url):
    """A refused callback URL is as none: the skill answers in its own response and POSTs nowhere."""
    caplog.set_level(logging.WARNING, logger="insabot")
    backend = ScriptedBackend(reply="가" * 300, delay=0.05, piece=2)  # ~7.5 s, over the 0.3 s budget
    with (
        running(create_app(backend, Settings(_inbox_config(kakao_budget_s=0.3)))) as url,
        callback_receiver() as (port, received, _),
    ):
        payload = skill_payload("길게 말해줘", callback_url=callback_url.format(port=port))
        response = httpx.post(f"{url}/kakao/skill", json=payload, timeout=10)
    assert response.status_code == 200 and "useCallback" not in response.json()
    assert _texts(response.json()) == ["잠깐 바빠서 못 봤어, 다시 보내줄래?"]
    assert received == []  # answered synchronously: no callback task exists that could still POST
    (refusal,) = [r.getMessage() for r in caplog.records if "callbackUrl refused" in r.getMessage()]
    assert "/callback/abc" not in refusal  # the URL's path is Kakao's one-time key: never logged


def test_kakao_callback_redirects_are_not_followed(running, caplog):
    caplog.set_level(logging.INFO, logger="insabot")
    backend = ScriptedBackend(delay=0.1)
    with (
        running(create_app(backend, Settings(_inbox_config(kakao_budget_s=0.2)))) as url,
        callback_receiver(redirect_to="/followed") as (port, received, arrived),
    ):
        callback_url = f"http://localhost:{port}/callback/abc"
        httpx.post(f"{url}/kakao/skill", json=skill_payload("야", callback_url=callback_url))
        assert arrived.wait(30), "no callback arrived"
        deadline = time.monotonic() + 30  # the POST's outcome is logged once the client has its answer
        while not any("HTTP 307" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert [r["path"] for r in received] == ["/callback/abc"]
    assert any(r.getMessage() == "kakao callback to localhost: HTTP 307 " for r in caplog.records)


def test_callback_allowlist():
    from insabot.bot.kakao import CallbackRefused, callback_target
    from insabot.config import ServeConfig

    kakao = ServeConfig().kakao_callback_hosts
    assert kakao == ["bot-api.kakao.com"]
    assert callback_target("https://bot-api.kakao.com/v1/callback/k3y", kakao).host == "bot-api.kakao.com"
    assert callback_target("https://BOT-API.kakao.com./cb", kakao).host == "bot-api.kakao.com."
    refused = {
        "http://bot-api.kakao.com/cb": "is not https",
        "https://127.0.0.1/cb": "IP address",
        "https://[::ffff:127.0.0.1]/cb": "IP address",
        "https://[fe80::1%25eth0]/cb": "IP address",
        "https://bot-api.kakao.com.evil.test/cb": "not in serve.kakao_callback_hosts",
        "https://evilbot-api.kakao.com/cb": "not in serve.kakao_callback_hosts",
        "https://bot-api.kakao.com\\@evil.test/cb": "'evil.test' is not in",  # parsed as httpx requests it
        "https://2130706433/cb": "not in serve.kakao_callback_hosts",  # 127.0.0.1 as a number
        "http://[::1": "not a valid URL",
        "file:///etc/passwd": "is not https",
        "": "is not https",
    }
    for url, reason in refused.items():
        with pytest.raises(CallbackRefused, match=re.escape(reason)):
            callback_target(url, kakao)
    with pytest.raises(CallbackRefused, match="is not https"):
        callback_target("ftp://localhost/cb", ["localhost"], allow_http=True)
    suffix = [".kakao.com"]
    assert callback_target("https://kakao.com/cb", suffix) and callback_target(
        "https://a.b.kakao.com/cb", suffix
    )
    with pytest.raises(CallbackRefused):
        callback_target("https://notkakao.com/cb", suffix)


def test_kakao_long_reply_is_split_and_bad_payloads_are_refused(running):
    backend = ScriptedBackend(reply=("오늘 성수 어니언 갔다 옴 ㅋㅋ " * 150), piece=500)
    settings = Settings(_config(), kakao_token="s3cret")
    with running(create_app(backend, settings)) as url:
        assert httpx.post(f"{url}/kakao/skill", json=skill_payload("야")).status_code == 401
        split = httpx.post(f"{url}/kakao/skill/s3cret", json=skill_payload("야")).json()
        by_header = httpx.post(
            f"{url}/kakao/skill", json=skill_payload("야"), headers={"X-Insabot-Token": "s3cret"}
        )
        bad = httpx.post(f"{url}/kakao/skill/s3cret", json={"userRequest": {"utterance": "야"}})
        not_json = httpx.post(f"{url}/kakao/skill/s3cret", content=b"{nope")
        too_long = httpx.post(f"{url}/kakao/skill/s3cret", json=skill_payload("가" * 301)).json()
    assert len(_texts(split)) == 3 and all(len(text) <= 1000 for text in _texts(split))
    assert by_header.status_code == 200
    assert bad.status_code == 400 and "userRequest.user.id" in bad.json()["error"]["message"]
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["error"]["message"]
    assert "최대 300자" in _texts(too_long)[0] and len(backend.requests) == 2


def test_skill_response_shape():
    assert skill_response("ㅎㅇ") == {
        "version": "2.0",
        "template": {
            "outputs": [{"simpleText": {"text": "ㅎㅇ"}}],
            "quickReplies": [{"label": "처음부터", "action": "message", "messageText": "처음부터"}],
        },
    }


@pytest.mark.real_model
def test_serve_on_the_demo_default_answers_in_korean(running):
    from pathlib import Path

    from insabot.bot.server import local_backend
    from insabot.config import load_config
    from insabot.korean.locality import hangul_share

    config = load_config(Path(__file__).parents[1] / "configs" / "chat" / "default.yaml")
    config.generation.seed = 0
    backend = local_backend(config)
    assert backend.model_ids()[0] == "gemma3-270m+insabot-gemma3-ko"
    with running(create_app(backend, Settings(config))) as url:
        reply = _client(url, key="unused").chat.completions.create(
            model="insabot",
            messages=[{"role": "user", "content": "야, 이거 어때? 성수 카페 가볼래?"}],
            max_tokens=40,
        )
        kakao = httpx.post(f"{url}/kakao/skill", json=skill_payload("주말에 뭐해?"), timeout=30).json()
    assert hangul_share(reply.choices[0].message.content) > 0.8
    assert kakao["version"] == "2.0"


# --- bounded work: clients that leave, prompt length, the queue; Kakao under load ---------------------


@dataclass
class StreamRecord:
    messages: list[dict]
    stop_event: threading.Event
    text: str = ""
    ended_in: str | None = None
    """The thread that ran the stream's end: the server's reply thread, not a garbage collector's finalizer."""
    ended: threading.Event = field(default_factory=threading.Event)


class Watched:
    """Wraps a backend and records each stream it runs. With `hold_after` set, a stream yields that many pieces
    and then waits (as behind a busy generation slot, or a slow CPU) until `gate` is set or it is stopped."""

    def __init__(self, inner, hold_after: int | None = None):
        self.inner, self.hold_after = inner, hold_after
        self.gate = threading.Event()
        self.streams: list[StreamRecord] = []

    def __getattr__(self, name):  # model_ids, count_tokens, prompt_tokens, context_length
        return getattr(self.inner, name)

    def stream(self, model, messages, gen, stop_event):
        record = StreamRecord(messages, stop_event)
        self.streams.append(record)
        try:
            with closing(self.inner.stream(model, messages, gen, stop_event)) as pieces:
                if self.hold_after == 0 and not self._passed_gate(stop_event):
                    return
                for count, piece in enumerate(pieces, 1):
                    record.text += piece
                    yield piece
                    if count == self.hold_after and not self._passed_gate(stop_event):
                        return
        finally:
            record.ended_in = threading.current_thread().name
            record.ended.set()

    def _passed_gate(self, stop_event) -> bool:
        while not self.gate.wait(0.02):
            if stop_event.is_set():
                return False
        return True


def _wait_until(condition, timeout=30.0):
    """Polls `condition` (a generous timeout: a bound that proves something happened, not a speed test)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _generation_threads():
    return [t for t in threading.enumerate() if t.name in ("insabot-reply", "insabot-generate")]


@contextmanager
def _raw_request(url, body):
    """POSTs to /v1/chat/completions on a bare socket, so the test decides when the client leaves: on exit."""
    address = httpx.URL(url)
    data = json.dumps(body).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {address.host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection((address.host, address.port)) as sock:
        sock.sendall(head.encode() + data)
        yield


LONG_REPLY = {
    "messages": [{"role": "user", "content": "길게 얘기해줘"}],
    "max_tokens": 4096,
    "temperature": 0,
}


@pytest.mark.parametrize("stream", [False, True])
def test_a_client_that_leaves_stops_its_generation(tiny_backend, running, stream):
    backend = Watched(tiny_backend)
    with running(create_app(backend, Settings(_config()))) as url:
        with _raw_request(url, {**LONG_REPLY, "stream": stream}):
            _wait_until(
                lambda: backend.streams and backend.streams[0].text
            )  # generating: now the client leaves
        (record,) = backend.streams
        assert record.ended.wait(60), "still generating after the client left"
        _wait_until(lambda: not _generation_threads())
    tokens = tiny_backend.count_tokens(tiny_backend.model_ids()[0], record.text)
    assert 0 < tokens < 4096 // 4
    assert record.ended_in == "insabot-reply"  # ended by the server, not left to the garbage collector


def test_a_request_given_up_while_queued_never_starts(tiny_backend, running):
    from insabot.bot.backends import LocalBackend

    backend = Watched(LocalBackend(tiny_backend.pool, concurrency=1))
    with running(create_app(backend, Settings(_config()))) as url:
        with _raw_request(url, LONG_REPLY):
            _wait_until(lambda: backend.streams and backend.streams[0].text)  # the one slot is taken
            with _raw_request(url, LONG_REPLY):
                _wait_until(lambda: len(backend.streams) == 2)  # waiting for the slot
            queued = backend.streams[1]
            assert queued.ended.wait(60)
        assert backend.streams[0].ended.wait(60)
    assert queued.text == ""


def test_prompts_over_the_token_limit_are_400s_naming_the_limit_and_the_count(tiny_backend, running):
    from insabot.bot.respond import ChatSettings
    from insabot.bot.server import ChatCompletionRequest, conversation_for

    model = tiny_backend.model_ids()[0]
    backend = Watched(tiny_backend)
    short, long = (
        [{"role": "user", "content": "야 뭐해"}],
        [{"role": "user", "content": "주말에 뭐해? " * 10}],
    )

    def tokens(messages, config):
        chat = ChatSettings.from_config(config)
        return tiny_backend.prompt_tokens(
            model, conversation_for(ChatCompletionRequest(messages=messages), chat)
        )

    config = _config()
    config.generation.max_new_tokens = 4
    config.serve.max_prompt_tokens = tokens(short, config) + 5
    # 2,400 characters of Hangul: past the tiny model's 2,048-token context, each message within 300 characters
    turns = [{"role": ("user", "assistant")[i % 2], "content": "가나다라 " * 60} for i in range(9)]
    roomy = _config(max_prompt_tokens=100_000)
    with (
        running(create_app(backend, Settings(config))) as url,
        running(create_app(backend, Settings(roomy))) as big,
    ):
        fits = httpx.post(f"{url}/v1/chat/completions", json={"messages": short}).json()
        refused = [
            httpx.post(f"{url}/v1/chat/completions", json={"messages": long, "stream": stream})
            for stream in (False, True)
        ]
        over_context = httpx.post(f"{big}/v1/chat/completions", json={"messages": turns})
    assert fits["usage"]["prompt_tokens"] == tokens(short, config)
    for response in refused:
        assert response.status_code == 400
        assert response.json()["error"] == {
            "message": f"the prompt is {tokens(long, config)} tokens; the limit is {config.serve.max_prompt_tokens} "
            "(serve.max_prompt_tokens): send fewer or shorter messages",
            "type": "invalid_request_error",
            "param": None,
            "code": "context_length_exceeded",
        }
    assert over_context.status_code == 400
    assert f"the limit is 2048 (the context length of {model})" in over_context.json()["error"]["message"]
    assert len(backend.streams) == 1  # only the request that fits reached the model


def test_kakao_leaves_out_the_oldest_turns_to_fit_the_prompt_limit(running):
    backend = ScriptedBackend()  # a token per character
    persona = len(SYSTEM_PROMPTS["banmal"])
    config = _config(max_prompt_tokens=persona + 40)
    with running(create_app(backend, Settings(config))) as url:
        for utterance in ("야 주말에 뭐해?", "어디 갈까?", "카페 어때?"):
            httpx.post(f"{url}/kakao/skill", json=skill_payload(utterance))
        too_long = httpx.post(f"{url}/kakao/skill", json=skill_payload("가" * 41)).json()
    second, third = backend.requests[1], backend.requests[2]
    assert [m["content"] for m in second[1:]] == ["야 주말에 뭐해?", "오 좋지 ㅋㅋ 성수 가자", "어디 갈까?"]
    assert [m["content"] for m in third[1:]] == ["어디 갈까?", "오 좋지 ㅋㅋ 성수 가자", "카페 어때?"]
    assert _texts(too_long) == ["메시지가 너무 길어. 짧게 다시 보내줘!"] and len(backend.requests) == 3


BUSY = "잠깐 바빠서 못 봤어, 다시 보내줄래?"


def test_a_full_queue_is_a_429_on_v1_and_a_busy_notice_on_kakao(tiny_backend, running):
    import openai

    backend = Watched(tiny_backend, hold_after=0)  # admitted requests wait as behind busy slots
    config = _config(concurrency_limit=1, max_queue=1)
    config.generation.max_new_tokens = 4
    body = {"messages": [{"role": "user", "content": "야"}]}
    with running(create_app(backend, Settings(config))) as url, ThreadPoolExecutor(2) as pool:
        admitted = [
            pool.submit(httpx.post, f"{url}/v1/chat/completions", json=body, timeout=60) for _ in range(2)
        ]
        _wait_until(lambda: len(backend.streams) == 2)  # one generating, one waiting: the queue is full
        with pytest.raises(openai.RateLimitError) as refused:
            _client(url, key="unused").chat.completions.create(model="insabot", **body)
        kakao = httpx.post(f"{url}/kakao/skill", json=skill_payload("야 뭐해")).json()
        backend.gate.set()
        statuses = [future.result().status_code for future in admitted]
        httpx.post(f"{url}/kakao/skill", json=skill_payload("또 왔어"), timeout=30)
    assert refused.value.status_code == 429 and refused.value.code == "rate_limit_exceeded"
    assert "2 requests are generating or waiting (serve.concurrency_limit + serve.max_queue)" in str(
        refused.value
    )
    assert _texts(kakao) == [BUSY] and statuses == [200, 200]
    # the turned-away requests never reached the model, and the skill remembered nothing of its one
    assert [m["content"] for m in backend.streams[2].messages[1:]] == ["또 왔어"] and len(
        backend.streams
    ) == 3


@pytest.mark.parametrize(
    ("tone", "notice"), [("banmal", BUSY), ("jondaetmal", "잠깐 바빠서 못 봤어요, 다시 보내주실래요?")]
)
def test_kakao_past_its_budget_without_callback_answers_a_notice_and_remembers_nothing(
    tiny_backend, running, tone, notice
):
    """The issue's case: the budget passes with part of a reply ready. The notice goes out, not the part."""
    backend = Watched(tiny_backend, hold_after=1)  # one piece, then stalled as on a busy CPU
    config = _config(kakao_budget_s=0.3)
    config.chat.tone = tone
    config.generation.max_new_tokens = 64
    with running(create_app(backend, Settings(config))) as url:
        answer = httpx.post(f"{url}/kakao/skill", json=skill_payload("야 주말에 뭐해?"), timeout=30).json()
        (stalled,) = backend.streams
        assert stalled.ended.wait(60)  # stopped, not left waiting
        backend.gate.set()
        httpx.post(f"{url}/kakao/skill", json=skill_payload("심심해"), timeout=30)
    assert _texts(answer) == [notice]
    assert [m["content"] for m in backend.streams[1].messages[1:]] == ["심심해"]  # nothing partial remembered


def test_kakao_callback_gets_the_notice_when_the_reply_misses_its_window(tiny_backend, running):
    backend = Watched(tiny_backend, hold_after=0)  # never starts: the slots stay busy
    config = _inbox_config(kakao_budget_s=0.2, kakao_callback_timeout_s=0.5)
    with (
        running(create_app(backend, Settings(config))) as url,
        callback_receiver() as (port, received, arrived),
    ):
        callback_url = f"http://localhost:{port}/callback/abc"
        ack = httpx.post(
            f"{url}/kakao/skill", json=skill_payload("성수 카페 추천", callback_url=callback_url)
        )
        assert arrived.wait(30), "no callback arrived"
        (stalled,) = backend.streams
        assert stalled.ended.wait(60)
        backend.gate.set()
        httpx.post(f"{url}/kakao/skill", json=skill_payload("심심해"), timeout=30)
    assert ack.json()["useCallback"] is True
    (posted,) = received
    assert posted["path"] == "/callback/abc" and _texts(posted["body"]) == [BUSY]
    assert stalled.text == "" and [m["content"] for m in backend.streams[1].messages[1:]] == ["심심해"]


# --- start-up: exposure and logs ----------------------------------------------------------------------


def test_serve_refuses_a_public_host_without_a_skill_token(monkeypatch, capsys):
    """Before any model loads: one line, exit 2."""
    from insabot.bot.server import ExposedSkillError
    from insabot.cli import main

    monkeypatch.delenv("INSABOT_KAKAO_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--model", "/nonexistent/model"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("insabot: error: serve.host 0.0.0.0 is reachable") and "--kakao-token" in line
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        Settings(_config(host=host))
    Settings(_config(host="0.0.0.0"), kakao_token="s3cret")
    with pytest.raises(ExposedSkillError):
        Settings(_config(host="bot.example.com"))


@pytest.fixture
def restore_logging():
    """`build_server` configures logging process-wide; put the loggers it touches back afterwards."""
    names = ["insabot", "uvicorn", "uvicorn.error", "uvicorn.access"]
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.filters[:], logger.level, logger.propagate, logger.disabled)
    yield
    for name, (handlers, filters, level, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.filters, logger.level = handlers, filters, level
        logger.propagate, logger.disabled = propagate, disabled


def test_log_text_prints_user_text_and_access_lines_hide_the_skill_token(
    capsys, restore_logging, unused_port, running
):
    from insabot.bot.server import build_server

    config = _config(port=unused_port)
    settings = Settings(config, kakao_token="s3cret-token", log_text=True)
    with running(build_server(ScriptedBackend(), settings)) as url:
        httpx.post(f"{url}/kakao/skill/s3cret-token", json=skill_payload("성수 가볼까?"))
        httpx.post(f"{url}/kakao/skill/wrong-guess?x=1", json=skill_payload("야"))
        body = {"messages": [{"role": "user", "content": "주말에 뭐해?"}]}
        httpx.post(f"{url}/v1/chat/completions", json=body)
    captured = capsys.readouterr()
    assert "kakao user-a: 성수 가볼까?" in captured.err
    assert re.search(r"chat chatcmpl-\w+: 주말에 뭐해\?", captured.err)
    assert "NO KAKAO TOKEN" not in captured.err
    assert '"POST /kakao/skill/*** HTTP/1.1" 200' in captured.out
    assert '"POST /kakao/skill/***?x=1 HTTP/1.1" 401' in captured.out
    assert "s3cret" not in captured.out + captured.err and "wrong-guess" not in captured.out


def test_no_user_text_or_access_lines_without_log_text_and_a_loud_warning_without_token(
    capsys, restore_logging, unused_port, running
):
    from insabot.bot.server import build_server

    with running(build_server(ScriptedBackend(), Settings(_config(port=unused_port)))) as url:
        httpx.post(f"{url}/kakao/skill", json=skill_payload("성수 가볼까?"))
    captured = capsys.readouterr()
    assert "WARNING:  NO KAKAO TOKEN: /kakao/skill answers anyone" in captured.err
    assert "성수" not in captured.err + captured.out and "/kakao/skill HTTP" not in captured.out
