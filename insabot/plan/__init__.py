"""일정: chat messages that settle a plan become calendar events.

`when.py` resolves Korean time expressions, `events.py` decides which messages are plans and builds the events,
`read.py` reads plain lines or a KakaoTalk export, `ics.py` writes the .ics file and the calendar link. The
command line (`insabot plan`), the web chat's 일정 tab, `POST /v1/plan` and the Kakao skill all call `plan_text`.
"""

from __future__ import annotations

from datetime import datetime

from insabot.errors import InsabotError
from insabot.plan.events import Event, Message, PlanResult, Skipped, find_events
from insabot.plan.ics import google_calendar_url, to_ics
from insabot.plan.read import read_messages
from insabot.plan.when import SEOUL, NoWhen, When, resolve

__all__ = [
    "SEOUL",
    "Event",
    "Message",
    "NoWhen",
    "PlanInputError",
    "PlanResult",
    "Skipped",
    "When",
    "find_events",
    "google_calendar_url",
    "now_in_seoul",
    "parse_now",
    "plan_message",
    "plan_text",
    "read_messages",
    "resolve",
    "to_ics",
]


class PlanInputError(InsabotError, ValueError):
    """A reference time that is not ISO 8601 (the message names the flag or field)."""


def now_in_seoul() -> datetime:
    return datetime.now(SEOUL)


def parse_now(value: str | None, name: str = "now") -> datetime:
    """An ISO 8601 reference time (without an offset: Asia/Seoul); None is the current time."""
    if value is None:
        return now_in_seoul()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PlanInputError(f"{name}: {value!r} is not an ISO 8601 time (like 2026-12-09T12:00)") from None
    return parsed.replace(tzinfo=SEOUL) if parsed.tzinfo is None else parsed.astimezone(SEOUL)


def plan_message(text: str, now: datetime | None = None) -> list[Event]:
    """The events of one chat message (the web chat's and the Kakao skill's user turn): read as one message
    whatever it looks like, so text pasted from an export is never a format error there."""
    return find_events([Message(1, text, now or now_in_seoul())]).events


def plan_text(text: str, now: datetime | None = None, source: str = "<text>") -> PlanResult:
    """The events in `text` (plain lines at `now`, default the current time, or a KakaoTalk export)."""
    return find_events(read_messages(text, source, now or now_in_seoul()))
