"""The Korean analysers on known sentences: each case pins a rule of speech_level.py, markers.py or locality.py."""

import pytest

from insabot.korean.analyze import analyze
from insabot.korean.speech_level import LEVEL_NAMES, LEVELS, REGISTER_NAMES, REGISTERS, tone_ok


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("야, 이거 어때?", "banmal"),
        ("성수에 새로 생긴 카페 가볼래?", "banmal"),
        ("배고파ㅠㅠ", "banmal"),
        ("밥 먹자!!", "banmal"),
        ("했었는데?", "none"),  # a connective asked: no level (its register is 반말, below)
        ("나도 보러 갈 수도 있으니까", "none"),  # -니까 is a connective (no level), and not 하십시오체
        ("할머니께서 오셨어", "banmal"),  # subject honorific, 반말 to the listener
        ("엄마가 '밥 먹었어요?' 하시더라", "banmal"),  # the quote's level is not the speaker's
        ("그거 진짜 킹받네ㅋㅋㅋ", "banmal"),
        ("진짜 좋더라고요 ㅋㅋ", "haeyo"),
        ("가보세요~", "haeyo"),
        ("좋아용", "haeyo"),  # cute coda
        ("좋아요오", "haeyo"),  # drawn out
        ("갈게욤", "haeyo"),
        ("알겠어여", "haeyo"),
        ("진짜요?", "haeyo"),  # 요 particle after a noun
        ("근데요", "haeyo"),
        ("그쵸", "haeyo"),
        ("오늘 날씨 좋죠", "haeyo"),
        ("선생님께서 오신대요 🙂", "haeyo"),
        ("감사합니다!", "hapsyo"),
        ("내일 뵙겠습니다.", "hapsyo"),
        ("확인하셨습니까?", "hapsyo"),
        ("어디 가시오?", "hao"),
        ("좋습디다", "hao"),
        ("ㄹㅇ 맛집임", "eumseum"),
        ("어제 다녀왔음", "eumseum"),
        ("개웃김", "eumseum"),
        ("망한 듯", "eumseum"),
        ("지금 가는 중", "eumseum"),
        ("ㅋㅋㅋㅋ", "none"),
        ("🥲", "none"),
        ("성수동", "none"),
        ("완전 인정", "none"),
        ("넵", "none"),
        ("응", "none"),
        ("", "none"),
        ("갈게요. 근데 너는 가?", "mixed"),
    ],
)
def test_speech_level(text, level):
    assert analyze([text])[0].level == level


