"""Which messages become events, and what the events say."""

from __future__ import annotations

from datetime import datetime

import pytest

from insabot.plan import SEOUL, google_calendar_url, plan_text

NOW = datetime(2026, 12, 9, 12, 0, tzinfo=SEOUL)  # a Wednesday, noon


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("토요일 저녁 6시에 합정역에서 보자", "2026-12-12T18:00:00+09:00"),
        ("낼 점심 ㄱㄱ 1시", "2026-12-10T13:00:00+09:00"),
        ("다음 주말에 한강 갈 사람?", "2026-12-19"),
        ("내일 10시 회의 잊지 마", "2026-12-10T10:00:00+09:00"),
        ("금요일 7시로 예약했어", "2026-12-11T19:00:00+09:00"),
        ("모레 만나기로 했잖아", "2026-12-11"),
        ("크리스마스 이브에 파티하자", "2026-12-24"),
        ("내일 봐~", "2026-12-10"),
        ("금요일 저녁에 시간 돼?", "2026-12-11"),  # "시간 돼" is no past tense (간 is not 간 카페)
        ("토요일 2시 가능해?", "2026-12-12T14:00:00+09:00"),
        ("7시까지 와", "2026-12-09T19:00:00+09:00"),
        ("1/3 신년회 ㄱ?", "2027-01-03"),
        ("다음 주 월요일 오전 9시 반 면접", "2026-12-14T09:30:00+09:00"),
        ("모레 오후 4시 네일샵", "2026-12-11T16:00:00+09:00"),  # a day and a clock time need no plan word
        ("수요일이라 8시에 치킨 각", "2026-12-09T20:00:00+09:00"),  # today's weekday, said as what today is
        ("설날 전날 저녁 7시 큰집 모임", "2027-02-06T19:00:00+09:00"),
        ("이번 주 토욜 2시~5시 스터디", "2026-12-12T14:00:00+09:00"),
        # announced rather than proposed: going (감, 가), -ㄹ 거, 가야 됨, a schedule noun, a formal 있습니다
        ("금요일에 부모님 댁 감", "2026-12-11"),
        ("토요일에 엄마 생신이라 본가 가", "2026-12-12"),
        ("토요일에 친구들이랑 캠핑 갈 거야", "2026-12-12"),
        ("내일 오전에 구청 가야 됨", "2026-12-10"),
        ("모레 오후 4시 팀 면담 있습니다", "2026-12-11T16:00:00+09:00"),
        ("12일에 보는 거 맞지?", "2026-12-12"),
        ("영화 예매했어 토요일 7시 반", "2026-12-12T19:30:00+09:00"),  # booked: a settled past
        ("내일 8시 반 강남역 11번 출구", "2026-12-10T20:30:00+09:00"),  # a time and a spot, no verb
        ("다음 주 화요일 9시 스탠드업", "2026-12-15T09:00:00+09:00"),  # a work word: the morning
        ("이브에 우리집에서 파티하자", "2026-12-24"),
        ("이따 저녁에 장 보러 가자", "2026-12-09"),  # 이따 with a part of the day: today
        ("30일 수요일 7시에 보자", "2026-12-30T19:00:00+09:00"),  # N일 names the day beside a weekday
        ("크리스마스 당일은 가족이랑 있고 다음날 2시에 보자", "2026-12-26T14:00:00+09:00"),
        ("내일 1일차 교육 9시", "2026-12-10T09:00:00+09:00"),  # 1일차 is no day of the month
        ("크리스마스에 3일 연휴라 여행 가자", "2026-12-25"),
        ("19일 저녁 6시 집들이 초대 받았어 같이 가자", "2026-12-19T18:00:00+09:00"),  # a proposal: no memory
        ("금욜 7:30 을지로 이자카야 예약 완료했어", "2026-12-11T19:30:00+09:00"),  # settled in the past tense
        ("이번주 금요일 오후 반차 냈어요", "2026-12-11"),
        ("엄마 생신 모임 다다음주 토요일로 정해졌어", "2026-12-26"),
        ("다음달 5일부터 새 프로젝트 킥오프 미팅", "2027-01-05"),  # 다음달 N일 is no bare day
        # the plan moved: 말고 is no clause break
        ("금요일 라이브 7시 말고 8시에 보자", "2026-12-11T20:00:00+09:00"),
        # moves keep the new day or clock and are no call-off
        ("목요일 저녁 약속 금요일로 옮겼어 시간은 그대로 7시", "2026-12-11T19:00:00+09:00"),
        ("낼 2시 미팅 3시 반으로 밀렸어", "2026-12-10T15:30:00+09:00"),
        (
            "목요일 치과 예약 금요일 오전 10시로 바꿨어",
            "2026-12-11T10:00:00+09:00",
        ),  # the day moved with its clock
        (
            "모레 08:30 건강검진이라 술은 패스",
            "2026-12-11T08:30:00+09:00",
        ),  # a zero-padded hour is the morning
        ("오늘 저녁 약속 내일 같은 시간으로 미뤄도 돼? 8시", "2026-12-10T20:00:00+09:00"),
        ("닷새 뒤에 워크숍", "2026-12-14"),
        ("5일 뒤면 종강이니까 그날 저녁 8시에 술 ㄱ", "2026-12-14T20:00:00+09:00"),  # a countdown that plans
        ("모레 논문 심사라 정신없어", "2026-12-11"),
        ("내일 조조로 영화 볼래? 8시 40분", "2026-12-10T08:40:00+09:00"),  # 조조 is the morning
        ("12.24 오후 1시 시무식 리허설", "2026-12-24T13:00:00+09:00"),  # dotted, beside a time of day
        ("담주 수 08:30 치과", "2026-12-16T08:30:00+09:00"),  # a weekday's syllable alone before a clock
        ("금 1930 홍대 ㄱ?", "2026-12-11T19:30:00+09:00"),  # typed 24-hour time
        ("이번 주말 1박2일로 가평 가자", "2026-12-12"),  # 1박2일 is a length, not the 2nd
        ("토요일 7시 반포 한강공원에서 보자", "2026-12-12T19:00:00+09:00"),  # 반포 is a place, not half past
        ("오늘 7시 저녁 8시로 늦추자", "2026-12-09T20:00:00+09:00"),  # 늦추다 moves
        ("금요일 9시 소아과 예약함", "2026-12-11T09:00:00+09:00"),  # a clinic: the morning
        ("이따 밤 9시 롤 할 사람", "2026-12-09T21:00:00+09:00"),  # a call with -ㄹ 사람
        ("네 팀장님 한 시간 뒤에 사무실로 가겠습니다", "2026-12-09T13:00:00+09:00"),  # going, with -겠
        ("자정에 전화할게", "2026-12-10T00:00:00+09:00"),  # a promise at a clock time
        ("크리스마스 이브 저녁은 비워둬", "2026-12-24"),
        ("모레 부모님 댁 다녀오자", "2026-12-11"),
        (
            "크리스마스 선물 사러 토요일 3시에 명동 가자",
            "2026-12-12T15:00:00+09:00",
        ),  # a named day as a topic
        ("토요일 캠핑 장 다 봐놨어 10시 출발", "2026-12-12T10:00:00+09:00"),  # -아 놨다 prepares a plan
        ("동생 군대 면회 토요일 오전에 가기로 했어", "2026-12-12"),  # 군대 is no hearsay
        ("토요일 11시 반인데 결혼식 같이 가자", "2026-12-12T11:30:00+09:00"),  # 반인데 is half past
        ("낼 조찬 모임 7시", "2026-12-10T07:00:00+09:00"),  # 조찬 is the morning
        ("모래 저녁 7시 한강 ㄱ", "2026-12-11T19:00:00+09:00"),  # the typo 모래 before a time of day
        ("열흘 뒤에 부산 간다", "2026-12-19"),
        ("글피 개강 ㅠ", "2026-12-12"),
        ("12.24~12.26 속초 워크숍", "2026-12-24"),  # a dotted range
        ("토요일 시험 다음 주 월요일로 연기됨", "2026-12-14"),  # 연기 to a named day moves
        ("20분 뒤에 정문 앞으로 나와", "2026-12-09T12:20:00+09:00"),
        ("25일에 이사 확정됐어", "2026-12-25"),  # settled
        (
            "할머니 생신 잔치 토요일 12시래 다들 와",
            "2026-12-12T12:00:00+09:00",
        ),  # hearsay, but 다들 are in it
        ("토요일에 같이 가줄 거지?", "2026-12-12"),
        ("금요일 저녁 8시에 포차에서 풀자", "2026-12-11T20:00:00+09:00"),
        (
            "크리스마스 연휴 전에 한번 보자 금욜 저녁 어때",
            "2026-12-11",
        ),  # around a named day, another day named
        ("토요일 플리마켓 나가요", "2026-12-12"),
        ("2시간 뒤에 시작이다 일찍 와", "2026-12-09T14:00:00+09:00"),
        ("금요일 리그 경기 전원 참석!", "2026-12-11"),
        ("토요일 1시~4시 연습실 대관했어", "2026-12-12T13:00:00+09:00"),  # booked: settled
        ("12.19 광화문 오후 2시 집합", "2026-12-19T14:00:00+09:00"),  # a dotted date, a word before the time
        (
            "수요일 2시에서 금요일 오전 11시로 가능할까요?",
            "2026-12-11T11:00:00+09:00",
        ),  # moved from a day and clock
        ("내일 겜 모임 말고 화요일 9시로 하자", "2026-12-15T21:00:00+09:00"),  # moved from a named plan
        ("낼 7:30 조회 있어서 일찍 감", "2026-12-10T07:30:00+09:00"),  # 조회 is the morning
        ("토요일 아니고 일요일이야 일요일 오후 2시 결혼식", "2026-12-13T14:00:00+09:00"),  # corrected
        ("금요일 저녁 7시부터 9시까지 모임 장소 대여했어요", "2026-12-11T19:00:00+09:00"),  # rented: settled
        ("토요일 오후 1시 반에 커트 예약하고 싶어요", "2026-12-12T13:30:00+09:00"),  # asking to book, no wish
        ("나 이번 주말에 소개팅함", "2026-12-12"),
        ("낼 7:30 첫차 타고 부산 ㄱㄱ", "2026-12-10T07:30:00+09:00"),  # 첫차 is the morning
    ],
)
def test_plans_make_events(text, start):
    (event,) = plan_text(text, NOW).events
    assert event.as_dict()["start"] == start


