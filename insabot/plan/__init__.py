"""일정: chat messages that settle a plan become calendar events.

`when.py` resolves Korean time expressions, `events.py` decides which messages are plans and builds the events,
`read.py` reads plain lines or a KakaoTalk export, `ics.py` writes the .ics file and the calendar link. The
command line (`insabot plan`), the web chat's 일정 tab, `POST /v1/plan` and the Kakao skill all call `plan_text`.
"""

from __future__ import annotations

from datetime import datetime

from insabot.plan.events import Event, Message, PlanResult, Skipped, find_events
from insabot.plan.ics import google_calendar_url, to_ics
from insabot.plan.read import read_messages
from insabot.plan.when import SEOUL, NoWhen, When, resolve

__all__ = [
    "SEOUL",
    "Event",
    "Message",
    "NoWhen",
    "PlanResult",
    "Skipped",
    "When",
    "find_events",
    "google_calendar_url",
    "now_in_seoul",
    "plan_text",
    "read_messages",
    "resolve",
    "to_ics",
]


def now_in_seoul() -> datetime:
    return datetime.now(SEOUL)


def plan_text(text: str, now: datetime | None = None, source: str = "<text>") -> PlanResult:
    """The events in `text` (plain lines at `now`, default the current time, or a KakaoTalk export)."""
    return find_events(read_messages(text, source, now or now_in_seoul()))
