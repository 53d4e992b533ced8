"""`POST /v1/plan` and the Kakao skill's plan card, on `insabot serve` with the tiny model."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from icalendar import Calendar

from insabot.bot.kakao import MAX_OUTPUTS, plan_card, skill_response
from insabot.bot.server import Settings, create_app
from insabot.config import Config
from insabot.plan import SEOUL, now_in_seoul, plan_text


@pytest.fixture(scope="module")
def server(tiny_backend_for, running):
    config = Config()
    config.generation.max_new_tokens = 16
    config.serve.kakao_budget_s = 120  # a loaded CI machine: the card follows a reply, never the busy notice
    with running(create_app(tiny_backend_for(), Settings(config, api_key="sk-test"))) as url:
        yield url


AUTH = {"Authorization": "Bearer sk-test"}


def test_plan_endpoint_returns_events_and_ics(server):
    body = {
        "text": "토요일 저녁 6시에 합정역에서 보자\n2월 30일에 보자\n안녕",
        "now": "2026-12-09T12:00",
        "ics": True,
    }
    answer = httpx.post(f"{server}/v1/plan", json=body, headers=AUTH).json()
    assert answer["object"] == "plan"
    assert [(e["line"], e["start"], e["place"]) for e in answer["events"]] == [
        (1, "2026-12-12T18:00:00+09:00", "합정역")
    ]
    assert answer["skipped"][0]["line"] == 2
    (event,) = Calendar.from_ical(answer["ics"].encode()).walk("VEVENT")
    assert event.decoded("dtstart").isoformat() == "2026-12-12T18:00:00+09:00"


def test_plan_endpoint_reads_an_export(server):
    export = "[민지] [오후 9:03] 내일 점심 1시 ㄱㄱ\n"
    text = "--------------- 2026년 12월 31일 목요일 ---------------\n" + export
    answer = httpx.post(f"{server}/v1/plan", json={"text": text}, headers=AUTH).json()
    assert [(e["start"], e["participants"]) for e in answer["events"]] == [
        ("2027-01-01T13:00:00+09:00", ["민지"])
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": "내일 보자", "now": "다음 주"}, "now"),
        ({"text": 3}, "text"),
        ({}, "text"),
        ({"text": "내일 보자", "extra": 1}, "extra"),
        ({"text": "민지 님과 카카오톡 대화\n2026/12/30 21:03 민지: 내일 보자"}, "text:2"),
        ({"text": "\ud800"}, "surrogate"),
    ],
)
def test_plan_endpoint_bad_input_is_a_400_json_error(server, body, message):
    import json

    response = httpx.post(
        f"{server}/v1/plan",
        content=json.dumps(body),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]


def test_plan_endpoint_needs_the_api_key(server):
    assert httpx.post(f"{server}/v1/plan", json={"text": "내일 보자"}).status_code == 401


def skill_payload(utterance):
    return {
        "intent": {"id": "fallback", "name": "폴백 블록"},
        "userRequest": {"utterance": utterance, "user": {"id": "plan-user", "type": "botUserKey"}},
        "bot": {"id": "bot-1", "name": "인싸봇"},
        "action": {"id": "a", "name": "insabot", "params": {}, "detailParams": {}, "clientExtra": {}},
    }


def test_kakao_skill_adds_a_calendar_card_to_the_reply(server):
    answer = httpx.post(
        f"{server}/kakao/skill", json=skill_payload("내일 저녁 7시에 강남역에서 보자"), timeout=150
    )
    outputs = answer.json()["template"]["outputs"]
    assert "simpleText" in outputs[0]
    card = outputs[-1]["textCard"]
    assert "강남역" in card["title"] and len(card["title"]) <= 50
    (button,) = card["buttons"]
    assert button["action"] == "webLink" and button["label"] == "캘린더에 추가"
    query = parse_qs(urlparse(button["webLinkUrl"]).query)
    tomorrow = (now_in_seoul().date() + timedelta(days=1)).strftime("%Y%m%d")
    assert query["dates"] == [f"{tomorrow}T190000/{tomorrow}T200000"]
    assert query["action"] == ["TEMPLATE"] and query["ctz"] == ["Asia/Seoul"]


def test_kakao_skill_without_a_plan_has_no_card(server):
    answer = httpx.post(f"{server}/kakao/skill", json=skill_payload("야 뭐해"), timeout=150).json()
    assert all("textCard" not in output for output in answer["template"]["outputs"])


def test_a_long_reply_leaves_room_for_the_card():
    from datetime import datetime

    (event,) = plan_text("다음 주말에 한강 갈 사람?", datetime(2026, 12, 9, 12, tzinfo=SEOUL)).events
    card = plan_card(event)
    response = skill_response("가" * 5000, [card])
    outputs = response["template"]["outputs"]
    assert len(outputs) == MAX_OUTPUTS and outputs[-1] == card
    assert card["textCard"]["description"].startswith("🕒 12월 19일 (토)")
    assert "dates=20261219%2F20261220" in card["textCard"]["buttons"][0]["webLinkUrl"]
    assert date(2026, 12, 19).weekday() == 5


def test_kakao_export_like_utterance_is_one_message_not_a_format_error(server):
    utterance = "[민지] [오후 9:03] 내일 저녁 7시에 보자"
    response = httpx.post(f"{server}/kakao/skill", json=skill_payload(utterance), timeout=150)
    assert response.status_code == 200
    assert "textCard" in response.json()["template"]["outputs"][-1]


def test_kakao_card_follows_a_reply_that_comes_by_callback(running):
    from test_server import ScriptedBackend, _inbox_config, callback_receiver
    from test_server import skill_payload as guide_payload

    backend = ScriptedBackend(delay=0.1)  # slower than the 0.2 s budget: the reply goes to the callback URL
    with (
        running(create_app(backend, Settings(_inbox_config(kakao_budget_s=0.2)))) as url,
        callback_receiver() as (port, received, arrived),
    ):
        payload = guide_payload(
            "내일 저녁 7시에 강남역에서 보자", callback_url=f"http://localhost:{port}/cb/1"
        )
        assert httpx.post(f"{url}/kakao/skill", json=payload).json()["useCallback"] is True
        assert arrived.wait(30), "no callback arrived"
    (posted,) = received
    outputs = posted["body"]["template"]["outputs"]
    assert outputs[0]["simpleText"]["text"] == "오 좋지 ㅋㅋ 성수 가자"
    assert outputs[-1]["textCard"]["buttons"][0]["label"] == "캘린더에 추가"
