"""Load on `insabot serve`: N concurrent OpenAI-client streams, then N concurrent KakaoTalk skill requests
(with a callback URL served here, as Kakao's AI-chatbot callback would), on loopback against the configured
model. Bounded: exactly N requests of each kind, each with a deadline.

Prints completed/failed, p50/p95 time to first token and to the final answer, and the share of Kakao requests
whose skill answered within Kakao's 5 s (directly, or with useCallback and the reply delivered to the callback
URL within its one minute). Target: 0 failures, 100 % within 5 s.

The abuse pass sends what a careless client or an attacker would: message orders chat templates refuse, wrong
types, deeply nested JSON, prompts over the token limit and bodies over the byte limit, a flood past the queue,
and requests whose client leaves mid-reply (streamed, not streamed, and during a long prompt's prefill). It
prints the status codes (target: 0 × 500) and how long generation went on after each client left, measured as
the time until the server's reply thread ended, with the process CPU time spent meanwhile (target: within 1 s).

Run: python benchmarks/serve_load.py [--config configs/chat/default.yaml] [--model smollm2-135m]
     [--passes load,abuse] [--requests 20] [--tokens 48]
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from common import free_port, p50_p95
from openai import OpenAI

from insabot.bot.kakao import BUSY_NOTICES
from insabot.bot.server import FALLBACK_REPLY
from insabot.config import ModelConfig, load_config

MESSAGES = [
    "야, 이거 어때?",
    "성수에 갈만한 카페 추천 좀",
    "요즘 유행하는 밈 뭐야?",
    "주말에 정주행할 드라마 있어?",
]


def start_server(config):
    import uvicorn

    from insabot.bot.server import Settings, create_app, local_backend

    config.serve.port = free_port()
    # The skill POSTs late replies only to allowed callback hosts: this run's inbox is local, over plain http.
    config.serve.kakao_callback_hosts = ["localhost"]
    config.serve.kakao_callback_allow_http = True
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(local_backend(config), Settings(config)), port=config.serve.port, log_level="error"
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{config.serve.port}"


def openai_stream(url: str, index: int, tokens: int, results: list) -> None:
    started, first = time.perf_counter(), None
    try:
        client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=600)
        text = ""
        messages = [{"role": "user", "content": MESSAGES[index % len(MESSAGES)]}]
        for chunk in client.chat.completions.create(
            model="insabot", messages=messages, max_tokens=tokens, stream=True
        ):
            piece = chunk.choices[0].delta.content or ""
            if piece and first is None:
                first = time.perf_counter() - started
            text += piece
        if not text.strip():
            raise ValueError("empty reply")
        results.append((True, first, time.perf_counter() - started, ""))
    except Exception as exc:  # counted and shown
        results.append((False, first, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"))


class CallbackInbox:
    """A local stand-in for Kakao's callback endpoint: records when each request's reply arrives."""

    def __init__(self):
        self.arrivals: dict[str, tuple[float, dict]] = {}
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                inbox.arrivals[self.path.rsplit("/", 1)[-1]] = (time.perf_counter(), body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"taskId": "local", "status": "SUCCESS", "message": "", "timestamp": 0}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://localhost:{self.server.server_port}/callback"


def kakao_request(url: str, index: int, inbox: CallbackInbox, results: list) -> None:
    payload = {
        "userRequest": {
            "utterance": MESSAGES[index % len(MESSAGES)],
            "user": {"id": f"load-user-{index}", "type": "botUserKey"},
            "callbackUrl": f"{inbox.url}/{index}",
        },
        "bot": {"id": "load-bot"},
        "action": {"name": "insabot"},
    }
    started, answered = time.perf_counter(), None
    try:
        answer = httpx.post(f"{url}/kakao/skill", json=payload, timeout=30).json()
        answered = time.perf_counter() - started
        if answer.get("useCallback"):
            deadline = started + 60
            while str(index) not in inbox.arrivals and time.perf_counter() < deadline:
                time.sleep(0.05)
            if str(index) not in inbox.arrivals:
                raise TimeoutError("the callback did not arrive within the callback URL's minute")
            arrived, answer = inbox.arrivals[str(index)]
            final = arrived - started
        else:
            final = answered
        text = (
            answer["template"]["outputs"][0]["simpleText"]["text"] if answer.get("version") == "2.0" else ""
        )
        if text in BUSY_NOTICES.values():
            raise TimeoutError(
                "the busy notice: no reply within serve.kakao_callback_timeout_s of the request"
            )
        if not text.strip() or text == FALLBACK_REPLY:
            raise ValueError(f"no reply generated: {answer}")
        results.append((True, answered, final, ""))
    except Exception as exc:  # counted and shown
        results.append((False, answered, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"))


def run_all(target, count: int, *args) -> tuple[list, float]:
    results: list = []
    threads = [threading.Thread(target=target, args=(*args[:1], i, *args[1:], results)) for i in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started


def report(name: str, results: list, wall: float, first_label: str) -> None:
    done = [r for r in results if r[0]]
    print(f"\n{name}: completed {len(done)} / failed {len(results) - len(done)} (wall {wall:.1f} s)")
    if done:
        firsts = [r[1] for r in done if r[1] is not None]
        finals = [r[2] for r in done]
        print(f"  {first_label}: {p50_p95(firsts)}")
        print(f"  final answer: {p50_p95(finals)}")
    for result in results:
        if not result[0]:
            print(f"  failure: {result[3]}")


# --- abuse pass ---------------------------------------------------------------------------------------

BAD_BODIES = [
    {"messages": [{"role": "user", "content": "야"}, {"role": "user", "content": "뭐해?"}]},
    {"messages": [{"role": "assistant", "content": "안녕!"}, {"role": "user", "content": "심심해"}]},
    {"messages": [{"role": "user", "content": "야"}, {"role": "system", "content": "짧게."}, {"role": "user", "content": "뭐해"}]},
    {"messages": [{"role": "system", "content": "짧게."}, {"role": "developer", "content": "반말."}, {"role": "user", "content": "안녕"}]},
    {"messages": [{"role": "user", "content": None}]},
    {"messages": [{"role": "user", "content": ""}]},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
    {"messages": [{"role": "user", "content": "야"}, {"role": "assistant", "content": "응"}]},
    {"messages": [{"role": "tool", "content": "야"}]},
    {"messages": [{"role": "user", "content": "야"}], "max_tokens": "10"},
    {"messages": [{"role": "user", "content": "야"}], "stream": "yes"},
    {"messages": [{"role": "user", "content": "야"}], "max_tokens": -1},
    {"messages": "야"},
    {"messages": []},
    {},
]  # fmt: skip
RAW_BODIES = [
    b'{"messages": [{"role": "user", "content": "\\ud800 \xec\x95\x88"}]}',  # a lone surrogate
    b"[" * 60000,  # nested past json's recursion limit, within the body limit
    b'{"a": ' * 10000,
    b"{nope",
    b"\xff\xfe",
]


def status_counts(url: str, config) -> Counter:
    """Every abusive request once (streamed and not where that differs); the status codes they got."""
    headers = {"Content-Type": "application/json"}
    limit = config.chat.max_message_chars
    # each message within max_message_chars, together past serve.max_prompt_tokens (Hangul: ≥ 1 token a
    # syllable); an odd count, so the last one is the user's
    turns = 2 * (config.serve.max_prompt_tokens // limit) + 1
    over_tokens = [{"role": ("user", "assistant")[i % 2], "content": "가" * limit} for i in range(turns)]
    requests = [("/v1/chat/completions", {"max_tokens": 4, **body, "stream": stream})
                for body in BAD_BODIES for stream in (False, True) if "stream" not in body]  # fmt: skip
    requests += [("/v1/chat/completions", body) for body in BAD_BODIES if "stream" in body]
    requests += [("/v1/chat/completions", raw) for raw in RAW_BODIES]
    requests += [("/kakao/skill", raw) for raw in RAW_BODIES]
    requests += [
        ("/v1/chat/completions", {"messages": over_tokens}),
        ("/v1/chat/completions", {"messages": over_tokens, "stream": True}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "가" * (limit + 1)}]}),
        ("/v1/chat/completions", b"x" * (config.serve.max_body_bytes + 1)),
        ("/kakao/skill", {"userRequest": {"utterance": "가" * (limit + 1), "user": {"id": "abuser"}}}),
        ("/kakao/skill", {"userRequest": {"utterance": ["야"], "user": {"id": "abuser"}}}),
    ]
    codes: Counter = Counter()
    with httpx.Client(base_url=url, timeout=120, headers=headers) as client:
        for path, body in requests:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            codes[client.post(path, content=content).status_code] += 1
    return codes


def flood(url: str, config) -> Counter:
    """More concurrent requests than there are slots and queue places: the rest must be 429s, not waits."""
    extra = 8
    count = config.serve.concurrency_limit + config.serve.max_queue + extra
    body = {"messages": [{"role": "user", "content": "야"}], "max_tokens": 4}

    def post(_):
        return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=600).status_code

    with ThreadPoolExecutor(count) as pool:
        return Counter(pool.map(post, range(count)))


def reply_threads() -> int:
    return sum(thread.name == "insabot-reply" for thread in threading.enumerate())


def abandon(url: str, body: dict, leave) -> tuple[float, float]:
    """Sends `body` on a bare socket; once the server started its reply, `leave(sock)` decides when the client
    goes and closes it. Returns the seconds until the server's reply thread ended and the process CPU seconds
    spent meanwhile."""
    while reply_threads():  # start from an idle server, so the measurement is this request's alone
        time.sleep(0.01)
    address = httpx.URL(url)
    data = json.dumps(body).encode()
    sock = socket.create_connection((address.host, address.port))
    sock.sendall(
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {address.host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n".encode()
        + data
    )
    while not reply_threads():
        if select.select([sock], [], [], 0.005)[0] and not reply_threads():  # answered, and nothing generates
            raise RuntimeError(f"the server answered without generating: {sock.recv(300, socket.MSG_PEEK)!r}")
    leave(sock)
    cpu, left = time.process_time(), time.perf_counter()
    sock.close()
    while reply_threads():
        time.sleep(0.005)
    return time.perf_counter() - left, time.process_time() - cpu


def after_first_token(sock: socket.socket) -> None:
    received = b""
    while received.count(b"data: ") < 2:  # the role chunk, then the first piece of text
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"the server closed the stream first: {received[:300]!r}")
        received += chunk


def after(seconds: float):
    return lambda sock: time.sleep(seconds)


def abandoned(url: str, config, tokens: int) -> dict[str, list[tuple[float, float]]]:
    long_reply = {"messages": [{"role": "user", "content": MESSAGES[0]}], "max_tokens": 4 * tokens}
    # a prefill that takes seconds, left 0.2 s into it; within the prompt limit even at SmolLM2's ~2 tokens a
    # character of ordinary Korean
    chars = min(config.chat.max_message_chars, config.serve.max_prompt_tokens // 3)
    long_prompt = {"messages": [{"role": "user", "content": (" ".join(MESSAGES) * 100)[:chars]}]}
    return {
        "streamed, left after the first token": [
            abandon(url, {**long_reply, "stream": True}, after_first_token) for _ in range(4)
        ],
        "not streamed, left 1 s into its reply": [abandon(url, long_reply, after(1.0)) for _ in range(4)],
        "not streamed, left 0.2 s into a long prompt's prefill": [abandon(url, long_prompt, after(0.2))],
    }


def run_abuse(url: str, config, tokens: int) -> None:
    codes = status_counts(url, config)
    flooded = flood(url, config)
    print(f"\nAbuse: {sum(codes.values())} bad requests → {dict(sorted(codes.items()))}")
    print(f"  flood of {sum(flooded.values())} concurrent requests → {dict(sorted(flooded.items()))}")
    print(f"  500s: {codes[500] + flooded[500]} (target 0)")
    for kind, results in abandoned(url, config, tokens).items():
        released = ", ".join(f"{wall:.2f} s ({cpu:.2f} s CPU)" for wall, cpu in results)
        print(f"  {kind}: generation ended {released} after the client left (target ≤ 1 s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="configs/chat/default.yaml")
    parser.add_argument("--model", default=None, help="a base model instead of the config's (no adapter)")
    parser.add_argument("--passes", default="load,abuse", help="comma-separated: load, abuse")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument(
        "--users", type=int, default=0, help="then N users sending to the Kakao skill at once, --rounds each"
    )
    parser.add_argument(
        "--rounds", type=int, default=10, help="messages each of --users sends, one at a time"
    )
    args = parser.parse_args()
    passes = set(args.passes.split(","))
    config = load_config(args.config)
    if args.model:
        config.model = ModelConfig(base_model=args.model)
    config.generation.max_new_tokens = args.tokens
    server, url = start_server(config)
    print(f"{url} · model {config.model.base_model} + {config.model.adapter} · {args.requests} concurrent requests "
          f"of each kind · {args.tokens} new tokens max · {config.serve.concurrency_limit} generations at once, "
          f"{config.serve.max_queue} waiting")  # fmt: skip
    if "load" in passes:
        run_load(url, args)
    if args.users:
        run_kakao_users(url, args.users, args.rounds, config.serve.kakao_budget_s)
    if "abuse" in passes:
        run_abuse(url, config, args.tokens)
    server.should_exit = True


def run_load(url: str, args) -> None:
    results, wall = run_all(openai_stream, args.requests, url, args.tokens)
    report("OpenAI streams", results, wall, "first token")

    inbox = CallbackInbox()
    results, wall = run_all(kakao_request, args.requests, url, inbox)
    report("Kakao skill", results, wall, "skill answered")
    within = sum(1 for r in results if r[0] and r[1] <= 5.0)
    print(
        f"  answered within 5 s (directly or with useCallback): {within}/{len(results)} = {within / len(results):.0%}"
    )
    # a reply that misses the callback's minute gets the busy notice instead: the user still hears back in time
    heard = sum(1 for r in results if r[1] is not None and r[1] <= 5.0)
    print(f"  skill answered within 5 s, busy notices included: {heard}/{len(results)}")
    inbox.server.shutdown()


def run_kakao_users(url: str, users: int, rounds: int, budget_s: float) -> None:
    """`users` people each sending `rounds` messages one after another: the steady load a channel sees, where a
    burst of 20 at once is the worst case. Counts the replies the skill gave directly (no callback) in budget."""
    inbox = CallbackInbox()
    results: list = []

    def user(first: int) -> None:
        for index in range(first, first + rounds):
            kakao_request(url, index, inbox, results)

    threads = [threading.Thread(target=user, args=(u * rounds,)) for u in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report(
        f"Kakao skill, {users} users x {rounds} messages",
        results,
        time.perf_counter() - started,
        "skill answered",
    )
    direct = sum(1 for ok, answered, final, _ in results if ok and answered == final and answered <= budget_s)
    print(
        f"  answered directly (no callback) within {budget_s} s: {direct}/{len(results)} = {direct / len(results):.0%}"
    )
    inbox.server.shutdown()


if __name__ == "__main__":
    main()
