"""Korean time expressions in chat, resolved against a reference time (Asia/Seoul).

`resolve(text, now)` finds the day and the time of day a message talks about — "낼 점심 1시", "담주 화욜
7시 반", "크리스마스 이브", "3시간 뒤", "1시~4시" — and returns a `When` (a date, or a datetime with an
optional end) with notes for everything it assumed, or a `NoWhen` that says why there is none (no time at all,
a past reference, a date that does not exist, a day with no anchor).

Written by hand because no maintained library resolves these: dateparser's Korean data lacks 모레, 글피,
주말, 다음 주 화요일, native numerals (네 시) and bare-hour rules (measured: `python benchmarks/plan_dateparser.py`),
and Duckling's PyPI wrapper cannot parse on current Python. Lunar days come from `korean-lunar-calendar`.

The rules, in one place (and each one that applies is written into `When.notes`):

* A week starts on Monday: 이번 주 X요일 is that day of this week (already gone: a past reference), 다음 주 /
  담주 X요일 that day of next week. A bare X요일 is the next such day after today.
* 주말 is its Saturday; on a Sunday, 이번 주말 is today.
* A month and day without a year is this year's if still ahead; up to 31 days gone it is a past reference,
  more than that it is next year's (1월 2일 said on 12월 30일). A bare N일 is this month's, or next month's once
  passed, and names the day even beside a weekday or a named day ("30일 화요일").
* 이브 alone is 크리스마스 이브. 다음날 after a day is the day after it ("추석 당일 … 다음날"), 전날 right after
  a day the day before it ("추석 전날"); a bare X요일 said on that day as what today is ("금욜이니까") is today; a day followed by
  끝나고/지나고/이후/전에 ("추석 연휴 끝나고") is no day at all. 이따 with a part of the day but no hour ("이따
  저녁에") is today, time-less.
* Bare hours (no 오전/오후/아침/저녁/…): 1–6시 are in the afternoon (no one meets at 3 a.m.); 7–11시 are in
  the evening for a social plan and in the morning for a work or daytime plan (회의, 수업, 면접, 병원, 브런치 …);
  with neither kind of word, 7–9시 are the evening and 10–11시 the morning. 12시 is noon; 0시 and 13–23시 are
  read as a 24-hour clock. A time with no day is today's, or tomorrow's once it has passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from korean_lunar_calendar import KoreanLunarCalendar

SEOUL = ZoneInfo("Asia/Seoul")


@dataclass(frozen=True)
class When:
    """What a message's time expression resolves to."""

    start: date | datetime
    """A `date` for a day with no time of day, else an aware datetime in Asia/Seoul."""
    end: datetime | None = None
    """Only when the message states one (1시~4시)."""
    notes: tuple[str, ...] = ()
    """Every assumption made, in Korean, for the person who reads the event."""
    spans: tuple[tuple[int, int], ...] = ()
    """The character ranges of the text that were read as time (a title leaves them out)."""
    day_named: bool = False
    """The text names the day (낼, 토요일, 24일, 추석), not only a clock time or a count from now (3시간 뒤)."""

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


@dataclass(frozen=True)
class NoWhen:
    """Why a text resolves to no time: `none` (no time expression), `past`, `impossible` (2월 30일) or `vague`
    (a time of day with no day to put it on, 다음 달 with no day)."""

    reason: str
    note: str = ""


# --- the words -------------------------------------------------------------------------------------------

_B = r"(?<![가-힣])"  # a word starts here (Hangul has no \b of its own)

NATIVE_HOURS = {
    "한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7,
    "여덟": 8, "아홉": 9, "열": 10, "열한": 11, "열두": 12,
}  # fmt: skip
_NATIVE = "|".join(sorted(NATIVE_HOURS, key=len, reverse=True))
_HOUR = rf"(?:\d{{1,2}}|{_B}(?:{_NATIVE}))"
WEEKDAYS = "월화수목금토일"

RELATIVE_DAYS = {"내일모레": 2, "낼모레": 2, "모레": 2, "모래": 2, "글피": 3, "내일": 1, "낼": 1, "오늘": 0}
# "낼" must not be the end of 보낼/낼게: it starts a word and no verb ending follows it.
_RELATIVE_DAY = re.compile(
    _B + r"(?P<w>내일\s?모레|낼\s?모레|모레|글피|내일|오늘|낼(?![게께래까거걸수])"
    # the typo 모래 (sand) for 모레, only right before a time of day
    r"|모래(?=\s*(?:오전|오후|아침|점심|저녁|밤|새벽|\d)))"
)
_LATER = re.compile(_B + r"(?:좀\s*)?이따(?:가)?")
PAST_WORDS = re.compile(
    _B
    + r"(?:그저께|그제|엊그제|어젯밤|어젯저녁|간밤|어제|어저께|지난\s*주|지난주|저번\s*주|지난\s*달|지난달|저번\s*달|작년|"
    r"지난\s*번|지난번|저번에|지난\s*주말|아까)"
)

