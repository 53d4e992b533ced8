"""Chat messages that propose or settle a plan, turned into calendar events.

A message becomes an event when it has a plan word (보자, 갈 사람, ㄱㄱ, 회의, 예약 …, or a schedule told as news:
"본가 감", "먹을 거임", "은행 가야 됨", "면담 있습니다") and a time expression that `insabot.plan.when.resolve`
places in the future; a clock time and a meeting spot with no verb ("8시 반 강남역 11번 출구") count too.
Everything else — small talk, a past outing, a plan with no day ("담에 술 한잔해"), one called off or put off
(취소, 미뤄졌대) or only wished for (가볼까 생각중, 시간 되면 보자) — makes none: a wrong calendar entry is worse
than a missing one. A message that only gives a time ("2시쯤 어때") takes its day from a plan a few messages
before it, and then replaces that plan's all-day event, so one settled plan is one event.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from insabot.korean.hangul import NIEUN, NO_FINAL, RIEUL, SSANGSIOT, final_consonant, syllables_closed_by
from insabot.plan.when import (
    NEXT_DAY,
    PAST_WORDS,
    WEEKDAYS,
    NoWhen,
    When,
    moved_to,
    names_a_yearly_day,
    resolve,
    without_moved_from,
)

_PLAN = re.compile(
    r"보자|볼래|볼까|봐요|(?<![가-힣])봐(?=[\s~!.ㅎㅋ^]|$)|봬|뵐게|갈게|까지\s*(?:와|올)|가능해|뵈요|뵙|만나|만날|갈래|가자|갈까|갈 ?사람|가실|갑시다|올래|올 ?사람|할래|하자|할까|"
    r"먹자|먹을래|먹을까|마시자|ㄱㄱ|ㄱ\?|(?<![가-힣ㄱ-ㅎ])ㄱ(?=$|[\s!~.])|고고|(?<![가-힣])콜|어때|어떠|어떰|예약|약속|모임|회의|미팅|"
    r"수업|면접|회식|파티|번개|모이|모여|정모|스터디|공연|콘서트|데이트|여행|놀러|놀자|출발|[가-힣]기로\s*(?:했|함|해|한|하)|"
    r"시험|마감|제출|병원|진료|결혼식|돌잔치|집들이|생일|출국|비행기|기차|픽업|데리러|"
    r"정해졌|정해짐|잡혀\s*있|잡혔|통화|반차|연차|월차|심사|대회|총회|행사|축제|발표|"
    r"한잔|한 잔|치맥|술\s*(?:ㄱ|마시|먹)|돼\?|될까|시간 ?(?:돼|되냐)|가능\?|어디서|몇 ?시|같이|(?<![가-힣])ㄱㄱ|"
    # what goes in a calendar though no one is asked: gatherings, work, errands, trips, tickets
    r"송년회|신년회|동창회|시무식|종무식|출장|이사(?!님)|면담|교육|오티|(?<![A-Za-z])OT|스크럼|스탠드업|세미나|워크[숍샵]|"
    r"등산|김장|차례|제사|성묘|은행|치과|헬스|(?<![A-Za-z])PT|축구|예매|입사|전입신고|외식|마중|배웅|장\s*보|"
    r"확정|예정|검진|외근|알바|상견례|체크인|체크아웃|라운딩|피크닉|캠핑|마라톤|접수|도착|영화|"
    r"소개팅|학회|엠티|(?<![A-Za-z])MT|등록|풀자|뛰자|치자|타자|걷자|달리자|찍자|나가요|나갑니다|경기|참석|이벤트|대관|촬영|예비군|집합|(?<![가-힣])와\s*주|"
    r"(?<![가-힣])와[\s~!.?ㅋㅎ]*$|(?<![가-힣])(?:가|와)서\s|간다(?![가-힣])|(?<![가-힣])나와(?=$|[\s~!.?ㅋㅎ])|졸업식|입학식|복귀|개강|종강|개학|입대|전역|귀국|첫\s*출근|글램핑|"
    r"페스티벌|페스티발|팬미팅|팬싸|뮤지컬|전시|클래스|신청|비워\s*(?:둬|놔|두|놓)|다녀오|다녀와|다녀올|"
    # going, coming and doing, told as a schedule ("본가 감", "보고 들어갑니다", "먹으러 와~", "가야 됨")
    r"(?<![가-힣])[가감](?=$|[\s~!.?ㅋㅎㅠ])|내려가|내려감|올라가|올라감|들어갑니다|갑니다|합니다|있습니다|"
    r"러\s*(?:와|올|온대|온다|오)|와\s*줘|오세요|보는\s*거|가는\s*거|"
    r"(?:가|와|나가|들어가|내려가|올라가)야\s*(?:돼|됨|해|함|한다|된다|되는데|돼서)"
)
# a future told with -ㄹ 거 ("먹을 거임", "갈 거야") or a call with -ㄹ 사람 ("모각코 할 사람"): the syllable
# before ends in ㄹ
_WILL = re.compile(r"(?P<s>[가-힣])(?:\s?거(?:임|야|예요|에요|다|라|니까|같|지|죠)|\s사람(?=$|[\s~!.?ㅋㅎ]))")
# a promise with -ㄹ게 ("자정에 전화할게", "3시에 들를께요"): a plan only with a clock time ("내일 아침에 전화할게"
# is no calendar entry)
_PROMISE = re.compile(r"(?P<s>[가-힣])[게께]요?(?=$|[\s~!.?,ㅋㅎㅠ^])")
# going, coming or calling in, said politely with -겠 ("3시에 가겠습니다", "찾아뵙겠습니다")
_WILL_GO = re.compile(r"(?<![가-힣])(?:가|오|들르|참석하|방문하|찾아가|찾아뵙|뵙|도착하)겠")
# a bare time and where to meet, with no verb ("밤 11시 반에 한강 편의점 앞", "홍대입구역 9번 출구")
_MEETING_SPOT = re.compile(r"출구|입구|정문|후문|로비|[가-힣]\s?앞(?!으로|두|둔)(?=$|[\s에서~!.ㅋㅎ])")
# called off, put off, only wished for, or left to when there is time: no calendar entry
_CALLED_OFF = re.compile(
    r"취소|파토|폐강|결항|쉽니다|쉬어요|연기래|무기한|펑크|못\s*갈\s*(?:것|거)\s*같|못\s*가게\s*됐|안\s*내려가|안\s*올라가|안\s*(?:나와|와)도|쉬래|(?<![가-힣])접(?:음|었|자|기로)|미뤄|미루|미룸|미뤘|연기(?:됐|됨|했)|없어졌|없어짐|없던\s*(?:걸로|일로)|(?<![가-힣])없대|무산|"
    r"안\s*(?:가|하|보|만나)기로|안\s*한대|려다가?(?=\s|$)|휴강|휴진|못\s*갈\s*듯|못\s*가겠|농담이고|농담임|약속\s*(?:이\s*)?없|엎어|쉰대|쉬기로"
)
# someone else's plan the sender is not part of ("팀장님 수요일 출장 가신대 난 안감", "돌잔치 토요일이라는데 나는 못 가")
_NOT_MINE = re.compile(
    r"(?:난|나는|저는|전|나만)(?:\s+\S+){0,3}?\s*(?:안|못)\s*(?:감|가|함|해|빠짐)(?![가-힣])|(?:나|저)\s*빼고"
)
# a plan told as hearsay of going or with an honorific ("남친 내일 3시 비행기로 출장 간대", "엄마 모레 검진
# 받으신대") and no I, we or together in it is someone else's. Not 온대 ("이사 견적 보러 온대" comes to the sender)
# and not a noun's 이래 ("회식이래" is as often the sender's own: taking it as someone else's lost more on sets 2
# and 3 than it gained)
_HEARSAY = re.compile(r"(?:간|(?<!오)신)대요?(?=[\s~!.?ㅋㅎㅠ]*$)")
# news about someone else, told to a friend: the message opens with who (no 이/가: that would be someone
# reporting, "팀장님이 낼 회식이래") and ends a clause in casual hearsay ("동생 낼 면접이래", "팀장님 오늘 반차시래",
# "언니 담주 팬미팅 간대 부럽다"); not 온대 (coming to the sender), not -ㄹ래 (a question: "언니 낼 갈래?") and not
# a noun in -ㄴ대 (군대, 반대)
_OTHERS = (
    r"동생|남동생|여동생|남편|신랑|와이프|아내|언니|오빠|형|누나|엄마|아빠|어머니|아버지|부모님|남친|여친|"
    r"남자\s*친구|여자\s*친구|팀장님|부장님|과장님|차장님|대리님|실장님|사장님|선배|후배|친구|걔|쟤|큰집|작은집|"
    r"할머니|할아버지|시어머니|시아버지|장모님|이모|삼촌|고모|사촌|조카|룸메"
)
_THEIR_NEWS = re.compile(
    rf"^(?:우리\s*)?(?:(?:사촌|친|큰|작은|막내)?(?:{_OTHERS})(?:은|는|도|네)?\s+)+"
    rf"(?=.*(?:이|시|(?<!오)(?![군반현근연])[{syllables_closed_by(NIEUN)}]|[{syllables_closed_by(SSANGSIOT)}])(?:래|대)(?=$|[\s~!.?,ㅋㅎㅠ])"
    # a noun's 이래 after a vowel, contracted ("복귀래"), not 그래/저래
    rf"|.*(?![그저])[{syllables_closed_by(NO_FINAL)}]래(?=$|[\s~!.?,ㅋㅎㅠ]))"
)
# (not "나 혼자": left out; not 우리 before kin, "우리 언니": mine, not us)
_ME = re.compile(
    r"(?<![가-힣])(?:나|난|내가|나도|저|전|제가|저도|우리(?!\s*(?:언니|오빠|형|누나|동생|엄마|아빠|남편|와이프|애))|같이|함께|다들|다같이)"
    r"(?![가-힣])(?!\s*혼자)"
)
NOT_MINE_NOTE = "다른 사람의 일정이라서 일정으로 만들지 않았어요"
_WISHED = re.compile(
    r"생각\s*중|고민\s*중|(?<!예약하고\s)(?:싶다|싶어|싶음|싶은데)|했으면|으면\s*좋겠|시간\s*(?:되면|나면)"
)
# "2시간 뒤면 집 도착", "5시간 뒤면 내 생일": how long until something, not a plan
_COUNTDOWN = re.compile(r"(?:뒤|후)면(?![가-힣])")
COUNTDOWN_NOTE = "남은 시간을 말하는 것 같아서 일정으로 만들지 않았어요"
# the day is still being asked for ("다들 언제 돼?"): nothing to put in a calendar yet
_DAY_ASKED = re.compile(
    r"언제\s*(?:돼|되|가능|시간|볼|만날|할|갈|모일|괜찮)|나중에\s*정하|날짜는\s*(?:\S+\s+){0,3}(?:맞추|정하)"
)
CALLED_OFF_NOTE = "취소되거나 미뤄진 약속 같아서 일정으로 만들지 않았어요"
DAY_ASKED_NOTE = "아직 날짜를 정하는 중이라서 일정으로 만들지 않았어요"
WISHED_NOTE = "바람이나 '시간 되면' 같은 말이라서 일정으로 만들지 않았어요"
# A past tense with a day that says nothing of past or future ("토요일에 갔던 카페") is a memory, not a plan;
# a settled plan is told in the past tense too ("7시로 예약했어", "만나기로 했어"), and those stay plans.
# a syllable closed by ㅆ (했, 갔, 맞췄, 붙었 …) but 있 (is) and 겠 (will), before an ending; 갔다가 is "and then"
_PAST_SYLLABLES = syllables_closed_by(SSANGSIOT).replace("있", "").replace("겠", "")
_PAST_TENSE = re.compile(
    rf"[{_PAST_SYLLABLES}](?!으면)(?:어|던|다(?!가)|지|잖|는데|네|음|고|죠|요|니)|(?<![가-힣])(?:간|본|먹은|찍은)\s|끝냄|끝남|다녀옴"
)
_SETTLED_PAST = re.compile(
    r"놨|놓았|대관했|대여했|등록했|구했|확정됐|확정됨|기로\s*했|예약했|예약됐|예매했|끊었|잡았|잡혔|정했|정해졌|완료했|완료함|잡아\s*놨|해\s*놨|냈어|냈습|신청했"
)
# a proposal keeps a plan a plan whatever else is in the past ("초대장 받았어 같이 가자")
# (not a goodbye: "또 보자", "담에 보자")
# thanks for what someone did ("오늘 면담 시간 내주셔서 감사합니다"): the day is over, whatever comes next
_THANKED = re.compile(
    r"(?:셔서|줘서|줬어서|와서|해서)\s*(?:너무\s*|정말\s*|진짜\s*|넘\s*)?(?:감사|고마|고맙)"
)
_PROPOSAL = re.compile(
    r"(?<!또\s)(?<!담에\s)(?:가|보|하|먹|만나|놀|마시|풀|뛰|치|타|걷|달리|찍)자(?![가-힣])|ㄱㄱ|(?<![가-힣ㄱ-ㅎ])ㄱ(?=$|[\s!~.?])|갈\s*사람|어때"
)
_AGREE = re.compile(
    r"^(?:(?:나|난|저|전)\s*)?(?:ㅇㅇ|ㅇㅋ|콜|좋아|좋지|오케이|ok|okay|ㄱㄱ|고고|나도|갈게|가능|됨|그래|넵|네|당연|찬성|굿)",
    re.I,
)
ACTIVITIES = [
    ("회식", "회식"), ("신년회", "신년회"), ("송년회", "송년회"), ("동창회", "동창회"), ("회의", "회의"), ("미팅", "미팅"), ("면접", "면접"), ("수업", "수업"),
    ("스터디", "스터디"), ("시험", "시험"), ("생일", "생일"), ("파티", "파티"), ("영화", "영화"),
    ("콘서트", "콘서트"), ("공연", "공연"), ("여행", "여행"), ("데이트", "데이트"), ("브런치", "브런치"),
    ("점심", "점심"), ("저녁", "저녁"), ("아침", "아침"), ("치맥", "치맥"), ("한잔", "술 약속"),
    ("한 잔", "술 약속"), ("술", "술 약속"), ("밥", "밥 약속"), ("카페", "카페"), ("번개", "번개"),
    ("병원", "병원"), ("진료", "병원"), ("예약", "예약"), ("모임", "모임"),
]  # fmt: skip
_TIME_WORDS = re.compile(
    r"^(?:오늘|내일|낼|모레|글피|이번|다음|담|주말|이따|이따가|우리|나|너|같이|다같이|다|또|꼭|먼저|일찍|"
    r"늦게|빨리|어디|거기|여기|저기|그때|언제|누구|아침|점심|저녁|밤|새벽|오전|오후|낮|\d.*|.*[시일분]|"
    r".*요일|.*욜)$"
)
_PLACE_AT = re.compile(r"(?P<p>[가-힣A-Za-z0-9]+?)(?:\s*(?:앞|근처|쪽|입구))?(?:에서|서\s+(?:보자|만나))")
_PLACE_GO = re.compile(r"(?P<p>[가-힣A-Za-z0-9]{2,}?)(?:에|으로|로)?\s+(?:갈|가자|가실|가요|가볼|놀러|가서)")
_STATION = re.compile(r"(?P<p>[가-힣]{1,6}역)(?![가-힣])")
MEMORY_NOTE = "지난 일을 말하는 것 같아서 일정으로 만들지 않았어요"
AGREE_WINDOW = 5
"""Replies that agree to a plan count as its participants within this many messages after it."""
CARRY_MESSAGES = 5
"""A time-only message takes its day from a plan at most this many messages before it…"""
CARRY_WINDOW = timedelta(hours=3)
"""…and, in an export, sent at most this long before it."""


@dataclass(frozen=True)
class Message:
    """One chat message to read: its input line, its reference time, who sent it (an export's name, or "")."""

    line: int
    text: str
    time: datetime
    sender: str = ""


@dataclass(frozen=True)
class Event:
    line: int
    start: date | datetime
    end: datetime | None
    title: str
    place: str | None
    participants: tuple[str, ...]
    text: str
    notes: tuple[str, ...] = ()

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape `insabot plan` prints and `POST /v1/plan` returns."""
        record: dict[str, Any] = {"line": self.line, "start": self.start.isoformat()}
        if self.end is not None:
            record["end"] = self.end.isoformat()
        record |= {
            "title": self.title,
            "place": self.place,
            "participants": list(self.participants),
            "text": self.text,
            "notes": list(self.notes),
        }
        return record


@dataclass(frozen=True)
class Skipped:
    """A message that names a time but makes no event, and why (2월 30일, a past day): reported, not dropped."""

    line: int
    text: str
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "text": self.text, "note": self.note}


@dataclass
class PlanResult:
    events: list[Event] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def is_plan(text: str) -> bool:
    """The message proposes, asks about, settles or announces something to do at some time."""
    return bool(_PLAN.search(text) or _WILL_GO.search(text)) or any(
        final_consonant(m["s"]) == RIEUL for m in _WILL.finditer(text)
    )


def _promised_at_a_time(text: str, when: When | NoWhen) -> bool:
    return (
        isinstance(when, When)
        and not when.all_day
        and any(final_consonant(m["s"]) == RIEUL for m in _PROMISE.finditer(text))
    )


def _not_a_plan(text: str) -> str | None:
    """Why a message with a plan word and a time is still no event: called off, or only wished for."""
    if _CALLED_OFF.search(text) and not moved_to(text):  # "내일 같은 시간으로 미뤄도 돼?" moves, not cancels
        return CALLED_OFF_NOTE
    if _NOT_MINE.search(text) or (
        (_HEARSAY.search(text) or _THEIR_NEWS.search(text))
        and not _ME.search(text)
        and not _PROPOSAL.search(text)
    ):
        return NOT_MINE_NOTE
    if _WISHED.search(text):
        return WISHED_NOTE
    if _DAY_ASKED.search(text):
        return DAY_ASKED_NOTE
    if _COUNTDOWN.search(text) and not _PROPOSAL.search(text):  # "5일 뒤면 종강이니까 그날 8시 술 ㄱ" plans
        return COUNTDOWN_NOTE
    return None


def find_events(messages: Iterable[Message]) -> PlanResult:
    """The events in `messages` (in order), and the plan messages with a time that made none."""
    messages = list(messages)
    result = PlanResult()
    recent: list[tuple[int, Message, Event]] = []  # the plans a later time-only message may refer to
    for index, message in enumerate(messages):
        when = resolve(_with_first_listed_day(message.text), message.time)
        planned = (
            is_plan(message.text) or _names_day_and_clock(when) or _promised_at_a_time(message.text, when)
        )
        if not planned and not _MEETING_SPOT.search(message.text):
            continue
        if isinstance(when, NoWhen):
            if when.note and planned:
                result.skipped.append(Skipped(message.line, message.text, when.note))
            continue
        if not planned and when.all_day:
            continue  # a meeting spot makes a plan only with a clock time
        if reason := _not_a_plan(message.text):
            result.skipped.append(Skipped(message.line, message.text, reason))
            continue
        if _is_memory(message.text, when):
            result.skipped.append(Skipped(message.line, message.text, MEMORY_NOTE))
            continue
        replies = messages[index + 1 : index + 1 + AGREE_WINDOW]
        # "낼 3시 치과 갔다가 7시에 헬스", "담주 토일 둘다 5시": one event each
        if len(several := _day_list_events(message) or _clause_events(message)) > 1:
            for event in several:
                event = _with_participants(event, replies)
                recent.append((index, message, event))
                result.events.append(event)
            continue
        event = _with_participants(_event(message, when), replies)
        earlier = _earlier_plan(recent, index, message) if _took_today(when) else None
        if earlier is not None:
            event = _on_day_of(event, earlier, message)
            if earlier.all_day and earlier in result.events:
                result.events.remove(earlier)  # "토요일에 갈 사람?" … "2시 어때": one event, at 2시
        recent.append((index, message, event))
        result.events.append(event)
    return result


def _names_day_and_clock(when: When | NoWhen) -> bool:
    """A day and a clock time, both named ("모레 토요일 오후 5시 한강 피크닉", "낼 정오 체크아웃"): a schedule
    even with no plan word; not a count from now ("5시간 뒤면")."""
    return isinstance(when, When) and not when.all_day and when.day_named


# where one plan ends and the next begins: "…하고 ", "갔다가 ", ", ", " 그리고 "
_CLAUSE_BREAK = re.compile(r"(?<=[가-힣])(?:고|다가|구)\s+|\s*[,/]\s*|\s+(?:그리고|그\s*다음에?|그담에?)\s+")
# a clock time with a word between it and the one before ("오늘 3시 회의 5시 병원"): a plan of its own; not the
# end of a range ("3시에서 5시까지")
_CLOCK_AT = re.compile(r"(?:(?:오전|오후|저녁|밤|아침|점심)\s*)?\d{1,2}\s*시(?!간)")
_RANGE_START = re.compile(r"(?:에서|부터|~|-)\s*$")


def _clauses(text: str) -> list[str]:
    clauses = []
    for clause in _CLAUSE_BREAK.split(text):
        clocks = list(_CLOCK_AT.finditer(clause))
        cuts = [
            later.start()
            for earlier, later in itertools.pairwise(clocks)
            if re.search(r"[가-힣]{2}\s+$|[가-힣]\s+[가-힣]+\s+$", clause[earlier.end() : later.start()])
            and not _RANGE_START.search(clause[: later.start()])
        ]
        bounds = [0, *cuts, len(clause)]
        clauses += [clause[a:b].strip() for a, b in itertools.pairwise(bounds)]
    return clauses


def _clause_events(message: Message) -> list[Event]:
    """The plans of a message that names a time in two or more of its clauses, one event each (none when fewer
    than two do; a clause with a day but no clock time needs a plan word of its own). A clause with only a clock
    time ("7시에 헬스") is on the day of the plan before it, and a 다음날 the day after; a bare weekday never falls before the day named earlier ("담주 월욜 … 수욜")."""
    events: list[Event] = []
    for clause in _clauses(without_moved_from(message.text)):
        when = resolve(clause, message.time)
        previous = events[-1].start if events else None
        day = previous.date() if isinstance(previous, datetime) else previous
        if isinstance(when, NoWhen):
            if day is None or not NEXT_DAY.search(clause):
                continue
            when = When(day + timedelta(days=1), notes=("다음날: 앞의 약속 다음 날로 잡았어요",))
        elif day is not None and _took_today(when) and isinstance(when.start, datetime):
            shift = (day + timedelta(days=1 if NEXT_DAY.search(clause) else 0)) - when.start.date()
            if isinstance(previous, datetime) and when.start + shift <= previous and when.start.hour < 12:
                shift += timedelta(hours=12)  # "3시 치과 갔다가 7시에 헬스": the later plan is later that day
            when = replace(when, start=when.start + shift, end=when.end + shift if when.end else None)
        elif day is not None and _bare_weekday(when):
            while (when.start.date() if isinstance(when.start, datetime) else when.start) < day:
                when = replace(when, start=when.start + timedelta(weeks=1))
        if when.all_day and not is_plan(clause):
            continue  # "크리스마스 당일은 가족이랑 있고 다음날 2시에 보자": a day with nothing planned on it
        event = _event(replace(message, text=clause), when)
        events.append(replace(event, text=message.text))
    # "담주 수욜 종무식 끝나고 7시 을지로 ㄱㄱ": a day and then its clock time are one plan, at that time
    timed_days = {event.start.date() for event in events if not event.all_day}
    events = [event for event in events if not (event.all_day and event.start in timed_days)]
    return events if len({event.start for event in events}) > 1 else []


# "담주 월화수 매일 9시", "토일 둘다 5시", "이번주 수목금 출장": weekdays in one breath, in the week's order (two
# of them only side by side, so 금일 "today" stays a word)
_DAY_LIST = re.compile(
    r"(?:(?P<wk>이번|요번|다음|담|다다음)\s*주(?:부터|만|에)?\s*)?(?<![가-힣])(?P<days>[월화수목금토일]{2,4})(?:요일|욜)?(?![가-힣])"
)
_EACH_DAY = re.compile(r"매일|둘\s*다|양일|각각")


def _listed_days(text: str) -> list[str]:
    """The text once per day of its weekday list, the list replaced by that day ("담주 월화수" → "담 주 월요일" …);
    empty without a list."""
    match = _DAY_LIST.search(text)
    if match is None:
        return []
    order = [WEEKDAYS.index(day) for day in match["days"]]
    in_order = all(b > a for a, b in itertools.pairwise(order))
    if not in_order or (len(order) == 2 and order[1] - order[0] != 1 and not match["wk"]):
        return []  # two days apart need their week ("담주 화목"): 금일 is "today"
    week = f"{match['wk']} 주 " if match["wk"] else ""
    return [text[: match.start()] + f"{week}{day}요일" + text[match.end() :] for day in match["days"]]


def _with_first_listed_day(text: str) -> str:
    """The text with a weekday list read as its first day ("수목금 출장" → a trip that starts on 수요일)."""
    return next(iter(_listed_days(text)), text)


def _day_list_events(message: Message) -> list[Event]:
    """One event on each weekday of a list when a clock time or 매일/둘 다 says each day has it, else none."""
    events = []
    for text in _listed_days(message.text):
        when = resolve(text, message.time)
        if isinstance(when, NoWhen) or (when.all_day and not _EACH_DAY.search(message.text)):
            return []
        events.append(replace(_event(replace(message, text=text), when), text=message.text))
    return events


def _bare_weekday(when: When) -> bool:
    """The day came from a weekday alone (토요일: the next one), as `resolve` notes it."""
    return any(note.endswith("요일로 잡았어요") for note in when.notes)


def _took_today(when: When) -> bool:
    """The day came from nothing in the text: a bare time ("2시쯤 어때") was put on today (or tomorrow)."""
    return any(note.startswith("날짜가 없") for note in when.notes)


def _earlier_plan(recent: list[tuple[int, Message, Event]], index: int, message: Message) -> Event | None:
    for earlier_index, earlier_message, event in reversed(recent):
        if index - earlier_index > CARRY_MESSAGES:
            return None
        if message.time - earlier_message.time > CARRY_WINDOW:
            return None
        if not any(note.startswith("날짜가 없") for note in event.notes):
            return event
    return None


def _on_day_of(event: Event, earlier: Event, message: Message) -> Event:
    """`event`'s time of day on the day of the `earlier` plan it answers."""
    assert isinstance(event.start, datetime)
    day = earlier.start if earlier.all_day else earlier.start.date()
    start = datetime.combine(day, event.start.timetz())
    end = datetime.combine(day, event.end.timetz()) if event.end is not None else None
    notes = [n for n in event.notes if not n.startswith("날짜가 없")]
    notes.append(f"날짜는 {earlier.line}번째 줄의 약속에서 가져왔어요")
    participants = tuple(dict.fromkeys(earlier.participants + event.participants))
    return replace(
        event,
        start=start,
        end=end,
        notes=tuple(notes),
        place=event.place or earlier.place,
        title=event.title if event.title != "약속" else earlier.title,
        participants=participants,
    )


def _is_memory(text: str, when: When) -> bool:
    """A past tense about a day that could be either way (토요일, 24일) is something that happened; so is a day
    someone is thanked for."""
    if _THANKED.search(text) and not _PROPOSAL.search(text):
        return True
    bare = (
        _bare_weekday(when)
        or bool(
            re.search(
                r"(?<![\d월/달])(?<!달\s)\d{1,2}\s*일(?!\s*뒤|\s*후)|\d{1,2}\s*월|\d{1,2}/\d{1,2}", text
            )
        )
        or names_a_yearly_day(text)  # 추석, 크리스마스: this year's or last year's
        # "오늘 즐거웠다": the day now ending
        or (when.all_day and bool(re.search(r"(?<![가-힣])오늘", text)))
        or bool(PAST_WORDS.search(text))  # "어젯밤 11시까지 야근해서 오늘 …": a day gone is spoken of
    )
    return (
        bare
        and bool(_PAST_TENSE.search(text))
        and not _SETTLED_PAST.search(text)
        and not _PROPOSAL.search(text)
        and not moved_to(text)  # "금요일로 옮겼어": a plan moved, told in the past tense
    )


def _event(message: Message, when: When) -> Event:
    place = find_place(message.text, when.spans)
    activity = next((name for word, name in ACTIVITIES if word in message.text), "약속")
    title = f"{place} {activity}" if place and activity != place else activity
    participants = (message.sender,) if message.sender else ()
    return Event(
        line=message.line,
        start=when.start,
        end=when.end,
        title=title,
        place=place,
        participants=participants,
        text=message.text,
        notes=when.notes,
    )


def find_place(text: str, time_spans: Iterable[tuple[int, int]] = ()) -> str | None:
    """Where: a station (합정역), the word before 에서, or what one goes to (한강 갈 사람?)."""
    spans = list(time_spans)
    for pattern in (_STATION, _PLACE_AT, _PLACE_GO):
        for match in pattern.finditer(text):
            word = match["p"]
            start, end = match.span("p")
            if any(s < end and start < e for s, e in spans) or _TIME_WORDS.match(word):
                continue
            return word
    return None


def _with_participants(event: Event, replies: list[Message]) -> Event:
    """The sender and everyone who agrees (ㅇㅇ, 콜, 나도 …) in the messages right after."""
    names = list(event.participants)
    for reply in replies:
        if reply.sender and reply.sender not in names and _AGREE.match(reply.text.strip()):
            names.append(reply.sender)
    return replace(event, participants=tuple(names))
