"""KakaoTalk channel skill (Kakao i Open Builder): the request and response formats, and per-user memory.

Pure: no web framework, no model (httpx only parses the callback URL, exactly as it will be requested).
`bot/server.py` wires these to HTTP and to a generation backend.
Formats follow the skill guide of 챗봇 관리자센터 (skill payload, skill response v2.0, AI chatbot callback).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from insabot.bot.plans import when_text
from insabot.chat import Message, nfc
from insabot.config import Tone
from insabot.plan import Event, google_calendar_url

SIMPLE_TEXT_MAX_CHARS = 1000
"""simpleText's text limit; a longer reply is split over several outputs."""
MAX_OUTPUTS = 3
"""A skill response carries at most three outputs."""
RESET_UTTERANCE = "처음부터"
QUICK_REPLIES = [{"label": RESET_UTTERANCE, "action": "message", "messageText": RESET_UTTERANCE}]
CALLBACK_WAITING_TEXT = "잠깐만, 생각 중이야 🤔"
BUSY_NOTICES: dict[Tone, str] = {
    "banmal": "잠깐 바빠서 못 봤어, 다시 보내줄래?",
    "jondaetmal": "잠깐 바빠서 못 봤어요, 다시 보내주실래요?",
}
"""The answer, in the configured tone, when no reply can come in time (every slot and queue place taken, or the
reply not ready within the skill's budget or the callback's minute): half a reply would read as the reply."""


class SkillPayloadError(ValueError):
    """A request that is not a skill payload; the message names the missing or wrong field."""


@dataclass(frozen=True)
class SkillRequest:
    utterance: str
    user_id: str
    callback_url: str | None
    bot_id: str | None


def parse_skill_request(payload: Any) -> SkillRequest:
    if not isinstance(payload, Mapping):
        raise SkillPayloadError("the body must be a JSON object (a Kakao skill payload)")
    user_request = payload.get("userRequest")
    if not isinstance(user_request, Mapping):
        raise SkillPayloadError("userRequest is missing or not an object")
    utterance = user_request.get("utterance")
    if not isinstance(utterance, str):
        raise SkillPayloadError("userRequest.utterance is missing or not a string")
    user = user_request.get("user")
    user_id = user.get("id") if isinstance(user, Mapping) else None
    if not isinstance(user_id, str) or not user_id:
        raise SkillPayloadError("userRequest.user.id is missing or not a string")
    callback_url = user_request.get("callbackUrl")
    if callback_url is not None and not isinstance(callback_url, str):
        raise SkillPayloadError("userRequest.callbackUrl is not a string")
    bot = payload.get("bot")
    bot_id = bot.get("id") if isinstance(bot, Mapping) else None
    return SkillRequest(nfc(utterance).strip(), user_id, callback_url or None, bot_id)


class CallbackRefused(ValueError):
    """A callbackUrl the skill will not POST to. The message says why and never holds the URL itself (its path
    is Kakao's one-time key)."""


def callback_target(url: str, hosts: Sequence[str], allow_http: bool = False) -> httpx.URL:
    """The callback URL parsed as httpx will request it, if it is https (or http with `allow_http`) to a host
    name of `hosts` (`.example.com` entries match subdomains too); else CallbackRefused. Anyone who can reach
    the skill writes this URL, so everything else (loopback, private ranges, cloud metadata) is refused.
    Checking the parsed object that is then requested leaves no room between two URL parsers."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise CallbackRefused(f"not a valid URL ({exc})") from None
    if parsed.scheme != "https" and not (allow_http and parsed.scheme == "http"):
        raise CallbackRefused(f"scheme {parsed.scheme!r} is not https")
    host = parsed.host.rstrip(".")  # lower-cased by httpx; "kakao.com." is the same host as "kakao.com"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise CallbackRefused(f"host {host!r} is an IP address, not a host name")
    for allowed in (entry.lower() for entry in hosts):
        if host == allowed.lstrip(".") or (allowed.startswith(".") and host.endswith(allowed)):
            return parsed
    raise CallbackRefused(f"host {host!r} is not in serve.kakao_callback_hosts")


def split_text(text: str, limit: int = SIMPLE_TEXT_MAX_CHARS, parts: int = MAX_OUTPUTS) -> list[str]:
    """At most `parts` chunks of at most `limit` characters, cut at a line break or space where one is near;
    what does not fit in the last chunk is cut with an ellipsis."""
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit and len(chunks) < parts - 1:
        cut = max(rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest if len(rest) <= limit else rest[: limit - 1].rstrip() + "…")
    return chunks


def skill_response(text: str, cards: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """A skill response v2.0 with the reply as simpleText outputs, then `cards` (the reply gets the outputs
    they leave), and the reset quick reply."""
    chunks = split_text(text, parts=MAX_OUTPUTS - len(cards))
    outputs = [{"simpleText": {"text": chunk}} for chunk in chunks] or [{"simpleText": {"text": "…"}}]
    return {"version": "2.0", "template": {"outputs": outputs + list(cards), "quickReplies": QUICK_REPLIES}}


TEXT_CARD_TITLE_MAX = 50
TEXT_CARD_DESCRIPTION_MAX = 400
CALENDAR_BUTTON = "캘린더에 추가"


def plan_card(event: Event) -> dict[str, Any]:
    """A textCard of the event with a "캘린더에 추가" button: a Google Calendar link, filled in, that the user
    saves with one tap (a skill cannot attach a file)."""
    lines = [f"🕒 {when_text(event)}"]
    if event.place:
        lines.append(f"📍 {event.place}")
    if event.participants:
        lines.append("👥 " + ", ".join(event.participants))
    return {
        "textCard": {
            "title": f"📅 {event.title}"[:TEXT_CARD_TITLE_MAX],
            "description": "\n".join(lines)[:TEXT_CARD_DESCRIPTION_MAX],
            "buttons": [
                {"action": "webLink", "label": CALENDAR_BUTTON, "webLinkUrl": google_calendar_url(event)}
            ],
        }
    }


def callback_acknowledgement(text: str = CALLBACK_WAITING_TEXT) -> dict[str, Any]:
    """The immediate answer that tells Kakao the real response will come to the callback URL."""
    return {"version": "2.0", "useCallback": True, "data": {"text": text}}


class ConversationMemory:
    """The last `max_turns` exchanges per Kakao user, forgotten after `ttl_s` of silence; at most
    `max_users` users are held (the least recently active are dropped first). Thread-safe."""

    def __init__(
        self, max_turns: int, ttl_s: float, max_users: int, clock: Callable[[], float] = time.monotonic
    ):
        self.max_turns, self.ttl_s, self.max_users = max_turns, ttl_s, max_users
        self._clock = clock
        self._users: OrderedDict[str, tuple[float, list[Message]]] = OrderedDict()
        self._lock = threading.Lock()

    def history(self, user_id: str) -> list[Message]:
        with self._lock:
            entry = self._users.get(user_id)
            if entry is None or self._clock() - entry[0] > self.ttl_s:
                self._users.pop(user_id, None)
                return []
            return list(entry[1])

    def add(self, user_id: str, user_text: str, reply: str) -> None:
        with self._lock:
            now = self._clock()
            _, messages = self._users.pop(user_id, (now, []))
            messages = [
                *messages,
                {"role": "user", "content": user_text},
                {"role": "assistant", "content": reply},
            ]
            self._users[user_id] = (now, messages[-2 * self.max_turns :])
            while len(self._users) > self.max_users:
                self._users.popitem(last=False)

    def reset(self, user_id: str) -> None:
        with self._lock:
            self._users.pop(user_id, None)

    def __len__(self) -> int:
        return len(self._users)