# 이번 주/다음 주/담주 + 요일 (화요일, 화욜); "이번 토요일" without 주 too.
_WEEKDAY = re.compile(
    rf"(?:(?P<wk>이번|요번|다음|담|다다음|다담|지난|저번)\s*(?:주\s*)?)?(?P<d>[{WEEKDAYS}])(?:요일|욜"
    # a weekday's syllable alone right before a clock time, as typed in a hurry ("목 1930", "담주 수 08:30"); not 일
    r"|(?<=(?<![가-힣])[월화수목금토])(?=\s*(?:\d{1,2}\s*시(?!간)|\d{1,2}:\d{2}|\d{4}(?!\d)|오전|오후|아침|점심|저녁|밤)))"
)
_WEEKEND = re.compile(r"(?:(?P<wk>이번|요번|다음|담|다다음|지난|저번)\s*(?:주\s*)?)?주말")
_FULL_DATE = re.compile(
    r"(?P<y>\d{4})\s*(?:년\s*|[-./]\s*)(?P<m>\d{1,2})\s*(?:월\s*|[-./]\s*)(?P<d>\d{1,2})일?"
)
_MONTH_DAY = re.compile(r"(?<!\d)(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일")
_SLASH_DATE = re.compile(r"(?<![\d/])(?P<m>\d{1,2})/(?P<d>\d{1,2})(?![\d/])")
# 12.19 토, 3.20(토), 6.11 오후 1시: a dotted month and day only with its weekday or a time of day beside it (4.5점,
# 1.5배, 3.5시간 are numbers)
_DOT_DATE = re.compile(
    rf"(?<![\d.])(?P<m>1[0-2]|0?[1-9])\.(?P<d>3[01]|[12]\d|0?[1-9])(?![\d.])"
    rf"(?=\s*\(?[{WEEKDAYS}](?:요일|욜|\)|\s|$)|\s*(?:[가-힣]+\s+)?(?:오전|오후|아침|점심|저녁|밤|새벽)|\s*\d{{1,2}}\s*시(?!간)"
    r"|\s*~\s*\d{1,2}\.\d{1,2}(?![\d.]))"  # or a dotted range's start: 9.10~9.12
)
_MONTH_REL_DAY = re.compile(r"(?P<rel>이번|다음|담|다다음)\s*달\s*(?P<d>\d{1,2})\s*일")
_MONTH_REL = re.compile(r"(?:이번|다음|담|다다음)\s*달")
_BARE_DAY = re.compile(
    r"(?<![\d월/박])(?<!박\s)(?P<d>\d{1,2})\s*일(?!\s*(?:뒤|후|있다가|동안|간|째|전|만에|차|짜리|치|연휴|휴가))(?!요일)"
)
_DAYS_LATER = re.compile(
    r"(?:(?P<n>\d{1,2})\s*일|(?P<w>하루|이틀|사흘|나흘|닷새|엿새|이레|열흘))\s*(?:뒤|후|있다가)"
)
_WEEKS_LATER = re.compile(r"(?:(?P<n>\d{1,2}|한|두|세)\s*주|(?P<w>일주일))\s*(?:뒤|후|있다가)")

