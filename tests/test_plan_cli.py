"""`insabot plan`: plain lines and a KakaoTalk export in, JSON lines and an .ics file out."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime

import pytest
from icalendar import Calendar

from insabot.cli import main
from insabot.plan import SEOUL, plan_text, to_ics

NOW = "2026-12-09T12:00"  # a Wednesday, noon

PC_EXPORT = """민지 님과 카카오톡 대화
저장한 날짜 : 2026-12-31 09:00:00

--------------- 2026년 12월 30일 수요일 ---------------
[민지] [오후 9:03] 1월 2일 저녁 7시에 강남역에서 보자
[준호] [오후 9:04] 콜
[서연] [오후 9:05] 나도 갈게
--------------- 2026년 12월 31일 목요일 ---------------
[민지] [오전 10:00] 내일 점심 1시 ㄱㄱ
[준호] [오전 10:01] 어제 간 카페 좋더라
"""


def run_plan(capsys, *args) -> tuple[int, list[dict], str]:
    code = main(["plan", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_plain_lines_from_a_file(tmp_path, capsys):
    path = tmp_path / "chat.txt"
    path.write_text(
        "토요일 저녁 6시에 합정역에서 보자\n오늘 날씨 좋다\n\n낼 점심 ㄱㄱ 1시\n담에 술 한잔해\n2월 30일에 보자\n",
        encoding="utf-8",
    )
    code, events, err = run_plan(capsys, str(path), "--now", NOW)
    assert code == 0
    assert [(e["line"], e["start"]) for e in events] == [
        (1, "2026-12-12T18:00:00+09:00"),
        (4, "2026-12-10T13:00:00+09:00"),
    ]
    first = events[0]
    assert first["place"] == "합정역" and first["text"] == "토요일 저녁 6시에 합정역에서 보자"
    assert set(first) == {"line", "start", "title", "place", "participants", "text", "notes"}
    assert f"{path}:6: 2월 30일" in err  # the impossible date: no event, a note naming its line


def test_stdin_and_an_all_day_plan(capsys, monkeypatch):
    import io

    stdin = io.TextIOWrapper(io.BytesIO("다음 주말에 한강 갈 사람?\n".encode()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    code, events, _ = run_plan(capsys, "-", "--now", NOW)
    assert code == 0
    assert events[0]["start"] == "2026-12-19" and events[0]["place"] == "한강"


def test_export_messages_use_their_own_timestamps(tmp_path, capsys):
    path = tmp_path / "KakaoTalk.txt"
    path.write_text(PC_EXPORT, encoding="utf-8")
    ics = tmp_path / "plans.ics"
    # no --now: each message has its own time
    code, events, _ = run_plan(capsys, str(path), "--ics", str(ics))
    assert code == 0
    assert [(e["line"], e["start"]) for e in events] == [
        (5, "2027-01-02T19:00:00+09:00"),  # across the year end
        (9, "2027-01-01T13:00:00+09:00"),  # 내일 from 12월 31일
    ]
    assert events[0]["participants"] == ["민지", "준호", "서연"]
    assert events[0]["place"] == "강남역"
    calendar = Calendar.from_ical(ics.read_bytes())
    assert [str(e["summary"]) for e in calendar.walk("VEVENT")] == [events[0]["title"], events[1]["title"]]


def test_an_export_in_an_unknown_layout_names_the_line(tmp_path, capsys):
    path = tmp_path / "KakaoTalk.txt"
    path.write_text("민지 님과 카카오톡 대화\n\n2026/12/30 21:03 민지: 내일 보자\n", encoding="utf-8")
    assert main(["plan", str(path)]) == 2
    assert f"{path}:3:" in capsys.readouterr().err


def test_a_bad_now_is_an_error(capsys):
    assert main(["plan", "-", "--now", "next friday"]) == 2
    assert "--now" in capsys.readouterr().err


def test_the_installed_command_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "insabot.cli", "plan", "-", "--now", NOW],
        input="내일 오후 3시 회의\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout)["start"] == "2026-12-10T15:00:00+09:00"


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        (
            "내일 저녁 7시~9시 술 한잔",
            datetime(2026, 12, 10, 19, tzinfo=SEOUL),
            datetime(2026, 12, 10, 21, tzinfo=SEOUL),
        ),
        ("크리스마스 이브에 파티하자", date(2026, 12, 24), None),
    ],
)
def test_ics_round_trip(text, start, end):
    result = plan_text(text, datetime(2026, 12, 9, 12, tzinfo=SEOUL))
    calendar = Calendar.from_ical(to_ics(result.events))
    assert calendar["version"] == "2.0" and calendar["prodid"]
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == start
    if isinstance(start, datetime):
        assert event["dtstart"].params["TZID"] == "Asia/Seoul"
        assert event.decoded("dtend") == end
        assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Seoul"]
    else:
        assert event.decoded("dtend") == date(2026, 12, 25)  # all day: DTEND is the next day, exclusive
    assert event["uid"] and event["dtstamp"] and text in str(event["description"])
