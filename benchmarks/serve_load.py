"""Load on `insabot serve`: N concurrent OpenAI-client streams, then N concurrent KakaoTalk skill requests
(with a callback URL served here, as Kakao's AI-chatbot callback would), on loopback against the configured
model. Bounded: exactly N requests of each kind, each with a deadline.

Prints completed/failed, p50/p95 time to first token and to the final answer, and the share of Kakao requests
whose skill answered within Kakao's 5 s (directly, or with useCallback and the reply delivered to the callback
URL within its one minute). Target: 0 failures, 100 % within 5 s.

Run: python benchmarks/serve_load.py [--config configs/chat/default.yaml] [--requests 20] [--tokens 48]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from common import free_port, p50_p95
from openai import OpenAI

from insabot.bot.server import FALLBACK_REPLY
from insabot.config import load_config

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
    started = time.perf_counter()
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
        if not text.strip() or text == FALLBACK_REPLY:
            raise ValueError(f"no reply generated: {answer}")
        results.append((True, answered, final, ""))
    except Exception as exc:  # counted and shown
        results.append((False, None, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"))


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="configs/chat/default.yaml")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=48)
    args = parser.parse_args()
    config = load_config(args.config)
    config.generation.max_new_tokens = args.tokens
    server, url = start_server(config)
    print(f"{url} · model {config.model.base_model} + {config.model.adapter} · {args.requests} concurrent requests "
          f"of each kind · {args.tokens} new tokens max · {config.serve.concurrency_limit} generations at once")  # fmt: skip

    results, wall = run_all(openai_stream, args.requests, url, args.tokens)
    report("OpenAI streams", results, wall, "first token")

    inbox = CallbackInbox()
    results, wall = run_all(kakao_request, args.requests, url, inbox)
    report("Kakao skill", results, wall, "skill answered")
    within = sum(1 for r in results if r[0] and r[1] <= 5.0)
    print(
        f"  answered within 5 s (directly or with useCallback): {within}/{len(results)} = {within / len(results):.0%}"
    )
    inbox.server.shutdown()
    server.should_exit = True


if __name__ == "__main__":
    main()