_IN_DURATION = re.compile(
    rf"(?:(?P<h>\d{{1,2}}|{_B}(?:{_NATIVE}))\s*시간\s*(?P<half>반)?\s*(?:(?P<m2>\d{{1,2}})\s*분\s*)?"
    r"|(?P<m>\d{1,3})\s*분\s*)(?:뒤|후|있다가|이따가?)"
)
# 반 is half past only as a word of its own, maybe with a particle: "8시 반포대교" is 8시 at 반포
_HALF = r"반(?=$|[^가-힣]|에|쯤|까지|부터|으로|이|인|임|은|도|정도|경|만|즈음)"
_PERIOD = re.compile(_B + r"(?P<p>오전|오후|아침|점심|저녁|밤|새벽|낮|정오|자정)")
_CLOCK = re.compile(
    rf"(?P<h>{_HOUR})\s*시(?!간|작|험|청|즌|계|장|내|리|설|절|켜|킨|키|적|민)(?:\s*(?P<half>{_HALF})|\s*(?P<min>\d{{1,2}})\s*분)?"
    r"|(?<![\d:])(?P<ch>\d{1,2}):(?P<cm>\d{2})(?![\d:])"
    # typed 24-hour times "1930", "0830" standing alone, on the quarter hours (not 2026년, 5000원, 1004호)
    r"|(?<![\d:.,/])(?P<th>[01]\d|2[0-3])(?P<tm>00|15|30|45)(?![\d,.]|\s*(?:년|원|번|호|명|개|세대|학번|km|m\b))"
)
_RANGE_GLUE = re.compile(r"\s*(?:~|-|–|부터|에서)\s*$")
_RANGE_END = re.compile(
    rf"^\s*(?:~|-|–|부터|에서)\s*(?:(?P<p>오전|오후|저녁|밤)\s*)?(?P<h>{_HOUR})\s*시(?!간)"
    r"(?:\s*(?P<half>반)|\s*(?P<min>\d{1,2})\s*분)?\s*(?:까지)?"
)
_SHORT_RANGE = re.compile(r"(?<!\d)(?P<h1>\d{1,2})\s*(?:~|-)\s*(?P<h2>\d{1,2})\s*시(?!간)")
_FROM = re.compile(r"^\s*부터")
_ABOUT = re.compile(r"^\s*(?:쯤|경|즈음)")

_WORK = re.compile(
    r"회의|미팅|수업|강의|면접|출근|스터디|병원|진료|검진|상담|브런치|아침|등교|학원|과외|세미나|발표|"
    r"첫차|조회|조찬|교시|조기|기말|중간고사|본사|치과|피부과|안과|소아과|내과|산부인과|접종|유치원|어린이집|이비인후과|정형외과|한의원|은행|주민센터|구청|조조|오픈|"
    r"시험|등산|조깅|러닝|운동|헬스|요가|오전|스탠드업|스크럼|시무식|출장|교육|면담|업무|OT|오티"
)
_SOCIAL = re.compile(
    r"술|한잔|한 잔|맥주|소주|치맥|와인|회식|저녁|밤|파티|노래방|클럽|불금|야식|번개|포차|이자카야|고기|삼겹살"
)