# One or more crafted texts per hard kind of issue #24; each pins what a reader hears.
REGISTER_CASES = {
    "connective_cut": [
        ("오늘 단수가 예정되어 있으니", "none"),  # -으니 cut
        ("시험 끝나야", "none"),  # Kiwi's final 야 after a verb is -아야
        ("과제 하느라고", "none"),  # -느라고 is no quotative -라고
        ("밤새 길이 얼 테니", "none"),  # a cut 테니 is no question -니, and 니께 is -니까 (round 15)
        # an unasked -니 after 존댓말 is cut, not a switch to the 해라체 question; asked, it is one (round 17)
        ("오늘은 휴무입니다. 내일 오전부터 정상 영업하니", "polite"),
        ("안녕하세요. 근데 너 밥 먹었니?", "mixed"),
        ("조심히 오셔유. 눈길이 미끄러우니께", "polite"),
        ("내일 비가 온다면", "none"),
        ("더 빠르게.", "none"),
        ("지금 가는 중인데 길이 막혀서", "none"),
        ("나 지금 가는 중인데 길이 막혀서", "casual"),  # no level, but 나 (not 저) is heard
        ("회의 잘 끝났어요. 내일은 비가 온다면", "polite"),
        ("오늘 오픈 준비는 다 해 놨어요. 근데 포스기가 갑자기 안 켜져서", "polite"),
        ("나 지금 출발했어. 근데 길이 너무 막혀서", "casual"),
        ("선생님, 아이가 밤에 자꾸 깨요. 낮잠을 오래 자서 그런 건지", "polite"),
        ("저는 그 일을 시작했습니다. 나 자신을 위해서.", "polite"),  # Kiwi's EF 어서 before a full stop
        ("했었는데?", "casual"),  # asked, alone: heard as 반말
        (
            "이런 질문을 던져 보겠습니다. 만약 여러분이 내일 죽는다면?",
            "polite",
        ),  # asked inside 존댓말: no mix
        ("편의점 신상 먹어봤는데 생각보다 괜찮던데 ㅎㅎ", "casual"),  # trailed off in chat, not cut
        ("이번 휴가 때 혼자 일본 가려고.", "casual"),
        ("눈이 많이 올수록", "none"),  # -ㄹ수록 is a connective
        ("택배가 자꾸 늦게 오길래", "none"),  # so is -길래
        ("그 떡볶이집 생각보다 맵던데.", "casual"),  # -던데 with a full stop is said, not cut
        ("그 떡볶이집 생각보다 맵다던데", "none"),
        ("비 오기 전에 빨리 끝나게", "none"),  # -게 of purpose, cut
        ("먼저 들어가시게", "none"),
        ("내가 오늘 누구 만났게.", "casual"),  # the riddle's -게 after 었
        ("뭐 하게?", "casual"),
        ("문의 남겨 드렸어요. 홈페이지를 찾아 보니", "polite"),  # -니 after 보다 is a connective
        ("계속 하다 보니", "none"),
        ("사장님께 말씀드렸어요. 그랬더니", "polite"),  # 그랬더니 is "and then", no quotation
        ("돈 모으려고", "none"),  # a bare -려고 is a cut purpose; "일본 가려고." above says a plan
        ("시험 준비 중임 책만 세 권", "casual"),  # Kiwi's noun 임 for the copula's -ㅁ
    ],
    "noun_fragment": [
        ("방금 집 도착", "casual"),  # one's own day reported: heard as 반말
        ("학원 가는 버스 탑승 중", "casual"),
        ("주문하신 상품 배송 출발", "none"),  # a shop's status line speaks to nobody
        ("최종 합격!!", "none"),  # an outcome announced
        ("짐 정리 완료. 내일 뵐게요.", "polite"),  # a bare report beside 존댓말 makes no mix
        ("야식 각", "casual"),  # slang 각 after a noun
        ("이번 달 휴무 안내.", "none"),  # 안내 is no 안 내어
        ("여름 캠핑 준비물 모음", "none"),  # 모음 closes a title, not 모으+ㅁ
        ("짐이 많을 경우", "none"),
        ("건강에 관한 것", "none"),
        ("전세 계약 시 확인해야 할 것들", "none"),
        ("요청하신 자료 보내드립니다. 작년 매출 비교표", "polite"),
        (
            "우리 회사의 목표는 단순합니다: 모두에게 깨끗한 물을.",
            "polite",
        ),  # a noun phrase after the predicate
        ("우리 다음 모임 장소 정했어. 연남동 이자카야", "casual"),
        ("망한 듯", "casual"),  # 명사형 종결 still closes a sentence
        ("과제 제출 완료ㅋㅋ", "casual"),  # a noun that reports an act closes a 음슴체 line
        ("회사 앞 도착", "casual"),  # one's own coming and going, even with no chat tail (round 5)
        ("회사 앞 도착 ㅋㅋ", "casual"),
        ("서류 합격!!", "none"),
        ("드디어 과제 끝 ㅋㅋ", "casual"),  # with one, 음슴체
        ("여행 끝!! 🧳", "casual"),  # the emoji Kiwi splits off still trails the line
        ("문의드려요. 문제는 알림 누락.", "polite"),  # a -ㅁ noun inside a noun phrase is no 음슴체
        ("준비물: 수건, 담요.", "none"),  # 담요 is a noun, not 요
        ("신규 회원 가입 안내", "none"),  # any other noun is a fragment
        (
            "메일 드렸습니다. 회식 장소 건.",
            "polite",
        ),  # the noun 건 (件) closing a memo line, not -건 (round 7)
    ],
    "short_no_predicate": [
        ("ㅇㅋㄷㅋ", "casual"),
        ("그치", "casual"),
        ("이제 자", "casual"),  # the imperative of 자다
        ("네.", "polite"),
        ("넵넵", "polite"),
        ("안녕하세요", "polite"),
        ("응.", "casual"),
        ("ㅇㅇ", "casual"),
        ("안녕?", "casual"),
        ("미안", "casual"),
        ("내일 같이 가기로 한 거 미안.", "casual"),
        ("만 원.", "none"),
        ("메리 크리스마스!", "none"),
        ("헐", "none"),
        ("7시?", "none"),
        ("아, 넵.", "polite"),  # a filler before 네 says nothing
        ("음 네", "polite"),
        ("네, 선생님.", "polite"),  # 네 and an honorific address
        ("헐 ㄷㄷ", "none"),  # a shiver, not an answer
        ("아뇨, 아뇨", "polite"),  # a polite word said twice (round 7)
        ("어쩔티비", "casual"),
        ("예, 어르신.", "polite"),  # round 9
        ("그럼.", "casual"),
        ("노노.", "casual"),
        ("당근!", "casual"),
        ("수고~", "casual"),
        ("다음 주 휴강이래 ㅋㅋ", "casual"),  # the hearsay 이래 Kiwi takes for a noun
        ("이 노래 완전 명곡이야 🎧", "casual"),  # the copula 야 Kiwi takes for a vocative
    ],
    "polite_mix": [
        ("거래처에 물어보니 모레 도착한답니다.", "polite"),  # -ㄴ답니다
        ("할머니가 보내주신 감 정말 맛있어요", "polite"),  # 감 after a modifier is a noun, not 가+ㅁ
        ("저는 학생입니다. 서울에 살아요.", "polite"),
        ("확인했습니다. 내일 보내 드릴게요!", "polite"),
        # a line heard without a level (a rhetorical question, 나 자신) does not mix a text that has levels
        ("그 이유는? 바로 경제입니다.", "polite"),
        ("오늘 회의 끝났습니다. 아 근데 나 자신이 좀 부끄럽네요.", "polite"),
    ],
    "quote_inside": [
        ("엄마가 '밥 먹었어?' 하시더라고요", "polite"),
        ("팀장님이 '내일까지 해 주세요' 이러는데 어이없어", "casual"),
        ("엄마가 밥 먹었어? 하시더라고요", "polite"),  # no quotation marks
    ],
    "hao_archaic": [
        ("그 얘기 듣고 나도 놀랐다오.", "polite"),  # -다오 (가져다오 is 달+오 to Kiwi)
        ("숙제는 이미 끝냈소이다.", "polite"),
        ("건강하게 돌아오시길 비옵니다.", "polite"),  # Kiwi's 빌+옵+니다
        ("이 가게 빵은 전부 냉동이라오.", "polite"),  # -라오
        ("어디 가시오?", "polite"),
        ("그렇소", "polite"),
        ("그 집 음식이 참 좋습디다", "polite"),
        ("걱정 마시오. 내가 알아서 하리다.", "polite"),
        ("그대를 기다리겠소. 꼭 돌아오리다.", "polite"),
        ("삼가 아뢰옵니다.", "polite"),
        ("참 고운 날이구려.", "polite"),
        ("이 추위에 등산이라니, 참 부지런하구려.", "polite"),  # an exclamation before its comment (round 7)
        ("그 사람 벌써 떠났더이다.", "polite"),
        ("어찌 그리 하시나이까?", "polite"),  # round 8
        ("그 은혜를 어찌 잊으리오.", "polite"),
        ("오늘은 어디 다녀왔수?", "polite"),  # 하오체 -수 (round 9)
        ("알립니다. 내일 오전부터 단수가 되오니", "polite"),  # the archaic connective -오니 has no level
        ("공사가 있사오니", "none"),
        ("노력은 했으나", "none"),  # the connectives -으나 and -되 (round 12)
        ("회비는 각자 내되", "none"),
        ("소인이 아뢰옵건대", "none"),  # -건대 (round 13)
        ("이 은혜를 어찌 갚으리이까.", "polite"),  # -리이까, and -렵니까 Kiwi keeps whole (round 14)
        ("내일 몇 시에 오시렵니까?", "polite"),
        ("그 사람이 정녕 그리 말하더이까?", "polite"),  # the archaic polite question -더이까
        ("이보게, 내일 일찍 출근하게.", "casual"),  # 하게체 after a 하다 noun
        ("김 군, 여기 와서 앉게.", "casual"),  # 하게체 closed by a full stop: an elder's 반말
        ("거기 잠깐 기다려 보시게.", "casual"),
        ("먼저 식사하시게", "none"),  # without one, -게 of purpose
        ("얘야, 물 한 사발만 떠 다오.", "casual"),  # 해라체's imperative of 달다, not 하오체 -다오 (round 11)
    ],
    "soft_endings": [
        ("거기 분위기 좋던데", "casual"),  # -던데 closing a line is said
        ("오늘 날씨 좋죠", "polite"),
        ("진짜 맛있네요", "polite"),
        ("제가 할게요", "polite"),
        ("제가 어제 아팠거든요", "polite"),
        ("거기 진짜 좋더라고요", "polite"),
        ("그거 내가 할게", "casual"),
        ("거기 진짜 좋더라", "casual"),
        ("나 어제 아팠거든", "casual"),
        # an inverted quotative after the clause it completes has no level of its own (round 7)
        ("말씀드렸잖아요, 저 내일 반차라고.", "polite"),
        ("내가 말했잖아, 나 내일 반차라고.", "casual"),
        ("선배도 아시잖아요, 제가 술 약한 거.", "polite"),  # an inverted noun phrase likewise (round 10)
        # ... and where Kiwi splits the sentence at the comma (round 12)
        ("부장님도 아시잖아요, 이번 달 매출 안 나온 거.", "polite"),
        ("말씀드렸잖습니까, 그건 어렵다고.", "polite"),
        ("제가 말씀드렸지요, 내일 눈이 온다고.", "polite"),  # the verb's -ㄴ다고 likewise (round 16)
        ("나도 그렇게 생각했는데.", "casual"),  # -는데 closed by a full stop is said (round 11) ...
        ("분명히 말했는데", "none"),  # ... a bare one is cut
        ("그거 내가 먼저 찜했다니까.", "casual"),  # insisting -다니까
        ("감기 걸리지 말고.", "casual"),
    ],
    "typed_spoken": [
        ("회의 참석 가능함니다", "polite"),
        ("오늘 먼저 잔당", "casual"),  # typed 다
        ("다들 봤삼?", "casual"),  # a typed -삼 after a past syllable
        ("네, 알겠심더", "polite"),  # Gyeongsang 하십시오체
        ("어데 가는교?", "polite"),  # the Gyeongsang polite question (round 7)
        ("밥은 묵었능교", "polite"),
        # regional endings written as the standard ending of the same level (round 8)
        ("올해 귤 농사 잘 됐수다. 한 상자 보내쿠다.", "polite"),  # Jeju
        ("언제 서울서 왔수꽈?", "polite"),
        ("혼저 옵서, 날 추운디", "polite"),  # 옵서; -는디 is a cut -는데
        ("어제 가 봤는디", "none"),
        ("밥은 잡샀어예?", "polite"),  # Gyeongsang 예
        ("내일 내려갈게예.", "polite"),
        ("고맙데이 ^^", "casual"),
        ("니 말이 맞제.", "casual"),
        ('할배가 "밥 묵었나" 카더라.', "casual"),  # the quotative 카다
        ("빨리 들어가 쉬어라잉", "casual"),  # Jeolla 잉
        ("친구랑 카페에서 수다", "none"),  # the noun 수다 keeps its reading
        ("야외면 선크림 필수다", "casual"),  # and so does a noun + 다 (필수다, not Jeju -수다)
        ("발렌타인데이", "none"),
        ("선배님 먼저 퇴근하겠읍니다", "polite"),  # the pre-1988 spelling
        ("택배 언제 오남요?", "polite"),
        ("그려.", "casual"),
        ("밥 잘 챙겨 먹어라 ♡", "casual"),  # -어라 closes a sentence, even where Kiwi says EC
        ("뭐 드릴까예?", "polite"),  # round 9
        ("많이 무라 마이 묵으래이.", "casual"),
        ("저 내일 수업 빠질게염", "polite"),  # typed 염
        ("내일 시험 있슴까?", "polite"),  # spoken 슴까
        ("날 더운데 얼른 들어와유.", "polite"),  # Chungcheong 유 that Kiwi splits off (round 10)
        ("내일 지가 갈께유.", "polite"),
        ("우유 한 통 사 와", "casual"),  # 우유 keeps its reading
        ("어르신예, 진지는 드셨심니꺼?", "polite"),  # Gyeongsang 하십시오체 question
        ("이거 우째 합니꺼?", "polite"),
        ("손님 일어나셨나예?", "polite"),
        ("오늘 주사 언제 빼예?", "polite"),
        ("우리 내일 만나는 거 맞져?", "polite"),  # typed 죠
        ("좋은 하루 보내세영", "polite"),
        ("ㄱㅊㄱㅊ", "casual"),
        ("글쎄다", "casual"),
        ("점심 먹었슈?", "polite"),  # Chungcheong 해요체
        ("그럼요 당연하쥬", "polite"),
        ("울 할무니 고마워요", "polite"),  # a verb Kiwi takes for a name after one it does not know
        ("먹고시퍼 ㅠㅠ", "casual"),  # typed 싶어
        ("그 신발 아직 재고 있나용?", "polite"),  # typed -나요
        ("이 자리 비어 있는 건가용", "polite"),
        ("ㄱㅅㄱㅅ", "casual"),  # a casual shorthand said twice
        ("뭐하셈 지금", "casual"),  # a typed -셈 before an adverb
        ("다 했어욤", "polite"),
        ("낼 회의 몇시였져?", "polite"),
        ("ㅇㅋ요", "polite"),
        ("했슴다", "polite"),
        ("감사함다", "polite"),
        ("이거 꼭 해보셈", "casual"),
        ("어제 다 했음", "casual"),
        ("나 오늘 일찍 끝났당", "casual"),
        ("아 개춥다 진짜", "casual"),
        ("먼저 들어가 볼게용", "polite"),  # typed 요: 용, 욤, and 여 at a line's end
        ("ㄱㅅ욤", "polite"),
        ("저 지금 가고 있어여", "polite"),
        ("밖에 비 온대여", "polite"),
        ("오늘 날씨 좋넹", "casual"),  # typed -네
        ("넹넹", "polite"),
        ("엄마 문 열어죠", "casual"),  # typed 줘
        ("과제 다 했셈", "casual"),
        ("이번 달 통신비 내용", "none"),  # 내용 is no typed 내요
        ("어서 오이소", "polite"),  # 하이소체
        ("이 집이 우리 할망 가게이우다.", "polite"),  # Jeju 이우다, 수과, the imperative -(으)ㅂ서 (round 11)
        ("어디서 오셨수과?", "polite"),
        ("날 추우난 따뜻한 국 드십서.", "polite"),
        ("어서 앉읍서.", "polite"),
        ("이따 장 보러 갈라구유.", "polite"),  # Chungcheong -구유, 아녀유
        ("아녀유", "polite"),
        ("하모", "casual"),  # Gyeongsang: of course
        ("국 식기 전에 마이 무라", "casual"),  # 무라 (= 먹어라)
        ("이게 다 뭔 난리여", "casual"),  # the copula's 이여 (= 이야) is no typed 요
        ("이게 다 뭐시여.", "casual"),  # ... with 시 between (round 12)
        ("오늘 바람이 차네예.", "polite"),  # Gyeongsang 예 after -네 and -고, 하십시오체 -ㅂ니더
        ("비 오니까 우산 꼭 챙기고예.", "polite"),
        ("내일 아침에 찾아뵙겠습니더.", "polite"),
        ("그라믄 지가 갈랍니더.", "polite"),
        ("어무니, 밥 묵었어라우?", "polite"),  # Jeolla polite -라우
        # Chungcheong 유 after -대, and 하이소체 that Kiwi keeps whole (round 13)
        ("그 양반 말씨가 참 싹싹허대유.", "polite"),
        ("국 식기 전에 드이소", "polite"),
        # Jeolla -당께 and the copula's 이여 before a comma, polite -어라 after a past syllable, Gyeongsang 아이가,
        # 예 after 께, typed 여 after 좀 (round 14)
        ("그 집 김치찌개가 최고여, 진짜 맛나당께.", "casual"),
        ("한 시간 넘게 기다렸어라.", "polite"),
        ("그거 니 거 아이가", "casual"),
        ("내일 다시 올께예.", "polite"),
        ("설명 좀여", "polite"),
        # Jeolla -지라우, Chungcheong -네유 and 반말 -잖여, Jeju 거우다 and 수다 after an adjective, Gyeongsang
        # -어래이 before a heart (round 15)
        ("먼 길 오시느라 애쓰셨지라우.", "polite"),
        ("올해 배추 참 잘됐네유.", "polite"),
        ("그거 니가 먼저 했잖여.", "casual"),
        ("이 옷 우리 어멍이 만든 거우다.", "polite"),
        ("오늘 날이 참 좋수다.", "polite"),
        ("국 식기 전에 얼른 묵어래이 ♡", "casual"),
        ("이 배추 을마예유?", "polite"),  # Chungcheong: the copula's 예유 (round 16)
        ("그건 안 되지라.", "polite"),  # Jeolla -지라 and -께라, spoken -십셔, typed 여 after 까 (round 17)
        ("뭘로 드릴께라?", "polite"),
        ("안녕히 가십셔~", "polite"),
        ("그니까여 ㅠㅠ", "polite"),
        # Jeju -수강, -엄수다 and -ㅂ서 after any ㅂ-closed syllable, Chungcheong 유 and Gyeongsang 니더 before a comma
        # (not the interjection 아유), -는디유, -입시더, 하오체 -려우, 오냐 and 안뇽 (round 18)
        ("이모 어디 감수강?", "polite"),
        ("바당에 바람 쎄게 불엄수다.", "polite"),
        ("우리 같이 저기 가 봅서.", "polite"),
        ("괜찮아유, 걱정 마세유.", "polite"),
        ("아유, 손이 참 야무지네.", "casual"),
        ("아입니더, 지가 하께예.", "polite"),
        ("그 양반 아직 안 왔는디유", "polite"),
        ("성님 오늘 한잔하입시더. 내가 쏠게.", "mixed"),
        ("언제쯤 오시려우?", "polite"),
        ("오냐.", "casual"),
        ("안뇽", "casual"),
        # Gyeongsang 카노, Jeolla -당께 that Kiwi cuts into 다고+하+니까 after an adverb, Chungcheong 남유 and 반말
        # 혀/햐, and 있어라 stays an imperative (round 19)
        ("그기 뭐라카노", "casual"),
        ("이 집 김치 허벌나게 맛있당께", "casual"),
        ("혹시 제가 뭐 잘못했남유?", "polite"),
        ("천천히 혀, 뭐가 그리 급햐", "casual"),
        ("니는 거기 가만히 있어라.", "casual"),
        # Jeolla -당가요 and Chungcheong 여유 glued to a noun, which Kiwi cannot read (a 요 question is no 반말
        # then); typed 감사염 and 글쿠나 (round 20)
        ("전주에서 군산까지 버스로 가믄 얼마나 걸린당가요?", "polite"),
        ("할머니, 이 알밤 한 되에 얼마여유?", "polite"),
        ("시간 여유?", "casual"),
        ("감사염", "polite"),
        ("아 글쿠나", "casual"),
        # the passive 떼여 before a full stop, Gyeongsang -습니데이 (round 21)
        ("거기 주차하면 딱지 떼여.", "casual"),
        ("욕봤습니데이.", "polite"),
        # Gyeongsang 이라노 and 그라제, spoken 아퍼, typed 안뇽하세요 (round 22)
        ("와 이라노 진짜", "casual"),
        ("하모, 그라제.", "casual"),
        ("어제 술 마니 마셨더니 머리 아퍼", "casual"),
        ("안뇽하세요 사장님", "polite"),
        # typed 궁 after a 반말 ending, not in 경복궁; the copula glued to 까지 before a stop (round 23)
        ("담주에 보자궁", "casual"),
        ("경복궁 야간개장", "none"),
        ("시험 범위는 3단원부터 5단원까지다.", "casual"),
        # Gyeongsang 온나 and -다 아입니꺼 (= -잖습니까), 아무거나 without its 요 (round 24)
        ("마 퍼뜩 온나", "casual"),
        ("내 그 말 했다 아입니꺼", "polite"),
        ("아무거나.", "casual"),
        # the retrospective -던데 that Kiwi reads as a modifier and the noun 데 before a stop; typed ㅇㄷ (round 25)
        ("밖에 눈 오던데.", "casual"),
        ("어릴 때 살던 데.", "none"),  # spaced: the noun 데 (the place where)
        ("ㅇㄷ?", "casual"),
    ],
    "emoji_tail": [
        ("택배 수령 완료 ㅋㅋ 언박싱 시작", "casual"),  # a report noun with laughter inside the line
        ("알겠어요ㅋㅋ", "polite"),
        ("생신 축하드려요 아버지🎉", "polite"),
        ("주말에 캠핑 ㄱㄱ🔥", "casual"),
        ("고마워ㅠㅠ", "casual"),
        ("아 이번 주말도 출근이야ㅠㅠ", "casual"),  # the copula 야 Kiwi takes for a particle (round 12)
        # the hearsay -ㄴ대, which Kiwi splits into a modifier and a noun before an emoji (round 11)
        ("주말에 비 온대 ☔", "casual"),
        ("그 영화 내 취향 ㅋㅋ", "casual"),  # 내 (= 나의) in a line without a level
        ("야 우리 지금 휴게소 ㅋㅋ", "casual"),  # a line with no level opened by the call 야 (round 20)
        # a laugh inside a line, before more words, ends a sentence Kiwi runs on (round 15)
        ("막차 또 놓침 ㅋㅋㅋ 개망", "casual"),
        ("시험 망함 ㅋㅋ 인생 끝", "casual"),
    ],
    "real_mixed": [
        ("어제 잘 들어갔어요? 나 완전 피곤해", "mixed"),
        # a short word that is a whole 반말 sentence mixes with 존댓말 where an answer (응, 네) would not (round 16)
        ("고마워. 아 아니, 감사합니다 부장님.", "mixed"),
        ("그럼 내일 봬요. 잘자", "mixed"),
        # a clause closed before a comma speaks too; a connective or adverb before one does not
        ("알았어, 이따 연락드릴게요.", "mixed"),
        ("여기요, 이거 너 줄게", "mixed"),
        ("밥 먹고, 영화 보자", "casual"),
        ("그래서, 결론이 뭐예요?", "polite"),
        ("아 맞다, 오늘 회의 세 시죠?", "polite"),  # remembering aloud has no voice (round 14)
        ("아 맞다.", "casual"),
        # a -는데 trailing off beside 존댓말 is the same voice, unless 나 says it is not (round 11)
        ("팀장님 먼저 가세요. 아 나 지갑 놓고 왔는데.", "mixed"),
        ("택배 왔나요? 벌써 사흘 지났는데.", "polite"),
        ("사장님 이거 깎아 주실 수 있어요? 안 되면 말고.", "mixed"),
    ],
}


