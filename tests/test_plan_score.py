"""The 일정 score: the labelled set is the frozen one and has the agreed shape; the scorer matches starts by the
written rules (a day matches any start that day, a datetime only that minute, a wrong start is a false positive
and a miss)."""

import collections
import hashlib
import json
import unicodedata
from datetime import date, datetime

import pytest

from insabot.eval.plans import (
    FROZEN_SHA256,
    FROZEN_SHA256_2,
    FROZEN_SHA256_3,
    FROZEN_SHA256_4,
    FROZEN_SHA256_5,
    FROZEN_SHA256_6,
    FROZEN_SHA256_7,
    FROZEN_SHA256_8,
    PLAN_MESSAGES,
    PLAN_MESSAGES_2,
    PLAN_MESSAGES_3,
    PLAN_MESSAGES_4,
    PLAN_MESSAGES_5,
    PLAN_MESSAGES_6,
    PLAN_MESSAGES_7,
    PLAN_MESSAGES_8,
    format_score,
    load_plan_messages,
    main,
    match_starts,
    parse_start,
    score_rows,
    split_of,
    start_matches,
)
from insabot.plan import SEOUL
from insabot.textio import InputError

NOW = "2026-12-09T12:00:00+09:00"


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_the_set_is_the_frozen_one():
    assert hashlib.sha256(PLAN_MESSAGES.read_bytes()).hexdigest() == FROZEN_SHA256


BLIND_SETS = [(PLAN_MESSAGES_2, FROZEN_SHA256_2, 320), (PLAN_MESSAGES_3, FROZEN_SHA256_3, 353), (PLAN_MESSAGES_4, FROZEN_SHA256_4, 374), (PLAN_MESSAGES_5, FROZEN_SHA256_5, 372), (PLAN_MESSAGES_6, FROZEN_SHA256_6, 376), (PLAN_MESSAGES_7, FROZEN_SHA256_7, 384), (PLAN_MESSAGES_8, FROZEN_SHA256_8, 389)]  # fmt: skip


@pytest.mark.parametrize("index", range(len(BLIND_SETS)))
def test_each_later_blind_set_is_frozen_apart_from_the_earlier_ones_and_all_test(index):
    path, sha256, size = BLIND_SETS[index]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    rows = load_plan_messages(path=path)
    assert len(rows) == size and {r.split for r in rows} == {"test"}
    earlier = {r.text for r in load_plan_messages()} | {
        r.text for earlier_path, _, _ in BLIND_SETS[:index] for r in load_plan_messages(path=earlier_path)
    }
    assert len({r.text for r in rows}) == size and not {r.text for r in rows} & earlier
    assert sum(not r.starts for r in rows) >= 100


def test_the_set_has_its_shape():
    rows = load_plan_messages()
    assert len(rows) >= 300
    assert len({r.id for r in rows}) == len({r.text for r in rows}) == len(rows)
    assert all(unicodedata.normalize("NFC", r.text) == r.text for r in rows)
    assert sum(not r.starts for r in rows) >= 100
    assert all(r.split == split_of(r.text) for r in rows)
    for split in ("dev", "test"):
        half = load_plan_messages(split)
        assert len(half) >= 150 and {r.split for r in half} == {split}
        assert sum(not r.starts for r in half) >= 40
    families = collections.Counter(r.family for r in rows)
    assert len(families) >= 20
    # several reference times, a year end and a Sunday among them
    nows = {r.now for r in rows}
    assert any(n.month == 12 and n.day == 31 for n in nows) and any(n.weekday() == 6 for n in nows)
    assert all(n.utcoffset() == SEOUL.utcoffset(n.replace(tzinfo=None)) for n in nows)


def test_a_day_matches_any_start_that_day():
    assert start_matches(date(2026, 12, 12), date(2026, 12, 12))
    assert start_matches(date(2026, 12, 12), _at("2026-12-12T19:00:00+09:00"))
    assert not start_matches(date(2026, 12, 12), _at("2026-12-13T00:00:00+09:00"))
    assert not start_matches(date(2026, 12, 12), date(2026, 12, 13))


def test_a_datetime_matches_only_its_minute():
    want = _at("2026-12-12T18:30:00+09:00")
    assert start_matches(want, _at("2026-12-12T18:30:00+09:00"))
    assert start_matches(want, _at("2026-12-12T09:30:00+00:00"))  # the same instant in another offset
    assert not start_matches(want, _at("2026-12-12T18:31:00+09:00"))
    assert not start_matches(want, _at("2026-12-12T06:30:00+09:00"))
    assert not start_matches(want, date(2026, 12, 12))  # an all-day event is not "6시 반"