SOLAR_DAYS = {
    "크리스마스 이브": (12, 24), "크리스마스이브": (12, 24), "크리스마스": (12, 25), "성탄절": (12, 25),
    "새해 첫날": (1, 1), "신정": (1, 1), "삼일절": (3, 1), "어린이날": (5, 5), "어버이날": (5, 8),
    "현충일": (6, 6), "광복절": (8, 15), "개천절": (10, 3), "한글날": (10, 9), "밸런타인데이": (2, 14),
    "발렌타인데이": (2, 14), "화이트데이": (3, 14), "빼빼로데이": (11, 11), "할로윈": (10, 31),
    "핼러윈": (10, 31),
}  # fmt: skip
LUNAR_DAYS = {"설날": (1, 1), "구정": (1, 1), "설 연휴": (1, 1), "정월 대보름": (1, 15), "추석": (8, 15)}
_NAMED = re.compile(
    "|".join(re.escape(name) for name in sorted({**SOLAR_DAYS, **LUNAR_DAYS}, key=len, reverse=True))
    + "|"
    + _B
    + r"이브(?=에|날|\s|$|[~!.,?])"  # 이브 alone is 크리스마스 이브
    + "|"
    + _B
    + r"설(?=\s*(?:당일|전날|다음\s*날|연휴|에|엔|때)|\s*$)"  # 설 alone is 설날 (not 설명, 설거지)
)
# "할로윈 파티 토요일 밤 9시", "개천절이 일요일이라 월요일에", "추석 쇠고 금요일": a named day that is a subject or
# is followed by a word (not 당일, 전날, a part of the day) is what the talk is about; another day named beside it is
# the plan's (but "낼 삼일절이라 쉰다" names the day)
_NAMED_AS_TOPIC = re.compile(
    r"(?:이|가|은|는|도)\s|\s+"
    r"(?!(?:당일|전\s*날|다음\s*날|연휴|때|날|오전|오후|아침|점심|저녁|밤|새벽|낮)(?![가-힣]))[가-힣]"
)
# "추석 연휴 끝나고 보자", "토요일 전에": a time around a day, not on it
_AROUND_DAY = re.compile(r"^\s*(?:연휴\s*|당일\s*)?(?:끝나고|지나고|지나서|이후|후에|전에|전까지)")
# "추석 당일엔 큰집 가고 다음날 놀자": the day after the day named before it
NEXT_DAY = re.compile(_B + r"(?:그\s*)?다음\s*날")
# "추석 전날", "설날 전날에": the day before the day named right before it
_DAY_BEFORE = re.compile(r"\s*(?:의\s*)?전\s*날")
# "목욜에서 금욜 4시로 옮겼어", "15일에서 17일로", "토욜 말고 금욜로", "7시 말고 8시에": the time a plan moved
# from, blanked so that the one it moved to is read (a clock with 에서 is a range's start: "3시에서 5시까지")
_DAY_WORD = rf"(?:\d{{1,2}}\s*일|[{WEEKDAYS}](?:요일|욜)|내일|낼|모레|오늘)"
_MOVED_FROM = re.compile(
    rf"{_DAY_WORD}\s*(?:에서|말고|대신|(?:은|는|이|가)?\s*아니(?:고|다|라|야)\S*)\s+(?=\S)"
    # "수요일 2시에서 금요일 오전 11시로": a day and its clock before 에서 and another day ("3시에서 5시까지" is a range)
    rf"|{_DAY_WORD}\s*{_HOUR}\s*시(?:\s*반)?\s*에서\s+(?={_DAY_WORD})"
    # "내일 겜 모임 말고 화요일 9시로": a day and the plan's name before 말고/대신 and another day
    rf"|{_DAY_WORD}(?:\s+[가-힣]+){{1,2}}\s+(?:말고|대신)\s+(?={_DAY_WORD})"
    rf"|{_HOUR}\s*시(?:\s*반)?\s*(?:말고|대신)\s+"
)
# a plan moved: "토요일로 옮겼어", "같은 시간으로 미뤄도 돼?", "4시 반으로 밀렸어" (the day or clock time within
# _MOVE_GAP characters before 로 is the new one)
_MOVE_VERB = re.compile(
    r"(?:으로|로)\s*(?:옮|연기|늦추|늦춰|늦춤|앞당기|앞당겨|미루|미뤄|미룸|바뀜|바뀌|바꿨|바꾸|바꿔|변경|땡기|땡겨|당기|당겨|밀렸|밀림)"
)
_MOVE_GAP = 7
_MOVABLE = {
    "day": (_WEEKDAY, _RELATIVE_DAY, _BARE_DAY),
    "clock": (re.compile(rf"{_HOUR}\s*시(?!간)(?:\s*반)?"),),
}
# "금욜이니까 칼퇴하고 한잔": today's weekday described, not the next one
_IS_TODAY = re.compile(r"\s*(?:이니까|이니깐|인데|이라서|이라|이잖|이다|이네|임)")


# --- resolving -------------------------------------------------------------------------------------------


@dataclass
class _Found:
    """What the scan found so far: a day, a time of day, their spans and notes."""

    day: date | None = None
    day_is_bare: bool = False
    """The day came from a form that says nothing of past or future (토요일, 24일, 12월 24일)."""
    later_today: bool = False
    notes: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)