@pytest.mark.parametrize(
    ("kind", "text", "register"),
    [(kind, text, register) for kind, cases in REGISTER_CASES.items() for text, register in cases],
)
def test_register(kind, text, register):
    assert analyze([text])[0].register == register, kind


def test_register_names_and_polite_mix_keeps_its_level():
    assert set(REGISTER_NAMES) == set(REGISTERS)
    (mix,) = analyze(["저는 학생입니다. 서울에 살아요."])
    assert (mix.level, mix.register) == ("mixed", "polite")
    assert [s.register for s in mix.sentences] == ["polite", "polite"]
    assert tone_ok(mix.sentences, "jondaetmal") is True and tone_ok(mix.sentences, "banmal") is False


def test_sentences_carry_their_own_level_and_ending():
    (result,) = analyze(["킹받네 ㅋㅋ\n오늘은 좀 아닌 듯. 내일 봬요"])
    assert [(s.level, s.ending) for s in result.sentences] == [
        ("banmal", "네"),
        ("eumseum", "듯"),
        ("haeyo", "어요"),
    ]
    assert result.level == "mixed" and result.register == "mixed"


def test_quoted_drafts_do_not_count():
    (result,) = analyze(['"내일 갈게요!"\n이렇게 보내면 딱이야'])
    assert result.level == "banmal"
    assert tone_ok(result.sentences, "banmal") is True


