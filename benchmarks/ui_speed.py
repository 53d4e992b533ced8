"""Time to first token and decode speed of the web chat's generation path vs plain `model.generate`,
measured in one run on the same model and prompt (greedy, same number of new tokens).

- plain: `model.generate` with a streamer that only records when each token arrives (the baseline).
- respond(): the function behind the web chat (chat template, NFC, streamer thread, stop event).
- web chat over HTTP: the running Gradio app driven by gradio_client (adds the queue and streaming).

llama.cpp (llama-cpp-python) is not measured: its wheel compiles llama.cpp from source (~15 min here).

Run: python benchmarks/ui_speed.py [--config configs/chat/default.yaml] [--tokens 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from common import TokenClock, free_port

from insabot.bot.models import ModelChoice, ModelPool
from insabot.bot.respond import ChatSettings, respond
from insabot.chat import build_conversation, system_prompt_for
from insabot.config import load_config
from insabot.generation import encode_conversation, generate_kwargs

PROMPT = "야, 이거 어때?"


def plain_generate(loaded, settings: ChatSettings) -> tuple[float, float, int]:
    clock = TokenClock()
    started = time.perf_counter()  # templating and tokenising count on both sides
    conversation = build_conversation(PROMPT, [], settings.system_prompt)
    inputs = encode_conversation(loaded.tokenizer, conversation)
    kwargs = generate_kwargs(settings.generation, loaded.tokenizer, loaded.model)
    loaded.model.generate(**inputs, streamer=clock, **kwargs)
    return _figures(started, clock.times)


def ui_path(loaded, settings: ChatSettings) -> tuple[float, float, int]:
    times, reply = [], ""
    started = time.perf_counter()
    for reply in respond(PROMPT, [], settings, loaded):  # noqa: B007 - the last one is the reply
        times.append(time.perf_counter())
    # a yield carries whatever text the new tokens completed; count the reply's tokens once at the end
    tokens = len(loaded.tokenizer(reply, add_special_tokens=False)["input_ids"])
    return _figures(started, times, tokens=tokens)


def _figures(started: float, times: list[float], tokens: int | None = None) -> tuple[float, float, int]:
    tokens = tokens or len(times)
    ttft = times[0] - started
    decode = (tokens - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    return ttft, decode, tokens


def http_ttft(pool: ModelPool, config, settings: ChatSettings, repeats: int) -> list[float]:
    from gradio_client import Client

    from insabot.bot.ui import WebChat, build_app, launch

    config.ui.port = free_port()
    app = build_app(WebChat(pool, config))
    launch(app, config.ui, prevent_thread_lock=True)
    client = Client(f"http://127.0.0.1:{config.ui.port}/", verbose=False)
    gen = settings.generation
    values = []
    for _ in range(repeats):
        started = time.perf_counter()
        job = client.submit(
            PROMPT, pool.labels[0], settings.chat.tone, settings.system_prompt, 0.0, gen.top_p,
            gen.max_new_tokens, gen.repetition_penalty, api_name="/chat",
        )  # fmt: skip
        while not job.outputs():
            time.sleep(0.005)
        values.append(time.perf_counter() - started)
        job.result()
    client.close()
    app.close()
    return values


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="configs/chat/default.yaml")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config = load_config(args.config)
    # greedy and no repetition penalty on both sides, so both produce the same tokens
    generation = dataclasses.replace(
        config.generation, do_sample=False, max_new_tokens=args.tokens, repetition_penalty=1.0
    )
    settings = ChatSettings(chat=config.chat, generation=generation)
    pool = ModelPool(config.model, [ModelChoice(config.model.base_model, config.model.adapter)])
    loaded = pool.get(pool.labels[0])
    print(
        f"model: {pool.labels[0]} · prompt {PROMPT!r} · system prompt {system_prompt_for(config.chat.tone)!r}"
    )
    plain_generate(loaded, settings)  # warm-up
    rows = {"plain generate": [], "respond() (UI path)": []}
    for _ in range(args.repeats):
        rows["plain generate"].append(plain_generate(loaded, settings))
        rows["respond() (UI path)"].append(ui_path(loaded, settings))
    print(f"{'path':<22} {'TTFT (s)':>9} {'decode tok/s':>13} {'tokens':>7}")
    medians = {}
    for name, results in rows.items():
        ttft = statistics.median(r[0] for r in results)
        decode = statistics.median(r[1] for r in results)
        medians[name] = (ttft, decode)
        print(f"{name:<22} {ttft:>9.3f} {decode:>13.1f} {results[0][2]:>7}")
    config.generation = generation
    http = statistics.median(http_ttft(pool, config, settings, args.repeats))
    print(f"{'web chat over HTTP':<22} {http:>9.3f} {'':>13} {'':>7}")
    base_ttft, base_decode = medians["plain generate"]
    ui_ttft, ui_decode = medians["respond() (UI path)"]
    print(f"\nUI path / plain: TTFT x{ui_ttft / base_ttft:.2f}, decode speed x{ui_decode / base_decode:.2f}")
    print(
        f"targets: TTFT < 0.3 s (UI path {ui_ttft:.3f} s, over HTTP {http:.3f} s); decode within 10% of plain"
    )


if __name__ == "__main__":
    main()
