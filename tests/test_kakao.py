"""KakaoTalk text-export importer: both layouts, tricky lines, PII scrubbing and the conversation rows."""

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from insabot.chat import SYSTEM_PROMPTS
from insabot.finetune.conversations import parse_conversation, read_conversations
from insabot.finetune.kakao import name_variants, scrub_pii, to_conversations, write_jsonl
from insabot.kakao_export import KakaoFormatError, KakaoMessage, parse_export

FIXTURES = Path(__file__).parent / "fixtures" / "kakao"
PC = FIXTURES / "pc_group.txt"
ANDROID = FIXTURES / "android_1on1.txt"
IOS = FIXTURES / "ios_senior.txt"

JUNHO = "박 준호 [회사]"
SEOYEON = "김서연 선배"

# What must never survive into a training row.
LEAKS = {
    "phone": re.compile(r"(?:\+\s?82|\b0\d{1,2})[-. ]?\d{3,4}[-. ]?\d{4}"),
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "url": re.compile(r"https?://|www\.|\.(?:com|kr|net)\b", re.IGNORECASE),
    "account": re.compile(r"\d(?:[- ]?\d){7,}"),
}


def t(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute)


PC_EXPECTED = [
    (6, t(20, 21, 3), "민지", "오늘 성수 갈래?"),
    (7, t(20, 21, 4), JUNHO, "나 야근ㅠ 9시 반에 끝나"),
    (8, t(20, 21, 5), "지훈", "ㄱㄱ 나 지금 나갈 수 있음"),
    (9, t(20, 21, 5), "지훈", "민지야 어디서 볼까"),
    (11, t(20, 21, 6), "민지", "여기 [성수 카페] 어때? 웨이팅 : 20분 정도래"),
    (
        13,
        t(20, 21, 8),
        "지훈",
        "좋아 내 번호 010-1234-5678로 전화해\n준호는 끝나면 바로 와\n\n위치는 www.seongsu-cafe.example.kr 참고",
    ),
    (17, t(20, 21, 10), "민지", "예약은 https://booking.example.com/r?id=42&ref=kakao 여기서 하면 됨"),
    (19, t(20, 21, 12), JUNHO, "지훈아 나 늦으면 먼저 시켜"),
    (21, t(20, 21, 13), "지훈", "오키 민지 계좌 110-123-456789로 회비 보낼게"),
    (22, t(20, 23, 58), JUNHO, "오늘 재밌었다ㅋㅋ"),
    (24, t(21, 0, 3), "지훈", "잘 들어갔어?"),
    (25, t(21, 0, 5), "민지", "응 방금 도착\n카드값 나오면 1234 5678 9012 3456 이 카드로 정산할게"),
    (28, t(21, 0, 6), "지훈", "ㅇㅋ 고마워 minji.kim@example.com 으로도 보내줘"),
    (29, t(21, 12, 30), "민지", "점심 뭐 먹지"),
    (31, t(21, 12, 31), "지훈", "마라탕 ㄱ"),
]

ANDROID_EXPECTED = [
    (5, t(21, 23, 50), "민지", "야 자?"),
    (6, t(21, 23, 51), "지훈", "아니 아직 ㅋㅋ"),
    (7, t(21, 23, 51), "지훈", "왜"),
    (
        8,
        t(21, 23, 52),
        "민지",
        "내일 팝업 오픈런 할 사람\n비율은 3 : 2로 나눠서 굿즈 사자\n[공지] 10시 오픈이래",
    ),
    (12, t(21, 23, 53), "지훈", "ㄱㄱ 나 낄래"),
    (15, t(22, 0, 4), "준호", "나도 갈래 +82 10 9876 5432로 연락해"),
    (18, t(22, 9, 30), "지훈", "다들 일어났냐"),
    (20, t(22, 9, 32), "민지", "ㅇㅇ 지금 나감"),
    (21, t(22, 9, 33), "지훈", "나 먼저 가 있을게"),
]