def resolve(text: str, now: datetime, *, social: bool | None = None) -> When | NoWhen:
    """The time `text` speaks of, seen from `now` (an aware datetime; naive means Asia/Seoul).

    `social` says whether the message is a social plan (evening bare hours) or a work/daytime one (morning);
    None decides from the text's own words (see the module's rules).
    """
    now = now.replace(tzinfo=SEOUL) if now.tzinfo is None else now.astimezone(SEOUL)
    today = now.date()
    found = _Found()

    # N시간/N분 뒤: a moment, not a day and an hour.
    if match := _IN_DURATION.search(text):
        hours = _number(match["h"]) if match["h"] else 0
        minutes = (30 if match["half"] else 0) + int(match["m2"] or 0) + int(match["m"] or 0)
        start = (now + timedelta(hours=hours, minutes=minutes)).replace(second=0, microsecond=0)
        return When(start, None, (f"'{match[0].strip()}': {now:%H:%M} 기준",), (match.span(),))

    text = without_moved_from(text)
    outcome = _find_day(text, now, found)
    if isinstance(outcome, NoWhen):
        return outcome
    if found.day is None and PAST_WORDS.search(text):
        return NoWhen("past", "지난 일을 말하는 것 같아서 일정으로 만들지 않았어요")
    if found.day is not None and found.spans and not found.later_today:
        day_end = found.spans[0][1]
        if _AROUND_DAY.match(text[day_end:]):
            return NoWhen("vague", f"'{text[found.spans[0][0] : day_end]}' 전후라서 날짜가 정해지지 않았어요")
        if before := _DAY_BEFORE.match(text, day_end):
            found.day -= timedelta(days=1)
            found.spans.append((day_end, before.end()))
            found.notes.append(f"'{before[0].strip()}': {found.day.isoformat()}로 잡았어요")
            if found.day < today:
                return NoWhen("past", f"{found.day.isoformat()}은 이미 지났어요")
        elif next_day := NEXT_DAY.search(text, day_end):
            found.day += timedelta(days=1)
            found.spans.append(next_day.span())
            found.notes.append(f"'{next_day[0]}': {found.day.isoformat()}로 잡았어요")

    clock = _find_clock(text, found, social if social is not None else _is_social(text))
    if isinstance(clock, NoWhen):
        return clock
    if clock is None:
        if found.day is None:
            return NoWhen("none")
        if found.later_today and not _PERIOD.search(text):
            return NoWhen("vague", "'이따'만 있고 시간이 없어요")
        if found.day < today:
            return NoWhen("past", f"{found.day.isoformat()}은 이미 지났어요")
        return When(found.day, None, tuple(found.notes), tuple(found.spans), day_named=True)

    (hour, minute), end, clock_notes, ambiguous = clock
    day = found.day if found.day is not None else today
    start = _at(day, hour, minute)
    if found.day is None or found.later_today:
        # "7시에 보자", "이따 7시": the next such time from now; a bare hour may be either half of the day.
        candidates = [start]
        if found.later_today and ambiguous and hour < 12:  # 이따 10시: whichever 10시 comes next
            candidates.append(_at(day, hour + 12, minute))
        ahead = [c for c in candidates if c > now]
        if ahead:
            start = min(ahead) if found.later_today else ahead[0]
        elif found.later_today:
            return NoWhen("past", "'이따'라고 했지만 그 시간은 이미 지났어요")
        else:
            start += timedelta(days=1)
            clock_notes.append("날짜가 없고 오늘 그 시간은 지나서 내일로 잡았어요")
        if found.day is None and start.date() == today:
            clock_notes.append("날짜가 없어서 오늘로 잡았어요")
    elif start <= now:
        return NoWhen("past", f"{start:%Y-%m-%d %H:%M}은 이미 지났어요")
    if end is not None:
        end = _at(start.date(), *end)
        if end <= start:
            end += timedelta(hours=12) if end + timedelta(hours=12) > start else timedelta(days=1)
    named = found.day is not None and not found.later_today
    return When(start, end, tuple(found.notes + clock_notes), tuple(found.spans), day_named=named)


def without_moved_from(text: str) -> str:
    """The text with the times a plan moved from blanked, the same length: "목욜에서 금욜 4시로" → "        금욜
    4시로", and before a move ("금요일 영화 토요일로 옮겼어", "낼 3시 미팅 4시 반으로 밀렸어") the days, or the clock
    times, before the one it moved to."""
    text = _MOVED_FROM.sub(lambda m: " " * len(m[0]), text)
    target = moved_to(text)
    if target is None:
        return text
    kind, (start, _) = target
    if kind == "clock" and (day := _day_right_before(text, start)):  # "금요일 오전 9시로": the day moved too
        earlier = [
            m.span() for patterns in _MOVABLE.values() for p in patterns for m in p.finditer(text, 0, day)
        ]
    else:
        earlier = [m.span() for pattern in _MOVABLE[kind] for m in pattern.finditer(text, 0, start)]
    for a, b in earlier:
        text = text[:a] + " " * (b - a) + text[b:]
    return text


def _day_right_before(text: str, clock_start: int) -> int | None:
    """The start of a day expression that ends within a few characters (a part of the day) before a clock time."""
    for pattern in _MOVABLE["day"]:
        for m in pattern.finditer(text, 0, clock_start):
            if clock_start - m.end() <= _MOVE_GAP:
                return m.start()
    return None


def moved_to(text: str) -> tuple[str, tuple[int, int]] | None:
    """("day" or "clock", its span): the day or clock time a plan is moved to ("토요일로 옮겼어", "내일 같은
    시간으로 미뤄도 돼?", "4시 반으로 밀렸어"), or None (no move, or one to no named day: "다음 주로 미뤄졌대")."""
    move = _MOVE_VERB.search(text)
    if move is None:
        return None
    spans = [
        (kind, m.span())
        for kind, patterns in _MOVABLE.items()
        for pattern in patterns
        for m in pattern.finditer(text, 0, move.start())
    ]
    if not spans:
        return None
    kind, span = max(spans, key=lambda item: item[1][1])
    return (kind, span) if move.start() - span[1] <= _MOVE_GAP else None


