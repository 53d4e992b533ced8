"""Events out: an RFC 5545 calendar file (icalendar) and a Google Calendar "add event" link.

Times are written with TZID=Asia/Seoul and the VTIMEZONE that defines it, which Google Calendar, Apple Calendar
and Outlook all import; an all-day event is a DATE from its day to the next (DTEND is exclusive). An event
with no stated end gets one hour in the file, since a calendar shows a zero-length event as a sliver or not at
all; the JSON output leaves `end` out instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode

from icalendar import Calendar
from icalendar import Event as IcsEvent

from insabot.plan.events import Event

DEFAULT_DURATION = timedelta(hours=1)
PRODID = "-//insabot//insabot plan//KO"


def event_end(event: Event) -> date | datetime:
    """The end a calendar gets: the stated one, one hour after a timed start, or the next day."""
    if event.end is not None:
        return event.end
    if isinstance(event.start, datetime):
        return event.start + DEFAULT_DURATION
    return event.start + timedelta(days=1)


def description(event: Event) -> str:
    lines = [event.text]
    if event.participants:
        lines.append("참여: " + ", ".join(event.participants))
    lines += [f"참고: {note}" for note in event.notes]
    return "\n".join(lines)


def to_ics(events: Iterable[Event], stamp: datetime | None = None) -> bytes:
    """One VCALENDAR with a VEVENT per event. UIDs come from the event's content, so the same plan imported
    twice updates the entry instead of doubling it."""
    stamp = stamp or datetime.now(timezone.utc)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    for event in events:
        entry = IcsEvent()
        key = f"{event.start.isoformat()}|{event.title}|{event.text}"
        entry.add("uid", hashlib.sha256(key.encode()).hexdigest()[:32] + "@insabot")
        entry.add("dtstamp", stamp.astimezone(timezone.utc))
        entry.add("dtstart", event.start)
        entry.add("dtend", event_end(event))
        entry.add("summary", event.title)
        if event.place:
            entry.add("location", event.place)
        entry.add("description", description(event))
        calendar.add_component(entry)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def google_calendar_url(event: Event) -> str:
    """A link that opens Google Calendar's new-event form filled in (the user saves it with one tap)."""
    end = event_end(event)
    if isinstance(event.start, datetime):
        dates = f"{event.start:%Y%m%dT%H%M%S}/{end:%Y%m%dT%H%M%S}"
    else:
        dates = f"{event.start:%Y%m%d}/{end:%Y%m%d}"
    query = {"action": "TEMPLATE", "text": event.title, "dates": dates, "details": description(event)}
    if event.place:
        query["location"] = event.place
    query["ctz"] = "Asia/Seoul"
    return "https://calendar.google.com/calendar/render?" + urlencode(query)