def test_tone_matching():
    banmal, eum, polite, hapsyo, laugh = analyze(["가자", "ㄹㅇ 맛집임", "가요", "갑니다", "ㅋㅋ"])
    assert tone_ok(banmal.sentences, "banmal") is True and tone_ok(eum.sentences, "banmal") is True
    assert tone_ok(polite.sentences, "banmal") is False
    assert tone_ok(polite.sentences, "jondaetmal") is True and tone_ok(hapsyo.sentences, "jondaetmal") is True
    assert tone_ok(eum.sentences, "jondaetmal") is False
    assert tone_ok(laugh.sentences, "banmal") is None and tone_ok(laugh.sentences, "jondaetmal") is None
    # the register decides: 네 is heard as 존댓말, a cut connective as nothing
    yes, cut = analyze(["네.", "내일 비가 온다면"])
    assert tone_ok(yes.sentences, "jondaetmal") is True and tone_ok(yes.sentences, "banmal") is False
    assert tone_ok(cut.sentences, "banmal") is None


def test_every_label_has_a_korean_name():
    assert set(LEVEL_NAMES) == {*LEVELS, "mixed"}


def test_markers():
    (result,) = analyze(["ㅋㅋㅋ 킹받네 ㅠㅠ 오늘 갓생 실패 🤣 ^^"])
    assert result.markers.laughter == 1
    assert result.markers.crying == 1
    assert result.markers.emoji == 1
    assert result.markers.emoticon == 1
    assert result.markers.slang == ["킹받네", "갓생"]