def _at(day: date, hour: int, minute: int) -> datetime:
    """`hour` may be 24+ (밤 1시 = the next day's 1시)."""
    return datetime.combine(day, time(0, 0), SEOUL) + timedelta(hours=hour, minutes=minute)


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NATIVE_HOURS[word]


def _is_social(text: str) -> bool | None:
    work, social = bool(_WORK.search(text)), bool(_SOCIAL.search(text))
    return None if work == social else social


# --- the day ---------------------------------------------------------------------------------------------


def _find_day(text: str, now: datetime, found: _Found) -> NoWhen | None:
    """Fills `found.day` from the first day expression that applies; a NoWhen for a past or impossible day."""
    today = now.date()

    if match := _FULL_DATE.search(text):
        return _set_day(found, match, _make_date(int(match["y"]), int(match["m"]), int(match["d"])), text)
    if match := _MONTH_REL_DAY.search(text):
        months = {"이번": 0, "다음": 1, "담": 1, "다다음": 2}[match["rel"]]
        year, month = divmod(today.month - 1 + months, 12)
        return _set_day(found, match, _make_date(today.year + year, month + 1, int(match["d"])), text)
    if match := _MONTH_DAY.search(text) or _SLASH_DATE.search(text) or _DOT_DATE.search(text):
        return _month_day(found, match, int(match["m"]), int(match["d"]), today, text)
    # a bare N일 says which day even beside a weekday or a named day ("30일 화요일", "추석 연휴 … 24일")
    if match := _BARE_DAY.search(text):
        day = int(match["d"])
        year, month = today.year, today.month
        if day < today.day:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        result = _set_day(found, match, _make_date(year, month, day), text)
        found.day_is_bare = True
        return result
    if (match := _NAMED.search(text)) and not (
        (_NAMED_AS_TOPIC.match(text, match.end()) or _AROUND_DAY.match(text[match.end() :]))
        and (_RELATIVE_DAY.search(text) or _WEEKDAY.search(text) or _LATER.search(text))
    ):
        if re.search(PAST_WORDS.pattern + r"\s*$", text[: match.start()]):
            return NoWhen(
                "past", f"지난 {match[0]}이라서 일정으로 만들지 않았어요"
            )  # "지난주 크리스마스 파티 사진"
        return _named_day(found, match, today)
    if match := _RELATIVE_DAY.search(text):
        key = re.sub(r"\s", "", match["w"])
        found.day = today + timedelta(days=RELATIVE_DAYS[key])
        found.spans.append(match.span())
        return None
    if match := _DAYS_LATER.search(text):
        words = {"하루": 1, "이틀": 2, "사흘": 3, "나흘": 4, "닷새": 5, "엿새": 6, "이레": 7, "열흘": 10}
        found.day = today + timedelta(days=words[match["w"]] if match["w"] else int(match["n"]))
        found.spans.append(match.span())
        return None
    if match := _WEEKS_LATER.search(text):
        found.day = today + timedelta(weeks=_number(match["n"]) if match["n"] else 1)
        found.spans.append(match.span())
        found.notes.append(f"'{match[0]}': 같은 요일로 잡았어요")
        return None
    if match := _WEEKEND.search(text):
        day = _WEEKDAY.search(text, match.end())
        if day and day["wk"] is None and day["d"] in "토일":
            return _weekend_day(found, match, day, today)
        return _weekend(found, match, today)
    if match := _WEEKDAY.search(text):
        return _weekday(found, match, today)
    if match := _MONTH_REL.search(text):
        return NoWhen("vague", f"'{match[0]}'에 날짜가 없어요")
    if match := _LATER.search(text):
        found.day, found.later_today = today, True
        found.spans.append(match.span())
    return None


def _make_date(year: int, month: int, day: int) -> date | NoWhen:
    try:
        return date(year, month, day)
    except ValueError:
        return NoWhen("impossible", f"{month}월 {day}일은 없는 날짜라서 일정으로 만들지 않았어요")


def _set_day(found: _Found, match: re.Match, day: date | NoWhen, text: str) -> NoWhen | None:
    if isinstance(day, NoWhen):
        return day
    found.day = day
    found.spans.append(match.span())
    return None


