"""Two models answer the same message side by side, both streaming (the web chat's arena tab)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from insabot.bot.respond import ChatSettings, respond
from insabot.models.loading import LoadedModel


def side_by_side(left: Iterator[str], right: Iterator[str]) -> Iterator[tuple[str, str]]:
    """Advance two growing-reply streams in turn; yield both replies so far after every step.

    Each stream generates in its own thread, so both models compute at once; this only interleaves what
    they have produced. A stream that finishes keeps its last text while the other goes on.
    """
    texts = ["", ""]
    streams: dict[int, Iterator[str]] = {0: left, 1: right}
    while streams:
        for side in list(streams):
            try:
                texts[side] = next(streams[side])
            except StopIteration:
                del streams[side]
                continue
            yield texts[0], texts[1]


def arena_respond(
    message: str,
    settings: ChatSettings,
    left: LoadedModel,
    right: LoadedModel,
    stop_event: threading.Event | None = None,
) -> Iterator[tuple[str, str]]:
    """Both models' growing replies to one fresh message (no history: the comparison is prompt for prompt)."""
    stop_event = stop_event or threading.Event()
    left_stream = respond(message, [], settings, left, stop_event)
    right_stream = respond(message, [], settings, right, stop_event)
    try:
        yield from side_by_side(left_stream, right_stream)
    finally:  # closing either generator joins its generation thread
        stop_event.set()
        left_stream.close()
        right_stream.close()