@pytest.mark.parametrize(
    "text",
    [
        "그저께 간 카페 또 가고 싶다",
        "지난달 여행 사진 보내줘",
        "담에 술 한잔해",
        "내일 비 온대",
        "토요일에 갔던 카페 좋더라",
        "ㅋㅋㅋㅋ 진짜 웃기다",
        "2월 30일에 보자",
        "이번 주 월요일에 만났잖아",
        "토요일에 영화 봤는데 재밌더라",
        "금요일에 본 영화 재밌더라",
        "지금 7시 반인데 어디야",
        "내일 아침에 전화할게",
        "주말에 뭐해?",
        "낼 월요일인데 뭐 입어야 되냐",
        "가방 앞에 둬",
        "오늘 진짜 즐거웠다 또 보자",  # 오늘 in the past tense: the day now ending
        "3시간 뒤면 퇴근이다",  # a countdown
        "금요일 회식 없던 걸로 하재",
        "토요일이나 일요일 중에 언제 돼? 등산 가자",  # the day is still being asked for
        "지난 토욜 생일파티 사진 다 날아감ㅠ",  # 지난 + a weekday is past
        "크리스마스에 약속 없는 사람 나밖에 없냐",
        "토요일에 시험 끝났다 이제 놀 거야",  # any ㅆ-closed syllable is a past tense (끝났다, 맞췄다)
        "지난 주말 등산 갔다가 종아리 아픔",
        "2월 29일에 생일 파티 하자",  # no 2월 29일 in 2027: not one four years away
        "이번 주말 캠핑 비 와서 엎어짐",
        "연말에 하루 보자 날은 나중에 정하고",
        "오늘 면접 봐주셔서 감사합니다",  # thanked for: the day is over
        "크리스마스 때 찍은 사진 보내줄게",
        "어젯밤 11시까지 일하고 오늘 종일 잤다",  # a day gone spoken of
        "크리스마스에 어디 가고 싶은데 돈이 없네",
        "저녁 7시쯤 보는 거 어때? 날짜는 다들 되는 날로 맞추고",
        "주말에 이사 끝냄 드디어",
        "작년 크리스마스 파티 사진 올려줘",  # a past word before a named day
    ],
)
def test_no_plan_no_event(text):
    assert plan_text(text, NOW).events == []


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("토요일 모임 취소됐어", "취소되거나 미뤄진"),
        ("금요일에 보기로 한 거 다음 주로 미뤄졌대", "취소되거나 미뤄진"),
        ("크리스마스에 스키장 가볼까 생각중", "바람이나"),
        ("주말에 시간 되면 보자", "시간 되면"),
        ("크리스마스 지나고 보자", "전후라서"),
        ("낼 오전 수업 휴강이래", "취소되거나 미뤄진"),
        ("금요일 회식 나 못 갈 듯", "취소되거나 미뤄진"),
        ("과장님 금요일 골프 가신대 난 안 감", "다른 사람의 일정"),
        ("토욜 공연 나 빼고 다 간대", "다른 사람의 일정"),
        ("남친 내일 오후 3시 비행기로 출장 간대", "다른 사람의 일정"),  # hearsay with no I or we
        ("엄마 모레 건강검진 받으신대", "다른 사람의 일정"),
        # news about someone named first, in casual hearsay
        ("동생 토요일 면접이래 엄청 긴장함", "다른 사람의 일정"),
        ("팀장님 금요일 연차시래 ㅋㅋ", "다른 사람의 일정"),
        ("토요일 요가 클래스 폐강됨 ㅠ", "취소되거나 미뤄진"),
        ("사촌오빠 토요일에 부대 복귀래", "다른 사람의 일정"),  # a noun's 이래 after a vowel
        ("금요일 알바 안 나와도 된대", "취소되거나 미뤄진"),
        ("오늘 저녁 약속 미안 못 갈 것 같아", "취소되거나 미뤄진"),
        ("내일 PT 펑크남", "취소되거나 미뤄진"),
        ("이번 크리스마스엔 본가 안 내려가", "취소되거나 미뤄진"),
        ("옆집 사장님 토요일에 이사 가신대요", "다른 사람의 일정"),
        ("남편 금요일에 출장 간대 나 혼자 애들 봐야 함", "다른 사람의 일정"),  # 나 혼자: left out
        ("우리 언니는 크리스마스에 해외여행 간대", "다른 사람의 일정"),  # 우리 언니 is mine, not us
        ("엄마는 토요일에 먼저 내려가신대 난 일 때문에 못 가", "다른 사람의 일정"),
        ("오늘 저녁 7시 모임 쉽니다", "취소되거나 미뤄진"),
        ("이번 주말 등산 비 와서 접음", "취소되거나 미뤄진"),
    ],
)
def test_called_off_wished_or_around_a_day_is_reported_not_planned(text, note):
    result = plan_text(text, NOW)
    assert result.events == []
    assert [note in s.note for s in result.skipped] == [True]


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        (
            "토요일 11시 미용실 들렀다가 3시에 소개팅",
            ["2026-12-12T11:00:00+09:00", "2026-12-12T15:00:00+09:00"],
        ),
        # a bare weekday after 담주 stays in that week or later; a later bare hour is later that day
        (
            "담주 화욜 9시 주간회의 하고 목욜 4시 외부 미팅",
            ["2026-12-15T09:00:00+09:00", "2026-12-17T16:00:00+09:00"],
        ),
        ("낼 2시 은행 갔다가 6시에 동생 픽업", ["2026-12-10T14:00:00+09:00", "2026-12-10T18:00:00+09:00"]),
        ("금요일 송년회 하고 다음날 1시 해장 ㄱ", ["2026-12-11", "2026-12-12T13:00:00+09:00"]),
        # a day and then its clock time in the next clause are one plan
        ("토요일 결혼식 끝나고 5시에 성수 ㄱㄱ", ["2026-12-12T17:00:00+09:00"]),
        # several clock times in one clause, a word between them; a range is one plan
        ("내일 2시 세미나 6시 병원", ["2026-12-10T14:00:00+09:00", "2026-12-10T18:00:00+09:00"]),
        (
            "토욜 오전 11시 결혼식 갔다가 오후 4시엔 영화",
            ["2026-12-12T11:00:00+09:00", "2026-12-12T16:00:00+09:00"],
        ),
        # weekdays in one breath with a clock time or 매일: each day; without, a plan from the first day
        (
            "담주 월화수 매일 10시 교육",
            ["2026-12-14T10:00:00+09:00", "2026-12-15T10:00:00+09:00", "2026-12-16T10:00:00+09:00"],
        ),
        ("이번주 토일 둘다 6시 공연", ["2026-12-12T18:00:00+09:00", "2026-12-13T18:00:00+09:00"]),
        ("다음주 목금 부산 출장", ["2026-12-17"]),
        ("담주 화목 4시 테니스 레슨", ["2026-12-15T16:00:00+09:00", "2026-12-17T16:00:00+09:00"]),
        ("금일 회의 3시", ["2026-12-09T15:00:00+09:00"]),  # 금일 is "today", no list of 금 and 일
        ("담주 화 14:00 미팅 / 목 10:00 발표", ["2026-12-15T14:00:00+09:00", "2026-12-17T10:00:00+09:00"]),
        (
            "담주부터 월수금 아침 7시 수영 등록했어",  # the week before the list with 부터
            ["2026-12-14T07:00:00+09:00", "2026-12-16T07:00:00+09:00", "2026-12-18T07:00:00+09:00"],
        ),
    ],
)
def test_a_message_with_several_plans_makes_one_event_each(text, starts):
    assert [event.start.isoformat() for event in plan_text(text, NOW).events] == starts