IOS_EXPECTED = [
    (5, t(23, 12, 10), SEOYEON, "지훈아 이번 주 토요일에 동아리 모임 올 수 있어?"),
    (6, t(23, 12, 12), "지훈", "안녕하세요 선배! 네 저 토요일에 시간 괜찮아요"),
    (7, t(23, 12, 12), "지훈", "혹시 몇 시에 모이나요?"),
    (8, t(23, 12, 15), SEOYEON, "2시! 장소는 02-123-4567 여기로 전화해서 물어봐"),
    (9, t(23, 12, 16), "지훈", "넵 알겠습니다 ㅎㅎ"),
    (10, t(23, 12, 17), SEOYEON, "서연이라고 하면 알 거야"),
    (11, t(23, 12, 18), "지훈", "감사합니다 선배님\n토요일에 뵐게요!"),
    (13, t(23, 18, 30), SEOYEON, "아 회비는 3333-01-1234567로 보내줘"),
    (14, t(23, 18, 35), "지훈", "네 바로 보낼게요"),
]


def as_tuples(messages: list[KakaoMessage]) -> list[tuple]:
    return [(m.line, m.time, m.sender, m.text) for m in messages]


@pytest.mark.parametrize(
    ("path", "expected"), [(PC, PC_EXPECTED), (ANDROID, ANDROID_EXPECTED), (IOS, IOS_EXPECTED)]
)
def test_parse_export_exact(path, expected):
    assert as_tuples(parse_export(path)) == expected


def test_pc_fixture_has_bom_and_crlf_parses_the_same(tmp_path):
    raw = PC.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(raw[3:].replace(b"\n", b"\r\n"))
    assert as_tuples(parse_export(crlf)) == PC_EXPECTED


def test_noon_and_midnight(tmp_path):
    pc = tmp_path / "pc.txt"
    pc.write_text(
        "--------------- 2026년 11월 21일 토요일 ---------------\n"
        "[a] [오전 12:00] 자정\n[a] [오전 12:59] 자정 59분\n[a] [오후 12:00] 정오\n"
        "[a] [오후 12:45] 점심\n[a] [오전 1:07] 새벽\n[a] [오후 11:59] 밤\n",
        encoding="utf-8",
    )
    assert [m.time for m in parse_export(pc)] == [
        t(21, 0, 0),
        t(21, 0, 59),
        t(21, 12, 0),
        t(21, 12, 45),
        t(21, 1, 7),
        t(21, 23, 59),
    ]
    mobile = tmp_path / "mobile.txt"
    mobile.write_text(
        "2026년 11월 21일 오전 12:10, a : 자정\n2026. 11. 21. 오후 12:10, a : 정오\n2026. 11. 21. 21:10, a : 24시간제\n",
        encoding="utf-8",
    )
    assert [m.time for m in parse_export(mobile)] == [t(21, 0, 10), t(21, 12, 10), t(21, 21, 10)]


def test_system_lines_placeholders_and_empty_lines_are_skipped():
    texts = [m.text for path in (PC, ANDROID, IOS) for m in parse_export(path)]
    for dropped in ("사진", "사진 3장", "동영상", "이모티콘", "삭제된 메시지입니다.", "파일: 성수_정산.xlsx"):
        assert dropped not in texts
    joined = "\n".join(texts)
    for notice in ("들어왔습니다", "나갔습니다", "초대했습니다", "가렸습니다"):
        assert notice not in joined
    assert all(text == text.strip() and text for text in texts)


def test_message_before_any_date_has_no_time(tmp_path):
    path = tmp_path / "nodate.txt"
    path.write_text("[민지] [오후 9:03] 안녕\n", encoding="utf-8")
    assert as_tuples(parse_export(path)) == [(1, None, "민지", "안녕")]


