"""일정 in the web chat: events as a table, a one-line summary and a downloadable .ics. Presentation only —
finding the events is `insabot.plan`'s."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from insabot.chat import normalize_history
from insabot.plan import Event, PlanResult, plan_message, to_ics

TABLE_HEADERS = ["줄", "시작", "끝", "제목", "장소", "참여자", "메시지", "참고"]
WEEKDAY_NAMES = "월화수목금토일"


def when_text(event: Event) -> str:
    """12월 12일 (토) 18:00 — the way a person reads it; an all-day event is its day alone."""
    start = event.start
    text = f"{start.month}월 {start.day}일 ({WEEKDAY_NAMES[start.weekday()]})"
    if isinstance(start, datetime):
        text += f" {start:%H:%M}"
    if event.end is not None:
        text += f"–{event.end:%H:%M}"
    return text


def event_rows(result: PlanResult) -> list[list[Any]]:
    """One table row per event, then one per message that named a time but made none (its reason in 참고)."""
    rows: list[list[Any]] = [
        [
            event.line,
            event.start.isoformat(),
            event.end.isoformat() if event.end else "",
            event.title,
            event.place or "",
            ", ".join(event.participants),
            event.text,
            " / ".join(event.notes),
        ]
        for event in result.events
    ]
    rows += [[s.line, "", "", "(일정 없음)", "", "", s.text, s.note] for s in result.skipped]
    return sorted(rows, key=lambda row: row[0])


def write_ics(events: Iterable[Event]) -> str:
    """The events as a fresh .ics file in a temporary folder (Gradio serves it for download)."""
    folder = Path(tempfile.mkdtemp(prefix="insabot-plan-"))
    path = folder / f"insabot-일정-{time.strftime('%Y%m%d-%H%M%S')}.ics"
    path.write_bytes(to_ics(events))
    return str(path)


def turn_plan(history: Iterable[Mapping[str, Any]] | None, now: datetime | None = None) -> Event | None:
    """The plan the user's last message settles, once the bot has answered it (None otherwise)."""
    messages = normalize_history(history)
    if len(messages) < 2 or messages[-1]["role"] != "assistant" or messages[-2]["role"] != "user":
        return None
    events = plan_message(messages[-2]["content"], now)
    return events[0] if events else None


def plan_markdown(event: Event) -> str:
    place = f" · 📍 {event.place}" if event.place else ""
    notes = "".join(f"\n- {note}" for note in event.notes)
    return f"📅 **{event.title}** — {when_text(event)}{place}{notes}"