def test_skipped_times_are_reported_with_their_line():
    result = plan_text("안녕\n2월 30일에 보자\n이번 주 월요일 회의 어땠어", NOW)
    assert [(s.line, "2월 30일" in s.note) for s in result.skipped] == [(2, True), (3, False)]


def test_a_later_time_settles_the_day_of_an_earlier_plan():
    result = plan_text("민지: 토요일에 성수 갈 사람?\n준호: 나 ㄱㄱ 근데 몇 시?\n민지: 2시쯤 어때", NOW)
    (event,) = result.events
    assert event.line == 3
    assert event.as_dict()["start"] == "2026-12-12T14:00:00+09:00"
    assert event.place == "성수"
    assert event.participants == ("민지", "준호")  # a pasted "이름: 메시지" transcript names its senders
    assert event.text == "2시쯤 어때"
    assert any("1번째 줄" in note for note in event.notes)


def test_plain_lines_with_a_colon_are_not_names():
    result = plan_text("12:30에 보자\n내일 회의", NOW)
    assert [event.participants for event in result.events] == [(), ()]


def test_title_place_and_calendar_link():
    (event,) = plan_text("내일 저녁 7시 강남역에서 저녁 먹자", NOW).events
    assert event.place == "강남역" and "강남역" in event.title and "저녁" in event.title
    url = google_calendar_url(event)
    assert url.startswith("https://calendar.google.com/calendar/render?action=TEMPLATE")
    assert "dates=20261210T190000%2F20261210T200000" in url and "ctz=Asia%2FSeoul" in url