def test_header_only_export_is_empty(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("민지 님과 카카오톡 대화\n저장한 날짜 : 2026-11-21 13:05:42\n\n", encoding="utf-8")
    assert parse_export(path) == []


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        ("그냥 메모장 파일\n두 번째 줄\n", 1, "not a KakaoTalk"),
        (
            "민지 님과 카카오톡 대화\n저장한 날짜 : 2026-11-21\n\n이상한 줄\n[민지] [오후 9:03] 안녕\n",
            4,
            "cannot",
        ),
        ("--------------- 2026년 11월 20일 금요일 ---------------\n[민지] [오후 13:03] 안녕\n", 2, "time"),
        ("2026년 2월 30일 오후 9:03, 민지 : 안녕\n", 1, "date"),
        ("2026. 11. 20. 오후 9:75, 민지 : 안녕\n", 1, "time"),
    ],
)
def test_bad_lines_raise_with_file_and_line(tmp_path, content, line, words):
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KakaoFormatError, match=rf"^{re.escape(str(path))}:{line}: .*{words}"):
        parse_export(path)


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "cp949.txt"
    path.write_bytes("[민지] [오후 9:03] 안녕\n".encode() + "[민지] [오후 9:04] 잘 가\n".encode("cp949"))
    with pytest.raises(KakaoFormatError, match=rf"^{re.escape(str(path))}:2: not valid UTF-8"):
        parse_export(path)


def test_decomposed_hangul_is_normalised(tmp_path):
    import unicodedata

    path = tmp_path / "nfd.txt"
    path.write_text(unicodedata.normalize("NFD", "[민지] [오후 9:03] 성수 갈래?\n"), encoding="utf-8")
    [message] = parse_export(path)
    assert (message.sender, message.text) == ("민지", "성수 갈래?")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("번호 010-1234-5678 이야", "번호 <전화번호> 이야"),
        ("01012345678로 전화", "<전화번호>로 전화"),
        ("사무실 02-123-4567", "사무실 <전화번호>"),
        ("+82 10 9876 5432, +82-10-9876-5432", "<전화번호>, <전화번호>"),
        ("메일 minji.kim@example.com 으로", "메일 <이메일> 으로"),
        ("https://a.example.com/x?y=1). 참고", "<링크>). 참고"),
        ("www.example.co.kr 랑 naver.com에서", "<링크> 랑 <링크>에서"),
        ("계좌 110-123-456789, 3333-01-1234567", "계좌 <계좌번호>, <계좌번호>"),
        ("카드 1234 5678 9012 3456 끝", "카드 <계좌번호> 끝"),
        ("3시에 2만원씩 2026-11-20", "3시에 2만원씩 2026-11-20"),
        ("김민지 민지야 <사람1> <전화번호>", "<사람1> <사람1>야 <사람1> <전화번호>"),
    ],
)
def test_scrub_pii(text, expected):
    assert scrub_pii(text, {"김민지": "<사람1>", "민지": "<사람1>"}) == expected


