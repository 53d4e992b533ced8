"""A streaming chat in the terminal: tokens print as they come; Ctrl-C stops the reply, not the program."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TextIO

from insabot.bot.respond import ChatSettings, respond
from insabot.chat import TONE_LABELS, ChatInputError
from insabot.models.loading import LoadedModel

HELP = "명령: /reset 대화 지우기 · /tone banmal|jondaetmal 말투 바꾸기 · /exit 나가기 (Ctrl-C: 답변 멈추기)"


def run_terminal_chat(
    loaded: LoadedModel,
    settings: ChatSettings,
    read: Callable[[str], str] = input,
    out: TextIO = sys.stdout,
) -> list[dict[str, str]]:
    """Chat until /exit or end of input; returns the conversation history."""
    history: list[dict[str, str]] = []
    print(
        f"인싸봇 · {loaded.source.spec}{' + ' + loaded.adapter if loaded.adapter else ''} · "
        f"{TONE_LABELS.get(settings.chat.tone, settings.chat.tone)}",
        file=out,
    )
    print(HELP, file=out)
    while True:
        try:
            message = read("\n나> ")
        except (EOFError, KeyboardInterrupt):
            print(file=out)
            return history
        command = message.strip()
        if command in ("/exit", "/quit"):
            return history
        if command == "/reset":
            history.clear()
            print("(대화를 지웠어)", file=out)
            continue
        if command.startswith("/tone"):
            _set_tone(settings, command.removeprefix("/tone").strip(), out)
            continue
        reply = _stream_one_reply(message, history, loaded, settings, out)
        if reply is not None:
            history += [{"role": "user", "content": message}, {"role": "assistant", "content": reply}]


def _set_tone(settings: ChatSettings, tone: str, out: TextIO) -> None:
    if tone not in TONE_LABELS:
        print(f"(말투는 {', '.join(TONE_LABELS)} 중 하나)", file=out)
        return
    settings.chat.tone = tone
    print(f"(이제 {TONE_LABELS[tone]}로 답할게)", file=out)


def _stream_one_reply(message, history, loaded, settings, out) -> str | None:
    stop = threading.Event()
    shown = ""
    print("인싸봇> ", end="", file=out, flush=True)
    try:
        for reply in respond(message, history, settings, loaded, stop):
            print(reply[len(shown) :], end="", file=out, flush=True)
            shown = reply
    except KeyboardInterrupt:
        stop.set()  # respond's generator is closed below; its finally joins the generation thread
        print(" [멈춤]", end="", file=out)
    except ChatInputError as exc:
        print(f"({exc})", file=out)
        return None
    print(file=out, flush=True)
    return shown
