"""The web chat's 일정 tab and the plan under a chat reply: the handlers called directly, then the tab through
the running app's API (no browser needed)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import gradio as gr
import pytest
from icalendar import Calendar

from insabot.bot.plans import TABLE_HEADERS
from insabot.bot.ui import WebChat
from insabot.config import Config
from insabot.plan import now_in_seoul

PASTED = "민지: 토요일에 성수 갈 사람?\n준호: 나 ㄱㄱ 근데 몇 시?\n민지: 2시쯤 어때\n2월 30일에 보자"
EXPORT = (
    "민지 님과 카카오톡 대화\n\n--------------- 2026년 12월 30일 수요일 ---------------\n"
    "[민지] [오후 9:03] 1월 2일 저녁 7시에 강남역에서 보자\n[준호] [오후 9:04] 콜\n"
)


@pytest.fixture
def web():
    return WebChat(pool=None, config=Config())


def test_pasted_messages_become_a_table_and_an_ics(web):
    rows, download, summary = web.plan(PASTED, None, "2026-12-09T12:00")
    assert [(row[0], row[1]) for row in rows] == [(3, "2026-12-12T14:00:00+09:00"), (4, "")]
    assert len(rows[0]) == len(TABLE_HEADERS) and rows[0][4] == "성수"
    assert "2월 30일" in rows[1][7]
    assert download["visible"] is True and "1개" in summary
    (event,) = Calendar.from_ical(Path(download["value"]).read_bytes()).walk("VEVENT")
    assert event.decoded("dtstart").isoformat() == "2026-12-12T14:00:00+09:00"


def test_an_uploaded_export_wins_over_the_box(web, tmp_path):
    path = tmp_path / "KakaoTalk_20261231.txt"
    path.write_text(EXPORT, encoding="utf-8")
    rows, download, _ = web.plan("무시되는 글", str(path), "")
    assert [(row[1], row[5]) for row in rows] == [("2027-01-02T19:00:00+09:00", "민지, 준호")]
    assert download["visible"] is True


def test_no_plan_hides_the_download(web):
    rows, download, summary = web.plan("ㅋㅋㅋ 배고파", None, "")
    assert rows == [] and download["visible"] is False and "못" in summary


@pytest.mark.parametrize(("text", "now"), [("", ""), ("내일 보자", "다음 주")])
def test_bad_input_is_a_notice(web, text, now):
    with pytest.raises(gr.Error):
        web.plan(text, None, now)


def test_a_reply_to_a_plan_is_followed_by_the_event(web):
    history = [
        {"role": "user", "content": "내일 저녁 7시에 강남역에서 보자"},
        {"role": "assistant", "content": "좋아!"},
    ]
    markdown, download = web.chat_plan(history)
    tomorrow = now_in_seoul().date() + timedelta(days=1)
    assert "강남역" in markdown and f"{tomorrow.month}월 {tomorrow.day}일" in markdown and "19:00" in markdown
    (event,) = Calendar.from_ical(Path(download["value"]).read_bytes()).walk("VEVENT")
    assert event.decoded("dtstart").date() == tomorrow and event.decoded("dtstart").hour == 19


@pytest.mark.parametrize(
    "history",
    [
        [{"role": "user", "content": "야 뭐해"}, {"role": "assistant", "content": "그냥 있어"}],
        [{"role": "user", "content": "내일 저녁 7시에 보자"}],  # no reply yet
        [],
    ],
)
def test_no_plan_no_event_under_the_reply(web, history):
    markdown, download = web.chat_plan(history)
    assert markdown == "" and download["visible"] is False


def test_the_tab_answers_through_the_app(web_app):
    from gradio_client import Client

    client = Client(web_app.url, verbose=False)
    table, download, summary = client.predict(PASTED, None, "2026-12-09T12:00", api_name="/plan")
    assert table["data"][0][1] == "2026-12-12T14:00:00+09:00"
    assert download and "1개" in summary