def test_locality():
    (korean, loans, leaky, mixed_script) = analyze(
        [
            "성수동 카페 갔다가 망원시장 가자",
            "MBTI 물어보면 ENFP라 해, 너 T야?",
            "This is so good ㅋㅋ",
            "오늘은 休息 ありがとう",
        ]
    )
    assert korean.hangul_share == 1.0
    assert loans.latin_leak == []  # MBTI, ENFP and a lone capital are accepted loan tokens
    assert loans.hangul_share < 1.0  # ...but they are still not Hangul letters
    assert korean.local_refs == ["성수동", "망원시장"]  # 성수 inside 성수동 is not reported again
    assert leaky.latin_leak == ["This", "is", "so", "good"]
    assert leaky.hangul_share == pytest.approx(2 / 14)  # ㅋㅋ are Hangul letters
    assert mixed_script.other_script_leak == ["休息", "ありがとう"]


def test_nfc_and_order_are_kept():
    import unicodedata

    texts = [unicodedata.normalize("NFD", "가자"), "가요", "갑니다"]
    assert [a.level for a in analyze(texts)] == ["banmal", "haeyo", "hapsyo"]
    assert analyze(texts)[0].text == "가자"


def test_fluency_ranks_natural_chat_above_word_salad_and_non_words():
    natural, salad, non_words, too_short = analyze(
        [
            "점심은 밥집에서 먹는 게 제일 맛있어",
            "단어와 사람이 종류에서 죽어도 원리부터 직책에서 정도로",  # real words, no sense
            "이 걸일 데럽 ㅋㅋ",  # Hangul that is not Korean (SmolLM2 after a small LoRA)
            "헐",
        ]
    )
    assert natural.fluency > -4.5 > salad.fluency > -6 > non_words.fluency
    assert too_short.fluency is None and too_short.as_dict()["fluency"] is None


def test_hangul_syllable_arithmetic():
    from insabot.korean.hangul import NIEUN, RIEUL, SSANGSIOT, final_consonant, syllables_closed_by

    closed = syllables_closed_by(NIEUN, SSANGSIOT)
    assert {"잔", "했", "갔"} <= set(closed) and not {"가", "갈", "당"} & set(closed)
    assert len(syllables_closed_by(RIEUL)) == 11172 // 28
    assert [final_consonant(s) for s in "갈가했a"] == [RIEUL, 0, SSANGSIOT, None]