def _month_day(found: _Found, match: re.Match, month: int, day: int, today: date, text: str) -> NoWhen | None:
    this_year = _make_date(today.year, month, day)
    if isinstance(this_year, NoWhen):
        if month == 2 and day == 29:  # not this year's: a plan is not four years away
            return NoWhen("impossible", f"{today.year}년에는 2월 29일이 없어서 일정으로 만들지 않았어요")
        return this_year
    if this_year >= today:
        result = _set_day(found, match, this_year, text)
    elif (today - this_year).days <= 31:
        return NoWhen("past", f"{month}월 {day}일은 얼마 전에 지났어요")
    else:
        result = _set_day(found, match, this_year.replace(year=today.year + 1), text)
        found.notes.append(f"{month}월 {day}일: 올해는 지나서 {today.year + 1}년으로 잡았어요")
    found.day_is_bare = True
    return result


def _named_day(found: _Found, match: re.Match, today: date) -> NoWhen | None:
    name = {"이브": "크리스마스 이브", "설": "설날"}.get(match[0], match[0])
    for year in (today.year, today.year + 1):
        day = date(year, *SOLAR_DAYS[name]) if name in SOLAR_DAYS else lunar_to_solar(year, *LUNAR_DAYS[name])
        if day >= today:
            found.day = day
            found.spans.append(match.span())
            if name in LUNAR_DAYS:
                found.notes.append(f"{name}: 음력 {LUNAR_DAYS[name][0]}월 {LUNAR_DAYS[name][1]}일")
            return None
    raise AssertionError("a yearly day comes again within two years")


def names_a_yearly_day(text: str) -> bool:
    """The text names a day that comes every year (추석, 크리스마스, 이브): by itself neither past nor future."""
    return bool(_NAMED.search(text))


def lunar_to_solar(year: int, month: int, day: int) -> date:
    """The solar date of a lunar one (Korea's calendar, KARI tables)."""
    calendar = KoreanLunarCalendar()
    if not calendar.setLunarDate(year, month, day, False):
        raise ValueError(f"no lunar date {year}-{month}-{day}")
    return date.fromisoformat(calendar.SolarIsoFormat())


# weeks from this one, for 주말 and a weekday after these words (None: this week)
_WEEKS_AHEAD = {
    None: 0,
    "이번": 0,
    "요번": 0,
    "다음": 1,
    "담": 1,
    "다다음": 2,
    "다담": 2,
    "지난": -1,
    "저번": -1,
}


def _weekend(found: _Found, match: re.Match, today: date) -> NoWhen | None:
    monday = today - timedelta(days=today.weekday())
    weeks = _WEEKS_AHEAD[match["wk"]]
    saturday = monday + timedelta(weeks=weeks, days=5)
    if weeks < 0:
        return NoWhen("past", f"'{match[0]}'은 이미 지났어요")
    if weeks == 0 and today.weekday() == 6:
        found.day = today
        found.notes.append("이번 주말: 오늘이 일요일이라 오늘로 잡았어요")
    else:
        found.day = saturday
        found.notes.append("주말은 토요일로 잡았어요")
    found.spans.append(match.span())
    return None


def _weekend_day(found: _Found, weekend: re.Match, day: re.Match, today: date) -> NoWhen | None:
    """A weekday after 주말 says which day of that weekend ("이번 주말 일욜 4시")."""
    monday = today - timedelta(days=today.weekday())
    found.day = monday + timedelta(weeks=_WEEKS_AHEAD[weekend["wk"]], days=WEEKDAYS.index(day["d"]))
    found.spans += [weekend.span(), day.span()]
    if found.day < today:
        return NoWhen("past", f"{found.day.isoformat()}은 이미 지났어요")
    return None


def _weekday(found: _Found, match: re.Match, today: date) -> NoWhen | None:
    weekday = WEEKDAYS.index(match["d"])
    monday = today - timedelta(days=today.weekday())
    week_word = match["wk"]
    found.spans.append(match.span())
    if week_word is None:
        if weekday == today.weekday() and _IS_TODAY.match(match.string, match.end()):
            found.day = today
            found.notes.append(f"{match['d']}요일: 오늘이라서 오늘로 잡았어요")
            return None
        ahead = (weekday - today.weekday()) % 7 or 7
        found.day = today + timedelta(days=ahead)
        found.day_is_bare = True
        found.notes.append(f"{match['d']}요일: 오늘 다음에 오는 {match['d']}요일로 잡았어요")
        return None
    weeks = _WEEKS_AHEAD[week_word]
    day = monday + timedelta(weeks=weeks, days=weekday)
    if day < today:
        return NoWhen("past", f"{match[0]}({day.isoformat()})은 이미 지났어요")
    found.day = day
    return None