def test_scrub_pii_does_not_rewrite_placeholders():
    # A participant called "사람" or "링크" must not mangle the placeholders themselves.
    assert (
        scrub_pii("링크 www.a.com 사람", {"사람": "<사람1>", "링크": "<사람2>"}) == "<사람2> <링크> <사람1>"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("번호 010 - 3456 - 7890 이야", "번호 <전화번호> 이야"),
        ("010ㅡ4567ㅡ8901로 전화해", "<전화번호>로 전화해"),  # the Hangul vowel ㅡ as a dash
        ("010–5678–9012, 010—5678—9012, 010−5678−9012", "<전화번호>, <전화번호>, <전화번호>"),
        ("집 전화 1234-5678로 해", "집 전화 <전화번호>로 해"),
        ("1234-5678 번호로 걸어", "<전화번호> 번호로 걸어"),
        ("공일공 일이삼사 오육칠팔로 연락줘", "<전화번호>로 연락줘"),
        ("번호 공일공일이삼사오육칠팔", "번호 <전화번호>"),
    ],
)
def test_scrub_pii_phone_numbers_in_any_writing(text, expected):
    assert scrub_pii(text, {}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kko.to/aBc12DeF 눌러봐", "<링크> 눌러봐"),
        ("me2.do/5xYzQ 참고", "<링크> 참고"),
        ("youtu.be/dQw4w9WgXcQ?t=42 이거 봐ㅋㅋ", "<링크> 이거 봐ㅋㅋ"),
        ("설문 forms.gle/AbC123xyz 작성 부탁!", "설문 <링크> 작성 부탁!"),
        ("toss.im/_m/minji 로 보내", "<링크> 로 보내"),
        ("서버 discord.gg/insa7.", "서버 <링크>."),
    ],
)
def test_scrub_pii_short_links_without_scheme(text, expected):
    assert scrub_pii(text, {}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("인스타 @minji_kim 팔로우해", "인스타 <아이디> 팔로우해"),
        ("메일은 minji (at) naver.com 으로", "메일은 <이메일> 으로"),
        ("minji[at]gmail[dot]com", "<이메일>"),
        ("minji 골뱅이 naver.com 이야", "<이메일> 이야"),
    ],
)
def test_scrub_pii_handles_and_obfuscated_emails(text, expected):
    assert scrub_pii(text, {}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("서울시 마포구 양화로 123 으로 와", "<주소> 으로 와"),
        ("양화로12길 34, 2층이야", "<주소>, 2층이야"),
        ("우리 집 망원동 123-45 근처", "우리 집 <주소> 근처"),
        ("OO아파트 101동 1203호로 보내줘", "<주소>로 보내줘"),
    ],
)
def test_scrub_pii_street_addresses(text, expected):
    assert scrub_pii(text, {}) == expected


def test_scrub_pii_resident_number_is_labelled_as_such():
    assert scrub_pii("주민번호 900101-1234567 맞지?", {}) == "주민번호 <주민등록번호> 맞지?"


@pytest.mark.parametrize(
    "text",
    [
        "3시 반에 2호선 타고 갈게",
        "10-20분 걸려",
        "2026-11-20",
        "2019-2023년에 거기 살았어",
        "티켓 1000-2000원 정도",
        "학교로 3시까지 와",
        "차로 20분이면 가",
        "5번 출구로 3번 출구 말고",
        "가로 10 세로 20",
        "운동 10-20분만 하자",
        "ㅡㅡ 진짜 왜 그래",
        "look at this ㅋㅋ",
    ],
)
def test_scrub_pii_leaves_ordinary_chat_alone(text):
    assert scrub_pii(text, {}) == text


@pytest.mark.parametrize(
    ("name", "forms"),
    [
        ("민지💕", ["민지💕", "민지"]),
        ("🌸 수현 🌸", ["🌸 수현 🌸", "수현"]),
        ("김민지", ["김민지", "민지"]),
        ("남궁민수", ["남궁민수", "민수"]),
        ("Minji Kim", ["Minji Kim", "MinjiKim", "Minji", "Kim"]),
    ],
)
def test_name_variants(name, forms):
    assert name_variants(name) == forms


