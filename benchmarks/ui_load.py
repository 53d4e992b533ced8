"""Load on the web chat: N concurrent gradio_client sessions, each sending one Korean message and
streaming the reply, against the app on loopback (started here with the chat config, or --url).

Bounded: exactly N requests, each with a deadline. Prints completed/failed and p50/p95 latency to the
first streamed text and to the whole reply. Target: 0 failures.

Run: python benchmarks/ui_load.py [--config configs/chat/default.yaml] [--sessions 20] [--tokens 48]
"""

from __future__ import annotations

import argparse
import threading
import time

from common import free_port, p50_p95
from gradio_client import Client

from insabot.bot.ui import EXAMPLES, WebChat, build_app, launch
from insabot.chat import system_prompt_for
from insabot.config import load_config


def one_session(url: str, index: int, args, config, results: list, label: str) -> None:
    started = time.perf_counter()
    first = None
    try:
        client = Client(url, verbose=False)
        gen = config.generation
        job = client.submit(
            EXAMPLES[index % len(EXAMPLES)], label, config.chat.tone, system_prompt_for(config.chat.tone),
            gen.temperature, gen.top_p, args.tokens, gen.repetition_penalty, api_name="/chat",
        )  # fmt: skip
        for reply, _badges in job:
            if first is None and reply:
                first = time.perf_counter() - started
            if time.perf_counter() - started > args.deadline:
                job.cancel()
                raise TimeoutError(f"no complete reply within {args.deadline} s")
        reply, _ = job.result(timeout=args.deadline)
        if not reply.strip():
            raise ValueError("empty reply")
        results.append(("ok", first, time.perf_counter() - started, ""))
        client.close()
    except Exception as exc:  # every failure is counted and shown, none stops the run
        results.append(("failed", first, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="configs/chat/default.yaml")
    parser.add_argument("--url", default=None, help="an already running web chat (default: start one here)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=48, help="max new tokens per reply")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds per request")
    args = parser.parse_args()
    config = load_config(args.config)
    app = None
    url = args.url
    if url is None:
        from insabot.bot.models import ModelPool, discover_choices

        config.ui.port = free_port()
        pool = ModelPool(config.model, discover_choices(config.model, config.ui.model_dirs))
        pool.get(pool.labels[0])
        app = build_app(WebChat(pool, config))
        launch(app, config.ui, prevent_thread_lock=True)
        url = f"http://127.0.0.1:{config.ui.port}/"
    label = Client(url, verbose=False).view_api(print_info=False, return_format="dict")
    label = label["named_endpoints"]["/chat"]["parameters"][1]["parameter_default"]

    results: list = []
    threads = [
        threading.Thread(target=one_session, args=(url, i, args, config, results, label))
        for i in range(args.sessions)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if app is not None:
        app.close()

    done = [r for r in results if r[0] == "ok"]
    failed = [r for r in results if r[0] != "ok"]
    print(f"{args.sessions} concurrent sessions · {args.tokens} new tokens max · concurrency limit "
          f"{config.ui.concurrency_limit} · wall {wall:.1f} s")  # fmt: skip
    print(f"completed {len(done)} / failed {len(failed)}")
    if done:
        firsts = [r[1] for r in done if r[1] is not None]
        totals = [r[2] for r in done]
        print(f"first text: {p50_p95(firsts)}")
        print(f"whole reply: {p50_p95(totals)}")
    for _, _, _, error in failed:
        print(f"  failure: {error}")


if __name__ == "__main__":
    main()
