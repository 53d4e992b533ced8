"""Korean time expressions resolved against fixed reference times: exact starts, one table per family."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from insabot.plan.when import SEOUL, NoWhen, When, lunar_to_solar, resolve

SUNDAY = datetime(2026, 12, 6, 13, 0, tzinfo=SEOUL)  # a Sunday, 1 p.m.
WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=SEOUL)
YEAR_END = datetime(2026, 12, 30, 21, 0, tzinfo=SEOUL)


def at(y, mo, d, h=None, mi=0):
    return date(y, mo, d) if h is None else datetime(y, mo, d, h, mi, tzinfo=SEOUL)


CASES = [
    # relative days
    ("오늘 저녁 7시에 보자", WEDNESDAY, at(2026, 12, 2, 19)),
    ("내일 오후 3시", WEDNESDAY, at(2026, 12, 3, 15)),
    ("낼 점심 ㄱㄱ 1시", WEDNESDAY, at(2026, 12, 3, 13)),
    ("모레 만나", WEDNESDAY, at(2026, 12, 4)),
    ("내일모레 저녁", WEDNESDAY, at(2026, 12, 4)),
    ("낼모레 오전 11시", WEDNESDAY, at(2026, 12, 4, 11)),
    ("글피에 보자", WEDNESDAY, at(2026, 12, 5)),
    ("이따 7시", WEDNESDAY, at(2026, 12, 2, 19)),
    ("이따가 3시 반에 카페", WEDNESDAY, at(2026, 12, 2, 15, 30)),
    ("3일 뒤에 보자", WEDNESDAY, at(2026, 12, 5)),
    ("이틀 후에 만나", WEDNESDAY, at(2026, 12, 4)),
    # weeks and weekdays (weeks start on Monday)
    ("이번 주 금요일 8시", WEDNESDAY, at(2026, 12, 4, 20)),
    ("다음 주 화요일 점심", WEDNESDAY, at(2026, 12, 8)),
    ("담주 화욜 7시 반", WEDNESDAY, at(2026, 12, 8, 19, 30)),
    ("다음주 수욜 10시 회의", WEDNESDAY, at(2026, 12, 9, 10)),
    ("토요일 저녁 6시에 합정역에서 보자", WEDNESDAY, at(2026, 12, 5, 18)),
    ("토요일 저녁 6시에 합정역에서 보자", SUNDAY, at(2026, 12, 12, 18)),
    ("수요일에 보자", WEDNESDAY, at(2026, 12, 9)),
    ("담주 화요일", SUNDAY, at(2026, 12, 8)),
    ("이번 주말에 한강 갈래", WEDNESDAY, at(2026, 12, 5)),
    ("이번 주말에 한강 갈래", SUNDAY, at(2026, 12, 6)),
    ("다음 주말에 한강 갈 사람?", SUNDAY, at(2026, 12, 12)),
    ("주말에 영화 보자", WEDNESDAY, at(2026, 12, 5)),
    # N hours / minutes from now
    ("3시간 뒤에 보자", WEDNESDAY, at(2026, 12, 2, 13)),
    ("한 시간 후에 출발", WEDNESDAY, at(2026, 12, 2, 11)),
    ("30분 뒤에 만나", WEDNESDAY, at(2026, 12, 2, 10, 30)),
    ("1시간 반 있다가 보자", WEDNESDAY, at(2026, 12, 2, 11, 30)),
    # dates
    ("12월 24일에 파티", WEDNESDAY, at(2026, 12, 24)),
    ("12/24 저녁 7시", WEDNESDAY, at(2026, 12, 24, 19)),
    ("24일에 보자", WEDNESDAY, at(2026, 12, 24)),
    ("1일에 보자", WEDNESDAY, at(2027, 1, 1)),
    ("다음 달 10일 회식", WEDNESDAY, at(2027, 1, 10)),
    ("1월 2일에 만나", YEAR_END, at(2027, 1, 2)),
    ("2027년 3월 1일 오전 9시", YEAR_END, at(2027, 3, 1, 9)),
    ("2027-01-05 14:30 미팅", YEAR_END, at(2027, 1, 5, 14, 30)),
    # periods, minutes, native numerals
    ("내일 아침 8시", WEDNESDAY, at(2026, 12, 3, 8)),
    ("내일 새벽 2시 출발", WEDNESDAY, at(2026, 12, 3, 2)),
    ("내일 밤 11시", WEDNESDAY, at(2026, 12, 3, 23)),
    ("내일 밤 12시", WEDNESDAY, at(2026, 12, 4, 0)),
    ("내일 7시 20분", WEDNESDAY, at(2026, 12, 3, 19, 20)),
    ("내일 네 시에 보자", WEDNESDAY, at(2026, 12, 3, 16)),
    ("내일 열한 시 반 회의", WEDNESDAY, at(2026, 12, 3, 11, 30)),
    ("내일 오후 두 시", WEDNESDAY, at(2026, 12, 3, 14)),
    ("내일 정오에 보자", WEDNESDAY, at(2026, 12, 3, 12)),
    ("내일 18:30에 보자", WEDNESDAY, at(2026, 12, 3, 18, 30)),
    ("내일 낮 2시", WEDNESDAY, at(2026, 12, 3, 14)),
    # bare hours by the written rule
    ("내일 7시에 보자", WEDNESDAY, at(2026, 12, 3, 19)),
    ("내일 10시 회의", WEDNESDAY, at(2026, 12, 3, 10)),
    ("내일 10시에 한잔 ㄱ", WEDNESDAY, at(2026, 12, 3, 22)),
    ("내일 9시 수업", WEDNESDAY, at(2026, 12, 3, 9)),
    ("내일 2시", WEDNESDAY, at(2026, 12, 3, 14)),
    ("7시에 보자", WEDNESDAY, at(2026, 12, 2, 19)),
    ("11시에 보자", SUNDAY, at(2026, 12, 7, 11)),
    # named days
    ("크리스마스 이브에 뭐해", WEDNESDAY, at(2026, 12, 24)),
    ("크리스마스에 보자", YEAR_END, at(2027, 12, 25)),
    ("설날에 보자", WEDNESDAY, at(2027, 2, 7)),
    ("추석에 내려가", WEDNESDAY, at(2027, 9, 15)),
    ("어린이날 놀러 가자", WEDNESDAY, at(2027, 5, 5)),
    # dotted dates, only beside their weekday; a weekday inside 주말; a moved plan's new time
    ("12.24 목 저녁 7시 파티", WEDNESDAY, at(2026, 12, 24, 19)),
    ("12.19(토) 돌잔치", WEDNESDAY, at(2026, 12, 19)),
    ("4.5점짜리 식당 내일 7시", WEDNESDAY, at(2026, 12, 3, 19)),  # a number, not April 5
    ("이번 주말 일요일 4시", WEDNESDAY, at(2026, 12, 6, 16)),
    ("다음 주말 토욜 1시", WEDNESDAY, at(2026, 12, 12, 13)),
    ("금욜에서 토욜 6시로 바꿨어", WEDNESDAY, at(2026, 12, 5, 18)),
    ("14일에서 16일 3시로 옮김", WEDNESDAY, at(2026, 12, 16, 15)),
    ("6시 말고 8시에 보자", WEDNESDAY, at(2026, 12, 2, 20)),
    ("내일 9시 치과", WEDNESDAY, at(2026, 12, 3, 9)),  # a clinic: the morning
]


@pytest.mark.parametrize(("text", "now", "start"), CASES)
def test_resolve_start(text, now, start):
    when = resolve(text, now)
    assert isinstance(when, When), when
    assert when.start == start
    assert type(when.start) is type(start)


RANGES = [
    ("내일 1시~4시", at(2026, 12, 3, 13), at(2026, 12, 3, 16)),
    ("내일 1~4시", at(2026, 12, 3, 13), at(2026, 12, 3, 16)),
    ("내일 오후 2시부터 5시까지", at(2026, 12, 3, 14), at(2026, 12, 3, 17)),
    ("내일 저녁 7시-9시 반", at(2026, 12, 3, 19), at(2026, 12, 3, 21, 30)),
    ("내일 밤 11시부터 새벽 2시", at(2026, 12, 3, 23), None),
]


@pytest.mark.parametrize(("text", "start", "end"), RANGES)
def test_ranges(text, start, end):
    when = resolve(text, WEDNESDAY)
    assert isinstance(when, When)
    assert when.start == start
    if end is not None:
        assert when.end == end


def test_from_has_no_end_and_says_so():
    when = resolve("내일 8시부터", WEDNESDAY)
    assert when.start == at(2026, 12, 3, 20) and when.end is None
    assert any("끝나는" in note for note in when.notes)


@pytest.mark.parametrize(
    ("text", "now", "reason"),
    [
        ("그저께 간 카페", WEDNESDAY, "past"),
        ("지난달 여행 좋았다", WEDNESDAY, "past"),
        ("어제 본 영화", WEDNESDAY, "past"),
        ("담에 술 한잔해", WEDNESDAY, "none"),
        ("언제 밥 한번 먹자", WEDNESDAY, "none"),
        ("2월 30일에 보자", WEDNESDAY, "impossible"),
        ("4월 31일", WEDNESDAY, "impossible"),
        ("13월 1일", WEDNESDAY, "impossible"),
        ("이번 주 월요일 회의", WEDNESDAY, "past"),
        ("오늘 오전 9시", WEDNESDAY, "past"),
        ("이번 주 토요일", SUNDAY, "past"),
        ("12월 24일", YEAR_END, "past"),
        ("다음 달에 보자", WEDNESDAY, "vague"),
        ("이따 보자", WEDNESDAY, "vague"),
    ],
)
def test_no_time(text, now, reason):
    when = resolve(text, now)
    assert isinstance(when, NoWhen), when
    assert when.reason == reason


def test_assumptions_are_written_in_notes():
    assert any("저녁" in note for note in resolve("내일 7시에 보자", WEDNESDAY).notes)
    assert any("오전" in note for note in resolve("내일 10시 회의", WEDNESDAY).notes)
    assert any("2027" in note for note in resolve("1월 2일", YEAR_END).notes)
    assert any("음력" in note for note in resolve("설날", WEDNESDAY).notes)
    assert resolve("2월 30일", WEDNESDAY).note


def test_naive_now_is_seoul():
    assert resolve("내일 3시", datetime(2026, 12, 2, 10)).start == at(2026, 12, 3, 15)


def test_lunar_days_follow_the_korean_calendar():
    assert lunar_to_solar(2026, 1, 1) == date(2026, 2, 17)
    assert lunar_to_solar(2026, 8, 15) == date(2026, 9, 25)