def test_a_wrong_start_is_a_false_positive_and_a_miss():
    want, got = _at("2026-12-12T19:00:00+09:00"), _at("2026-12-12T07:00:00+09:00")
    assert match_starts([want], [got]) == (0, [want], [got])
    assert match_starts([], [got]) == (0, [], [got])
    assert match_starts([want], []) == (0, [want], [])


def test_each_event_matches_one_expectation_and_times_go_first():
    day, seven = date(2026, 12, 12), _at("2026-12-12T19:00:00+09:00")
    three = _at("2026-12-12T15:00:00+09:00")
    # the day's expectation must not take the 7시 event the exact one needs
    assert match_starts([day, seven], [seven, three]) == (2, [], [])
    assert match_starts([day, day], [seven]) == (1, [day], [])
    assert match_starts([seven], [seven, seven]) == (1, [], [seven])


def _row(tmp_path, rows):
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_score_counts_per_family_and_lists_the_errors(tmp_path):
    rows = [
        {"id": "a", "split": "dev", "family": "맨시각", "now": NOW, "text": "7시에 보자",
         "events": [{"start": "2026-12-09T19:00:00+09:00"}]},
        {"id": "b", "split": "dev", "family": "맨시각", "now": NOW, "text": "8시에 보자",
         "events": [{"start": "2026-12-09T20:00:00+09:00"}]},
        {"id": "c", "split": "dev", "family": "잡담", "now": NOW, "text": "배고프다", "events": []},
        {"id": "d", "split": "test", "family": "월일", "now": NOW, "text": "12월 24일에 보자",
         "events": [{"start": "2026-12-24"}]},
    ]  # fmt: skip
    path = _row(tmp_path, rows)
    dev = load_plan_messages("dev", path)
    assert [r.id for r in dev] == ["a", "b", "c"]
    found = [
        [_at("2026-12-09T19:00:00+09:00")],
        [_at("2026-12-09T08:00:00+09:00")],
        [date(2026, 12, 10)],
    ]
    result = score_rows(dev, found)
    assert (result.overall.hits, result.overall.false_positives, result.overall.misses) == (1, 2, 1)
    assert result.overall.precision == pytest.approx(1 / 3) and result.overall.recall == pytest.approx(1 / 2)
    assert (result.families["맨시각"].precision, result.families["맨시각"].recall) == (0.5, 0.5)
    assert result.families["잡담"].precision == 0.0 and result.families["잡담"].recall is None
    report = format_score(result, "crafted")
    assert "precision 0.333 (1/3" in report and "recall 0.500 (1/2" in report
    assert "b [맨시각] now 2026-12-09 Wed 12:00: 2026-12-09 20:00 — 2026-12-09 08:00 — 8시에 보자" in report
    assert "c [잡담] now 2026-12-09 Wed 12:00: 2026-12-10 — no plan — 배고프다" in report
    assert "| 잡담 | 0 | 1 | 0 | 0.000 | — |" in report


def test_the_command_scores_one_half_with_the_rules(tmp_path, capsys):
    rows = [
        {"id": "a", "split": "test", "family": "내일+시각", "now": NOW, "text": "내일 저녁 7시에 강남역에서 보자",
         "events": [{"start": "2026-12-10T19:00:00+09:00"}]},
        {"id": "b", "split": "test", "family": "과거", "now": NOW, "text": "어제 간 카페 좋았어", "events": []},
        {"id": "c", "split": "dev", "family": "x", "now": NOW, "text": "모레 보자", "events": [{"start": "2026-12-11"}]},
    ]  # fmt: skip
    main([str(_row(tmp_path, rows)), "--split", "test"])
    out = capsys.readouterr().out
    assert "2 messages, 1 expected events, 1 found" in out
    assert "precision 1.000 (1/1" in out and "recall 1.000 (1/1" in out


def test_a_bad_row_is_an_error_naming_its_line(tmp_path):
    path = _row(
        tmp_path, [{"id": "a", "split": "dev", "family": "x", "now": NOW, "text": "t", "events": [{}]}]
    )
    with pytest.raises(InputError, match=r"set.jsonl:1"):
        load_plan_messages(path=path)
    assert parse_start("2026-12-12") == date(2026, 12, 12)
    assert parse_start("2026-12-12T09:00:00+09:00") == datetime(2026, 12, 12, 9, tzinfo=SEOUL)