# --- the time of day -------------------------------------------------------------------------------------


def _find_clock(text: str, found: _Found, social: bool | None):
    """((hour, minute), end (hour, minute) | None, notes, ambiguous) for the first clock time, or None.
    `ambiguous` means a bare hour that could be either half of the day."""
    period_match = _PERIOD.search(text)
    period = period_match["p"] if period_match else None
    if period_match:
        found.spans.append(period_match.span())
    notes: list[str] = []

    if short := _SHORT_RANGE.search(text):  # 1~4시
        h1, h2 = int(short["h1"]), int(short["h2"])
        (start, ambiguous) = _hour(h1, 0, period, social, notes)
        end, _ = _hour(h2, 0, period, social, [])
        found.spans.append(short.span())
        return start, end, notes, ambiguous

    match = _CLOCK.search(text)
    if match is None:
        if period in ("정오",):
            return (12, 0), None, notes, False
        if period == "자정":
            return (24, 0), None, notes, False
        if period is not None and found.day is not None:
            notes.append(f"'{period}'만 있고 시각이 없어서 하루 일정으로 두었어요")
            found.notes.extend(notes)
        return None
    found.spans.append(match.span())
    if match["th"] is not None:  # "1930": typed on a 24-hour clock
        return (int(match["th"]), int(match["tm"])), None, notes, False
    if match["ch"] is not None:
        hour, minute = int(match["ch"]), int(match["cm"])
    else:
        hour = _number(match["h"])
        minute = 30 if match["half"] else int(match["min"] or 0)
    if hour > 24 or minute > 59:
        return NoWhen("impossible", f"{match[0]}은 없는 시각이라서 일정으로 만들지 않았어요")
    if match["ch"] is not None and match["ch"].startswith("0") and period is None:
        # "09:00": a zero-padded hour is the morning, written as such
        return (hour, minute), None, notes, False
    start, ambiguous = _hour(hour, minute, period, social, notes)
    rest = text[match.end() :]
    if about := _ABOUT.match(rest):
        notes.append(f"'{match[0]}{about[0].strip()}': 대략의 시각이에요")
        rest = rest[about.end() :]
    end = None
    if range_end := _RANGE_END.match(rest):
        end_hour = _number(range_end["h"])
        end_minute = 30 if range_end["half"] else int(range_end["min"] or 0)
        end, _ = _hour(end_hour, end_minute, range_end["p"] or period, social, [])
        if end[0] < start[0] and end[0] + 12 > start[0] and end[0] < 12:
            end = (end[0] + 12, end[1])
        found.spans.append((match.end(), match.end() + range_end.end()))
    elif _FROM.match(rest):
        notes.append("끝나는 시각은 정하지 않았어요")
    return start, end, notes, ambiguous


def _hour(hour: int, minute: int, period: str | None, social: bool | None, notes: list[str]):
    """The 24-hour (hour, minute) of a spoken hour and its period word; (…, ambiguous)."""
    if period in ("오전", "아침"):
        return (0 if hour == 12 else hour, minute), False
    if period == "새벽":
        return (0 if hour == 12 else hour, minute), False
    if period in ("오후", "저녁"):
        return (hour + 12 if hour < 12 else hour, minute), False
    if period == "밤":
        # 밤 12시 is midnight and 밤 1–4시 the small hours: the next day, which _at handles as 24+.
        if hour == 12:
            return (24, minute), False
        if hour <= 4:
            return (hour + 24, minute), False
        return (hour + 12 if hour < 12 else hour, minute), False
    if period in ("점심", "낮", "정오"):
        return (hour + 12 if hour < 10 else hour, minute), False
    if hour == 0 or hour >= 13:
        return (hour, minute), False
    if hour == 12:
        return (12, minute), False
    if hour <= 6:
        notes.append(f"{hour}시: 오전/오후가 없어서 오후로 잡았어요 (1–6시는 오후)")
        return (hour + 12, minute), True
    if social is True or (social is None and hour <= 9):
        kind = "약속이라" if social else "7–9시는"
        notes.append(f"{hour}시: 오전/오후가 없어서 저녁으로 잡았어요 ({kind} 저녁)")
        return (hour + 12, minute), True
    kind = "회의·낮 일정이라" if social is False else "10–11시는"
    notes.append(f"{hour}시: 오전/오후가 없어서 오전으로 잡았어요 ({kind} 오전)")
    return (hour, minute), True