def test_names_are_scrubbed_in_every_form(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text(
        "--------------- 2026년 11월 20일 금요일 ---------------\n"
        "[민지💕] [오후 9:00] 나 왔어\n"
        "[Minji Kim] [오후 9:01] hi\n"
        "[남궁민수] [오후 9:02] ㅎㅇ\n"
        "[지훈] [오후 9:03] 민지야 민지아 민지이~ 민지가 왔네 김민지 맞지?\n"
        "[민지💕] [오후 9:04] 응 근데 민지이가 민지한테 뭐 줌?\n"
        "[지훈] [오후 9:05] minji MINJI Minji 다 불러봄 kimchi 먹자\n"
        "[남궁민수] [오후 9:06] 민수는 남궁민수 본인임\n"
        "[지훈] [오후 9:07] 민짱 수현이도 온대\n",
        encoding="utf-8",
    )
    [row] = to_conversations(parse_export(path), "지훈", tone="banmal")
    assert [m["content"] for m in row["messages"][1:]] == [
        "나 왔어\nhi\nㅎㅇ",
        "<사람1>야 <사람1>아 <사람1>이~ <사람1>가 왔네 <사람1> 맞지?",
        "응 근데 <사람1>이가 <사람1>한테 뭐 줌?",
        "<사람2> <사람2> <사람2> 다 불러봄 kimchi 먹자",
        "<사람3>는 <사람3> 본인임",
        # Nicknames and people who never wrote in the chat have no display name to go by: they stay.
        "민짱 수현이도 온대",
    ]


@pytest.fixture(scope="module")
def all_rows():
    rows = []
    for path in (PC, ANDROID, IOS):
        rows += to_conversations(parse_export(path), "지훈")
    return rows


def test_no_pii_or_names_survive(all_rows):
    dump = json.dumps(all_rows, ensure_ascii=False)
    for kind, pattern in LEAKS.items():
        assert not pattern.search(dump), (kind, pattern.search(dump))
    for name in ("민지", "준호", "지훈", "서연", "회사]"):
        assert name not in dump, name
    for placeholder in ("<사람1>", "<사람2>", "<나>", "<전화번호>", "<이메일>", "<링크>", "<계좌번호>"):
        assert placeholder in dump, placeholder


def test_rows_validate_and_alternate(all_rows):
    assert all_rows
    for row in all_rows:
        conversation = parse_conversation(row, "x")
        assert conversation.category == "카톡 내보내기"
        assert row["messages"][0] == {"role": "system", "content": SYSTEM_PROMPTS[row["tone"]]}
        roles = [m["role"] for m in row["messages"][1:]]
        assert roles == ["user", "assistant"] * (len(roles) // 2)


def test_pc_conversations_exact():
    rows = to_conversations(parse_export(PC), "지훈")
    assert [row["id"] for row in rows] == ["kakao-0001", "kakao-0002", "kakao-0003"]
    assert {row["tone"] for row in rows} == {"banmal"}
    assert rows[0]["messages"][1:] == [
        {"role": "user", "content": "오늘 성수 갈래?\n나 야근ㅠ 9시 반에 끝나"},
        {"role": "assistant", "content": "ㄱㄱ 나 지금 나갈 수 있음\n<사람1>야 어디서 볼까"},
        {"role": "user", "content": "여기 [성수 카페] 어때? 웨이팅 : 20분 정도래"},
        {
            "role": "assistant",
            "content": "좋아 내 번호 <전화번호>로 전화해\n<사람2>는 끝나면 바로 와\n\n위치는 <링크> 참고",
        },
        {"role": "user", "content": "예약은 <링크> 여기서 하면 됨\n<나>아 나 늦으면 먼저 시켜"},
        {"role": "assistant", "content": "오키 <사람1> 계좌 <계좌번호>로 회비 보낼게"},
    ]
    # Across midnight (23:58 -> 00:03) is one session; 00:06 -> 12:30 is a new one.
    assert rows[1]["messages"][1:] == [
        {"role": "user", "content": "오늘 재밌었다ㅋㅋ"},
        {"role": "assistant", "content": "잘 들어갔어?"},
        {"role": "user", "content": "응 방금 도착\n카드값 나오면 <계좌번호> 이 카드로 정산할게"},
        {"role": "assistant", "content": "ㅇㅋ 고마워 <이메일> 으로도 보내줘"},
    ]
    assert rows[2]["messages"][1:] == [
        {"role": "user", "content": "점심 뭐 먹지"},
        {"role": "assistant", "content": "마라탕 ㄱ"},
    ]


def test_leading_assistant_and_trailing_user_turns_are_dropped():
    rows = to_conversations(parse_export(ANDROID), "지훈")
    assert [[m["content"] for m in row["messages"][1:]] for row in rows] == [
        [
            "야 자?",
            "아니 아직 ㅋㅋ\n왜",
            "내일 팝업 오픈런 할 사람\n비율은 3 : 2로 나눠서 굿즈 사자\n[공지] 10시 오픈이래",
            "ㄱㄱ 나 낄래",
        ],
        # "다들 일어났냐" opened the morning session as an assistant turn; 준호's late message was a trailing user turn.
        ["ㅇㅇ 지금 나감", "나 먼저 가 있을게"],
    ]


def test_session_gap():
    messages = parse_export(PC)
    assert len(to_conversations(messages, "지훈", session_gap_minutes=60)) == 3
    # 21:13 -> 23:58 is 165 minutes: with a 3-hour gap the evening and midnight sessions merge.
    merged = to_conversations(messages, "지훈", session_gap_minutes=180, max_user_turns=10)
    assert len(merged) == 2
    assert [m["content"] for m in merged[0]["messages"][-5:]] == [
        "오키 <사람1> 계좌 <계좌번호>로 회비 보낼게",
        "오늘 재밌었다ㅋㅋ",
        "잘 들어갔어?",
        "응 방금 도착\n카드값 나오면 <계좌번호> 이 카드로 정산할게",
        "ㅇㅋ 고마워 <이메일> 으로도 보내줘",
    ]
    # A 1-minute gap splits 21:06 -> 21:08 and friends into many short sessions.
    assert len(to_conversations(messages, "지훈", session_gap_minutes=1)) > 3


def test_long_sessions_are_cut_by_user_turns():
    rows = to_conversations(parse_export(PC), "지훈", max_user_turns=2)
    assert [row["id"] for row in rows] == [f"kakao-{i:04d}" for i in range(1, 5)]
    assert [sum(m["role"] == "user" for m in row["messages"]) for row in rows] == [2, 1, 2, 1]
    assert rows[1]["messages"][1]["content"] == "예약은 <링크> 여기서 하면 됨\n<나>아 나 늦으면 먼저 시켜"
    for row in rows:
        parse_conversation(row, "x")


def test_me_not_found_names_participants():
    with pytest.raises(KakaoFormatError, match=r"'현우' never speaks.*민지, 박 준호 \[회사\], 지훈"):
        to_conversations(parse_export(PC), "현우")


def test_tone_detection():
    assert {row["tone"] for row in to_conversations(parse_export(IOS), "지훈")} == {"jondaetmal"}
    assert {row["tone"] for row in to_conversations(parse_export(ANDROID), "지훈")} == {"banmal"}
    # An explicit tone wins over detection.
    rows = to_conversations(parse_export(IOS), "지훈", tone="banmal")
    assert rows[0]["tone"] == "banmal"
    assert rows[0]["messages"][0]["content"] == SYSTEM_PROMPTS["banmal"]


def test_ios_names_with_titles_are_scrubbed():
    rows = to_conversations(parse_export(IOS), "지훈")
    first = [m["content"] for m in rows[0]["messages"][1:]]
    assert first[0] == "<나>아 이번 주 토요일에 동아리 모임 올 수 있어?"
    assert first[1] == "안녕하세요 선배! 네 저 토요일에 시간 괜찮아요\n혹시 몇 시에 모이나요?"
    assert first[4] == "<사람1>이라고 하면 알 거야"


def test_write_jsonl_round_trips_atomically(tmp_path, all_rows):
    out = tmp_path / "data" / "kakao.jsonl"
    write_jsonl(all_rows, out)
    text = out.read_text(encoding="utf-8")
    assert "\\u" not in text and "성수" in text
    assert [c.id for c in read_conversations(out)] == [row["id"] for row in all_rows]
    assert sorted(p.name for p in out.parent.iterdir()) == ["kakao.jsonl"]
    write_jsonl(all_rows[:1], out)  # replaces, leaves no temp file behind
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["kakao.jsonl"]
