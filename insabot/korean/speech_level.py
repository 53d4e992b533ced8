"""Speech level (반말 / 해요체 / 하십시오체 / 하오체 / 음슴체) and register (polite / casual) of chat text, from
Kiwi's morphological analysis.

The level towards the listener is carried by how each sentence closes, so for every sentence we find
the closing morpheme (skipping laughter, emoji, punctuation and cute codas like the ㅇ of 좋아용) and
classify it. Subject honorifics (께서, -시-) are ignored: they say nothing about the listener. A connective
ending (-는데, -면, -고, -서: a segment cut before its sentence ends) and a noun phrase ("짐이 많을 경우") carry
no level. Quoted speech ('밥 먹었어요?' 하시더라, or unquoted before 하고/하길래/이러는데) is not the speaker's.

The register is what a reader hears: `polite` (존댓말: 해요체, 하십시오체, 하오체 — a 하십시오체 + 해요체 mix is
still polite), `casual` (반말, 음슴체), `mixed` (the writer's own voice switches), `none` (nobody can tell).
Short lines without a predicate are heard too (네, 넵 → polite; 응, ㅇㅇ, 안녕?, 미안 → casual; 헐, 만 원. → none).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from insabot.korean.hangul import BIEUP, NIEUN, SSANGSIOT, syllables_closed_by

# Stable machine labels (documented in the README); Korean display names come from LEVEL_NAMES.
LEVELS = ("banmal", "haeyo", "hapsyo", "hao", "eumseum", "none")
LEVEL_NAMES = {
    "banmal": "반말",
    "haeyo": "해요체",
    "hapsyo": "하십시오체",
    "hao": "하오체",
    "eumseum": "음슴체",
    "none": "서술어 없음",
    "mixed": "섞임",
}
POLITE = frozenset({"haeyo", "hapsyo", "hao"})
CASUAL = frozenset({"banmal", "eumseum"})
REGISTERS = ("polite", "casual", "mixed", "none")
TONE_REGISTER = {"banmal": "casual", "jondaetmal": "polite"}
"""The register each requested tone (insabot.chat's canonical tones) wants."""
REGISTER_NAMES = {"polite": "존댓말", "casual": "반말", "mixed": "존댓말·반말 섞임", "none": "알 수 없음"}

# Tags that never close a sentence for our purpose: punctuation, symbols (ㅋㅋ, ㅠㅠ are SW), emoji,
# web tokens and Kiwi's "extra coda" on cute spellings (좋아용 = 어요 + ㅇ).
_TRANSPARENT = {
    "SF",
    "SP",
    "SS",
    "SSO",
    "SSC",
    "SE",
    "SO",
    "SW",
    "SB",
    "W_EMOJI",
    "W_URL",
    "W_EMAIL",
    "W_HASHTAG",
    "W_MENTION",
    "W_SERIAL",
    "Z_CODA",
    "Z_SIOT",
    "USER0",
    "USER1",
    "USER2",
}
_NOMINAL = {"NNG", "NNP", "NNB", "NR", "NP", "SL", "SH", "SN", "XSN", "XR"}
_QUOTE = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|‘[^’\n]*’|'[^'\n]*'|「[^」\n]*」|『[^』\n]*』")
# Kiwi writes the ㅂ/ㄴ/ㄹ/ㅁ of endings as jongseong jamo (ᆸ니다); show and match them as compatibility jamo.
_CODA_TO_COMPAT = str.maketrans(
    {"\u11b8": "ㅂ", "\u11ab": "ㄴ", "\u11af": "ㄹ", "\u11b7": "ㅁ", "\u11bc": "ㅇ"}
)
# The end of a line, after any closing punctuation, laughter or crying (patterns compiled with re.MULTILINE)
_LINE_END = r"(?=[?!.~ㅋㅎㅠㅜ^\s]*$)"
# Drawn-out polite endings (좋아요오, 그래요옹) confuse the tagger; the extra syllables add nothing.
_DRAWN_OUT = re.compile(r"(요|죠)[오옹우웅]+")
# Typed -죠 (했져?, 그렇잖져): only after a past/future/잖 stem, so 가져 (take it) stays 반말.
_TYPED_JYO = re.compile(r"(?<=[었였했겠잖갰맞])져(?=[\s?!.~ㅋㅎㅠㅜ]*$)", re.MULTILINE)
# Gyeongsang 하십시오체 typed as spoken (알겠심더, 맞심더, 학생임더): Kiwi splits it into a root and an adverb
_SIMDEO = re.compile(r"(?<=[가-힣])(?:심더|슴더)(?=[\s?!.,~ㅋㅎㅠㅜ^]|$)")
_IMDEO = re.compile(r"(?<=[가-힣])임더(?=[\s?!.,~ㅋㅎㅠㅜ^]|$)")
# Typed 요 (감사해용, 좋아욤, 하세영, 빠질게염, ㅇㅋ욤; 뵈여, 했어여 at a line's end): only after the syllables a 해요체 ending
# follows, so 내용, 비용, 어여 가 keep their own reading.
_TYPED_YONG = re.compile(
    r"(?<=[어아워와봐줘게께데세래네까해돼뵈져ㄱ-ㅎ])(?:용|욤|영|염)(?=[\s?!.,~ㅋㅎㅠㅜ^]|$)"
)
# ... and at a line's end after the question's 가/나 and the 지 of 그렇지요 (판매 중인가용?, 했나용, 그렇지용)
_TYPED_YONG_END = re.compile(rf"(?<=[가나지])(?:용|욤){_LINE_END}", re.MULTILINE)
_TYPED_YEO = re.compile(rf"(?<=[어아워와봐줘게께데세래대해돼뵈좀까])여{_LINE_END}", re.MULTILINE)
# Spellings Kiwi misreads, written as the forms it knows, in this order (each a pattern and its replacement):
_RESPELLINGS = tuple(
    (re.compile(pattern, re.MULTILINE), standard)
    for pattern, standard in (
        # the passive 떼여 (= 떼이어: "딱지 떼여."), which Kiwi reads as 떼 + typed 요 before a full stop
        (rf"(?<![가-힣])떼여{_LINE_END}", "떼어"),
        # typed 감사요 (감사염, 감사용) and 그렇구나 (글쿠나, 그르쿠나), which Kiwi reads as unknown nouns
        (r"(?<![가-힣])감사(?:염|용|욤|영)(?![가-힣])", "감사요"),
        (r"(?<![가-힣])(?:글쿠나|그르쿠나|그러쿠나)(?![가-힣])", "그렇구나"),
        # spoken 아퍼, 바뻐, 고퍼 closing a line, and typed 안뇽 before 하세요
        (rf"아퍼{_LINE_END}", "아파"),
        (rf"바뻐{_LINE_END}", "바빠"),
        (rf"고퍼{_LINE_END}", "고파"),
        (r"안뇽(?=하세요|하십니까|하셨어요)", "안녕"),
        # the copula glued to 까지/부터 before a stop (5단원까지다.), where Kiwi reads 다 as the adverb "all"
        (rf"(?<=[가-힣])(까지|부터)다{_LINE_END}", r"\1이다"),
        # typed 궁 after a 반말 ending (보자궁, 먹자궁): a cute tail, not the noun (경복궁, 자궁)
        (r"(?<=[가-힣][자까지네게래])궁(?=[?!.~ㅋㅎㅠㅜ^♡\s]*$)", ""),
    )
)
# Typed 줘 (문 열어죠, 빨리 와죠): -죠 never follows a bare 어/아 syllable.
_TYPED_JWO = re.compile(rf"(?<=[어아])죠{_LINE_END}", re.MULTILINE)


# Hangul syllables closed by ㅂ (갑, 습, 렵) and by ㅆ (했, 있), for the endings that follow them
_CLOSED_BY_BIEUP = syllables_closed_by(BIEUP)
_CLOSED_BY_SSANGSIOT = syllables_closed_by(SSANGSIOT)

# A sentence's end: the line's, or punctuation and a space before the next sentence ("잘 됐수다. 한 상자 보내쿠다.")
_SENTENCE_END = r"(?=[?!.~ㅋㅎㅠㅜ^♡\s]*$|[?!.]+\s|,\s)"
# Regional endings Kiwi does not know (it reads 가는교 as a modifier and a noun, 달았수다 as 수+이+다), written as the
# standard ending of the same level. Only where they close a line, and only after the syllables they follow, so
# nouns (문제, 발렌타인데이, 친구랑 수다, 옵서버) keep their own reading.
_REGIONAL = tuple(
    (re.compile(pattern, re.MULTILINE), standard)
    for pattern, standard in (
        # Gyeongsang: the polite question 능교 and polite 예; 반말 데이, 제 and the quotative 카다 (= 하다)
        (rf"(?<=[가-힣])(?:능교|는교|닝교){_SENTENCE_END}", "나요"),  # 진지 자셨능교?, 어데 가는교?
        # 오셨어예?, 내려갈게예, 드릴까예?, 잔잔하네예
        (rf"(?<=[어아게께세지데라까나빼네고])예{_SENTENCE_END}", "요"),
        (rf"(?<=[{_CLOSED_BY_BIEUP}])니더{_SENTENCE_END}", "니다"),  # 지 왔습니더, 내일 갑니더
        (rf"(?<=[가-힣])입시더{_SENTENCE_END}", "읍시다"),  # 오늘 한잔하입시더
        (rf"(?<=[{_CLOSED_BY_BIEUP}])니데이{_SENTENCE_END}", "니다"),  # 욕봤습니데이
        (r"(?<=[가-힣])[심습]니꺼", "습니까"),  # 약은 드셨심니꺼?
        (rf"(?<=[가-힣])이소{_SENTENCE_END}", "세요"),  # 하이소체 that Kiwi does not split: 많이 드이소
        (rf"(?<=[가-힣])니꺼{_SENTENCE_END}", "니까"),  # 우째 합니꺼?
        (rf"(?<=[맙았었였했겠])데이{_SENTENCE_END}", "다"),  # 고맙데이
        (rf"(?<=[으어가하와봐해])래이{_SENTENCE_END}", "라"),  # 마이 묵으래이, 챙기 묵어래이 (먹어라)
        (rf"(?<![가-힣])무라{_SENTENCE_END}", "먹어라"),  # 마이 무라
        (rf"(?<=[맞되하렇았었였했겠])제{_SENTENCE_END}", "지"),  # 할매 말이 맞제, 안 되제
        (rf"카더라{_SENTENCE_END}", "하더라"),  # 할매가 "…" 카더라
        (rf"카노{_SENTENCE_END}", "하노"),  # 뭐라카노
        (r"(?<![가-힣])([이그저])라노(?=[\s?!.,~]|$)", r"\1러노"),  # 와 이라노 진짜 (= 이러냐)
        (r"(?<![가-힣])그라제(?=[\s?!.,~]|$)", "그렇지"),  # 하모, 그라제.
        (rf"(?<![가-힣])아이가{_SENTENCE_END}", "아니냐"),  # 그거 니 거 아이가
        (rf"(?<=[가-힣])다 아입니[꺼까]{_SENTENCE_END}", "잖습니까"),  # 내 그 말 했다 아입니꺼 (= 했잖습니까)
        (rf"(?<![가-힣])온나{_SENTENCE_END}", "와라"),  # 마 퍼뜩 온나
        # Chungcheong: 유 glued to a verb's vowel, which Kiwi splits off as a sentence of its own (얼른 들어와유)
        (rf"(?<=[는은운던])디유{_SENTENCE_END}", "데요"),  # 아직 안 왔는디유
        # not the interjections 아유, 어유 ("아유, 우리 며느리가 손이 참 야무지네.")
        (
            rf"(?<=[와아어게께해봐줘워대네])(?<!^[아어])(?<!\s[아어])유{_SENTENCE_END}",
            "요",
        ),  # 싹싹허대유, 잘됐네유
        (rf"(?<=[가-힣]구)유{_SENTENCE_END}", "요"),  # 국수나 삶아 먹을라구유
        (rf"아녀유{_SENTENCE_END}", "아니에요"),
        (rf"(?<=[가-힣])남유{_SENTENCE_END}", "나요"),  # 뭐 잘못됐남유?
        (rf"(?<=[가-힣])햐{_SENTENCE_END}", "해"),  # 반말 햐 and 혀 (= 해): 뭐가 그리 급햐, 천천히 혀
        (rf"(?<=\s)혀{_SENTENCE_END}", "해"),
        (rf"(?<=[가-힣])예유{_SENTENCE_END}", "예요"),  # the copula's 예유: 그거 을마예유?
        (rf"(?<=[가-힣])여유{_SENTENCE_END}", "예요"),  # ... and 여유 glued to a noun: 얼마여유?
        (rf"(?<=[가-힣])잖여{_SENTENCE_END}", "잖아"),  # 반말 잖여: 완전 맛있잖여
        (rf"(?<=[가-힣])니께{_SENTENCE_END}", "니까"),  # the connective 니께, cut: 길 미끄러우니께
        # Jeju: polite 수다, 수꽈/우꽈/수광, 쿠다 and the imperative 옵서
        # after a past or 있 syllable only: a noun + 다 (필수다, 가수다, 실수다) keeps its reading
        # ... and after the progressive -엄/-암 (바람 불엄수다)
        (
            rf"(?<=[{_CLOSED_BY_SSANGSIOT}좋많싫없엄암])수다{_SENTENCE_END}",
            "습니다",
        ),  # 올해 잘 됐수다, 맛 좋수다
        (rf"(?<=[가-힣])(?:수꽈|우꽈|수광|수과|수강){_SENTENCE_END}", "습니까"),  # 언제 왔수꽈?, 어디 감수광?
        (rf"(?<=[가-힣])이우다{_SENTENCE_END}", "입니다"),  # 우리 식당이우다
        (rf"(?<=거)우다{_SENTENCE_END}", "입니다"),  # 우리 밭에서 딴 거우다
        (rf"(?<=[가-힣])읍서{_SENTENCE_END}", "으십시오"),  # the polite imperative: 밥 먹읍서
        (rf"(?<=[가-힣])십서{_SENTENCE_END}", "십시오"),  # 차 한 잔 마십서
        (rf"([{_CLOSED_BY_BIEUP}])서{_SENTENCE_END}", r"\1시오"),  # 같이 올라가 봅서, 밥 먹엉 갑서
        (rf"(?<=[가-힣])십셔{_SENTENCE_END}", "십시오"),  # spoken: 어서 오십셔
        (rf"(?<=[가-힣])쿠다{_SENTENCE_END}", "겠습니다"),  # 한 상자 보내쿠다
        (r"옵서예?(?=[\s,?!.~]|$)", "오세요"),  # 혼저 옵서
        # Jeolla: the tail 잉 says nothing; -는디 is -는데 (a cut connective), -텐께 is -테니까
        (rf"(?<=[라어아지제게네])잉{_SENTENCE_END}", ""),  # 어여 들어가 쉬어라잉
        (rf"(?<=[는은운던])디{_SENTENCE_END}", "데"),  # 내가 직접 가 봤는디
        (rf"텐께{_SENTENCE_END}", "테니까"),  # 그라믄 내가 갈 텐께
        (
            r"테니(?=[.…~\s]*$)",
            "테니까",
        ),  # cut after 테니, which Kiwi reads as the question -니: 제가 살 테니
        (rf"(?<=[어아지])라우{_SENTENCE_END}", "요"),  # polite -라우: 지 왔어라우, 고생하셨지라우
        (rf"(?<=[가-힣])지라{_SENTENCE_END}", "지요"),  # polite -지라: 그라믄 안 되지라
        (rf"(?<=[가-힣])께라{_SENTENCE_END}", "게요"),  # polite -ㄹ께라: 뭐 드릴께라?
        # polite -어라 after a past syllable (늦었어라: an imperative takes no past), 반말 -당께 (= -다니까)
        (rf"(?<=[{_CLOSED_BY_SSANGSIOT}])(?<!있)어라{_SENTENCE_END}", "어요"),  # not 있어라, an imperative
        (rf"(?<=[가-힣])당께{_SENTENCE_END}", "단 말이야"),  # insisting: Kiwi cuts 다니까 into 다고+하+니까
        (rf"(?<=[가-힣])당가요{_SENTENCE_END}", "단 말인가요"),  # polite -당가요: 얼마나 걸린당가요?
        # typed: 남요 for 나요 (배송 언제 오남요?), spoken 슴까 for 습니까 (보강 있슴까?)
        (rf"(?<=[가-힣])남요{_SENTENCE_END}", "나요"),
        (rf"(?<=[가-힣])슴까{_SENTENCE_END}", "습니까"),
        # archaic: the polite retrospective question -더이까 (그리 말하더이까?)
        (rf"(?<=[가-힣])더이까{_SENTENCE_END}", "던가요"),
        (rf"(?<=[가-힣])리이까{_SENTENCE_END}", "리까"),  # 어찌 거역하리이까
        (rf"(?<=[가-힣])려우{_SENTENCE_END}", "려오"),  # 하오체 -려우: 언제 돌아오시려우?
    )
)
# Both tables in one pass, in order: a respelling first, then the regional rows, which run in their own order
# (쉬어라잉 loses 잉 before 맞제잉's 제 is read)
_REWRITES = _RESPELLINGS + _REGIONAL

# Typed 다 (잔당, 했당, 먹는당): 당 closing a line after a syllable closed by ㄴ or ㅆ
_TYPED_DANG = re.compile(rf"(?<=[{syllables_closed_by(NIEUN, SSANGSIOT)}])당{_LINE_END}", re.MULTILINE)
# Typed 싶어 (보고 시퍼, 먹고시퍼): Kiwi knows no 시퍼
_TYPED_SIPEO = re.compile(r"고\s?시퍼(?![가-힣])")
# Typed 네 (킹받넹, 맛있넹): a 넹 closing a word of two or more syllables is the exclamatory -네; 넹 alone is "네".
_TYPED_NENG = re.compile(rf"(?<=[가-힣])(?<!넹)넹{_LINE_END}", re.MULTILINE)


# 명사형 종결: a predicate turned into a noun phrase that closes a chat line ("망한 듯", "가는 중", "먹을 각",
# "내가 할 거"). Any other noun after a modifier ("짐이 많을 경우", "건강에 관한 것") is a fragment: no level.
_NOUN_ENDINGS = frozenset(
    {
        "듯",
        "중",
        "각",
        "예정",
        "거",
        "듯함",
        "편",
        "상태",
        "척",
        "판",
        "뻔",
        "줄",
        "모양",
        "지경",
        "느낌",
        "기분",
    }
)
# A line closed by a noun that reports an act or a state is 음슴체 only with a chat tail ("퇴근 완료 ㅋ", "오늘 야근
# 확정ㅠㅠ", "알바 끝!!🙌"); bare, it is a headline or a notice that speaks to nobody: four holdout writers labelled
# "최종 합격!!", "장마 끝!", "재입고 알림 신청 완료", "배송 출발", "서울역 도착" so.
_REPORT_NOUNS = frozenset(
    [
        "도착",
        "출발",
        "출근",
        "퇴근",
        "귀가",
        "기상",
        "취침",
        "입장",
        "퇴장",
        "완료",
        "끝",
        "확정",
        "성공",
        "실패",
        "순삭",
        "합격",
        "탈락",
        "득템",
        "시작",
        "종료",
        "매진",
        "완판",
        "입성",
        "당첨",
    ]
)
_POLITE_VERB_TAILS = ("해요", "세요", "어요", "아요", "예요", "에요", "게요")
_OWN_ACTS = _REPORT_NOUNS - {"합격", "탈락", "당첨", "끝", "성공", "실패", "매진", "완판", "득템", "순삭"}
_NOTICE_WORDS = frozenset(
    [
        "배송",
        "출고",
        "발송",
        "입고",
        "재입고",
        "결제",
        "주문",
        "환불",
        "처리",
        "점검",
        "접수",
        "정산",
        "현재",
        "공지",
        "신청",
        "예약",
        "수강",
        "대기",
        "인원",
        "운행",
        "영업",
        "판매",
        "입금",
        "확인",
        "공사",
        "진료",
        "체크",
        "작성",
    ]
)
# Nouns Kiwi takes for a verb and its -ㅁ ("댓글 모음" = 모으+ㅁ): after a bare noun they close a title, not 음슴체
_TITLE_NOUNS = frozenset({"모음", "알림", "모임", "만남", "다짐"})
# A typed 음슴체 imperative Kiwi takes for an unknown noun ("머하셈 지금", "빨리 와삼 지금"), before an adverb
_SEM_STEMS = "하해가와봐줘보주"
_TYPED_SEM = re.compile(rf"[{_SEM_STEMS}](셈|삼)$")
# Connective endings (-는데, -면, -고, -서, -니까, -지만, -다면, -게 ...) close a segment cut before its sentence
# ends, not a sentence; -라고/-다고 (quotative, "그거라고") and -ㄹ게 (promise) close one.
_CONNECTIVE = re.compile(
    r"(는데|ㄴ데|은데|인데|면|고|서|니까|지만|다가|며|게|도록|거나|든지|든가|자마자|ㄴ지|는지|은지|ㄹ지|"
    r"으러|러|느라고|느라|아야|어야|여야|으니|오니|사오니|더니|어도|아도|여도|해도|더라도|든|라|던데|다면서|수록|길래|려고|"
    r"으나|되|건대)$"
)
# -는지/-ㄴ지 close an embedded question ("낮잠을 오래 자서 그런 건지"), even where Kiwi tags them EF.
_EMBEDDED = re.compile(r"(ㄴ지|는지|은지|ㄹ지|을지|던지)$")
# A word Kiwi does not know is a noun to it (개춥다, 사기템임, 사지마셈); its last syllable still shows the ending.
# Two syllables are enough after a verb's stem (하삼, 주셈) or a past syllable (떴삼, 갔셈).
_UNKNOWN_EUMSEUM = re.compile(
    rf"..(임|함|됨|짐|셈|삼)$|^[{_SEM_STEMS}](셈|삼)$|[{_CLOSED_BY_SSANGSIOT}](음|셈|삼)$"
)
_UNKNOWN_BANMAL = re.compile(r"..다$")
_CONNECTIVE_EF = re.compile(
    r"(는데|ㄴ데|은데|인데|던데|면|으면|다면|고|어서|아서|여서|해서|니까|지만|다가|면서|길래)$"
)
_FINAL_EC = re.compile(r"((?<!느)라고|다고|냐고|자고|ㄹ게|을게|ㄹ께|을께)$")
_CHAT_TAIL = re.compile(r"^(?:[ㅋㅎㅠㅜ]{2,}|~+|\.{2,}|…+)")
# Lines without a predicate that a reader still hears (the whole line, punctuation, laughter and emoji removed).
_POLITE_WORDS = frozenset(
    {
        "네",
        "넵",
        "넹",
        "넴",
        "녭",
        "녜",
        "예",
        "옙",
        "넵넵",
        "네네",
        "넹넹",
        "예예",
        "아니요",
        "아뇨",
        "아녜요",
    }
)
_CASUAL_WORDS = frozenset(
    {
        *(
            "응",
            "웅",
            "엉",
            "어",
            "ㅇㅇ",
            "ㅇㄷ",  # 어디
            "ㅇㅋ",
            "ㅇㅋㅇㅋ",
            "오키",
            "오키오키",
            "오케",
            "오냐",
            "안뇽",
            "ㄱㄱ",
            "ㄴㄴ",
            "ㄱㅅ",
            "ㄳ",
        ),
        *(
            "ㅈㅅ",
            "ㅇㅈ",
            "ㅂㅂ",
            "ㅂㅇ",
            "안녕",
            "아니",
            "아니아니",
            "아무거나",  # its polite twin is 아무거나요
            "미안",
            "잠깐",
            "잠깐만",
            "잘자",
            "어쩔",
            "어쩔티비",
            "그려",
            "하모",  # Gyeongsang: "of course"
            "그럼",
            "노노",
            "당근",
            "수고",
            "야",
            "콜",
        ),
        *(
            "그래",
            "어그래",
            "아니야",
            "글쎄",
            "글쎄다",
            "그치",
            "ㅇㅋㄷㅋ",
            "어어",
            "나도",
            "왜에",
            "왜",
            "뭐",
            "굿밤",
            "바이",
            "빠이",
            "고마워",
            "ㄱㅊ",
            "ㄴㄴㄴ",
            "웅웅",
            "응응",
            "ㅇㅇㅇ",
        ),
    }
)
# The short words that are whole 반말 sentences, not answers or calls: they keep the level Kiwi finds, so beside
# 존댓말 they make a mix ("고마워. 아니 감사합니다, 선배.") where 응 or 네 would not.
_SAID_WORDS = frozenset({"고마워", "아니야", "잘자", "글쎄다"})
_FILLERS = frozenset({"아", "어", "음", "앗", "오", "흠", "아아", "엇"})
_NOT_WORD = re.compile(r"[\s.,!?~…·ㅠㅜ^;:\-_*'\"()\[\]♡♥]+|[ㅋㅎ]{2,}|[^\w\s]")
_SHORT_LINE = 24  # characters: longer lines are never one of the words above, even with tails
# Chat shorthand that is 반말 wherever it stands in a line without a predicate (ㅇㅋ 그럼 7시에 ㄱ, 캠핑 ㄱㄱ).
_CASUAL_JAMO = frozenset(
    {"ㅇㅇ", "ㅇㅋ", "ㄱㄱ", "ㄱ", "ㄴㄴ", "ㅇㅈ", "ㄱㅅ", "ㅈㅅ", "ㅂㅂ", "ㄱㄱㄱ", "ㄹㅇ"}
)
# A line that a quotation ends on: what follows reports it (엄마가 밥 먹었어? 하시더라고요).
_QUOTATIVE = re.compile(
    r"^(?:하고|하길래|하기에|하는데|하니까|하면서|하더니|하더라|하시|하셔|하셨|하던데|해서|했더니|했는데|"
    r"라고|이라고|(?:이|그)(?:러는데|러길래|러더라|러시더라|러더니|러면서|러시|러셔)|물어|묻길래|묻더|"
    r"말하|말씀하)"
)


@dataclass(frozen=True)
class SentenceLevel:
    text: str
    level: str
    ending: str | None
    """The closing morpheme that decided the level (e.g. "어", "어요", "ㅂ니다"), None for `none`."""
    register: str = "none"
    """polite | casual | none: what a reader hears in this sentence (네 → polite, 응 → casual)."""


# 하십시오체 endings, in compatibility-jamo spelling (읍니다: the pre-1988 spelling of 습니다)
# (and any syllable closed by ㅂ before 니다/니까 that Kiwi keeps whole: 올라오시렵니까)
_HAPSYO = re.compile(
    rf"(?:[ㅂㅁ슴{_CLOSED_BY_BIEUP}]니다|[ㅂ슴{_CLOSED_BY_BIEUP}]니까|십시오|ㅂ시오|[ㅂ읍]시다)$"
)


def ending_level(form: str, tag: str) -> str:
    """Level of a closing ending morpheme (EF/EC/ETN), in compatibility-jamo spelling."""
    if form in ("음", "ㅁ"):
        return "eumseum"
    if tag == "ETN":
        return "none"  # -기 names an act ("식기 전에"), it closes nothing
    # Only the ㅂ/습 forms: a bare -니까 is the casual connective ("있으니까"), not 하십시오체. 했슴다/감사함다 are
    # the spoken 하십시오체 of 했습니다/감사합니다; -ㄴ답니다/-랍니다 report (도착한답니다), 함니다 is typed.
    if _HAPSYO.search(form) or form in ("슴다", "ㅁ다", "ㅂ죠"):
        return "hapsyo"
    # 하오체 (가시오, 그렇소, 좋구려) and the archaic retrospective -습디다/-ㅂ디다.
    if form.endswith(("옵니다", "옵니까", "나이다", "나이까", "소서")) or form == "니다":
        return "hapsyo"  # archaic 하십시오체: 아뢰옵니다, 되었사옵니다, 비나이다, 하소서; Kiwi's 빌+옵+니다
    if form in ("오", "소", "우", "이소", "으이소", "수") or form.endswith(
        (
            "구려",
            "리다",
            "리까",
            "리오",
            "습디다",
            "ㅂ디다",
            "습디까",
            "ㅂ디까",
            "더이다",
            "라오",
            "다오",
            "소이다",
        )
    ):
        # 하오체 (가시오, 그렇소, 않는구려, 갚으리다, 광고라오, 놀랐다오, 올렸소이다), archaic -습디다, -더이다; Kiwi
        # reads the imperative 가져다오 as 달+오, so its 다오 is the 하오체 one
        return "hao"
    if form.endswith(("요", "여", "죠", "쇼", "염", "얌")):
        return "haeyo"
    if form.endswith(("유", "슈", "쥬")):
        return "haeyo"  # Chungcheong 해요체 (먹었슈?, 괜찮어유, 당연하쥬), typed as spoken
    return "banmal"


def _polite_form(token) -> bool:
    return ending_level(token.form.translate(_CODA_TO_COMPAT), token.tag) in POLITE


def _ending_of(token, after) -> str:
    """Level of an ending token; a connective ending cut before its sentence ends has none."""
    form = token.form.translate(_CODA_TO_COMPAT)
    level = ending_level(form, token.tag)
    if level in POLITE:
        return level  # 바빠서요, 그렇소: 요 and 하오체 endings carry their level even where Kiwi says EC
    if _FINAL_EC.search(form) or form.endswith(("어라", "아라", "여라", "거라")):
        return level  # 그거라고, 할게, 가려고, 잘 챙겨 먹어라: these close a sentence
    if token.tag == "EF" and form.endswith(("다니까", "라니까")):
        return "banmal"  # "그럴 줄 알았다니까", "내가 한다니까": insisting; the connective one is Kiwi's EC
    if token.tag == "EC":
        connective = _CONNECTIVE.search(form)
    else:  # Kiwi also calls a cut connective EF when a full stop follows ("나 자신을 위해서.", "갈 건데.")
        connective = _EMBEDDED.search(form) or _CONNECTIVE_EF.search(form)
    if not connective:
        return (
            "banmal" if token.tag == "EC" else level
        )  # Kiwi's EC for 간다, 가자, 있을래 without punctuation
    stopped = bool(after) and after[0].form.startswith(".")
    if form.endswith("던데") and (stopped or not form.endswith(("다던데", "라던데"))):
        # "거기 브런치 꽤 괜찮던데", "그 코트 잘 어울리던데": the retrospective -던데 closing a line is said, not cut
        # (the holdout brief's casual twin of -던데요; three holdouts' writers hear it so). Hearsay -다던데 ("맵다던데",
        # "온다고 하던데") trails off unless a full stop closes it (see classify_tokens)
        return "banmal"
    if form.endswith("려고") and after and after[0].form.startswith((".", "?")):
        return "banmal"  # "일본 가려고.", "뭐 하려고?" say a plan; a bare "돈을 아끼려고" is a cut purpose
    # 괜찮던데 ㅎㅎ, 1교시인데...: trailed off in chat, the ending closes the sentence. Asked (했는데? 죽는다면?) it
    # has no level: the line is heard as 반말 only where nothing else speaks (see bare_register).
    if any(t.tag in ("SE", "W_EMOJI") or _CHAT_TAIL.match(t.form) for t in after):
        return "banmal"
    return "none"


def _chat_tail(after) -> bool:
    return any(t.tag in ("SW", "W_EMOJI") or _CHAT_TAIL.match(t.form) for t in after)


def _cut_purpose_or_reason(form: str, tag: str, before, stopped: bool) -> bool:
    """Endings Kiwi calls final that end a cut clause when nothing asks: -게 of purpose ("감기가 빨리 낫게", "먼저
    식사하시게"; asked, "뭐 하게?" is 반말) and -니 after 보다 ("주소가 복잡하다 보니", "조회를 해 보니"; "먹었니" asks)."""
    if tag == "EF" and form == "게":
        if stopped and (before.tag.startswith(("VV", "VX", "XSV")) or before.form in ("시", "으시")):
            return False  # 하게체 closed by a full stop ("이리 와서 앉게.", "들어 보시게."): an elder's 반말
        # after 었/겠 it is the riddle's -게 ("뭐 먹었게.", 반말); after the honorific 시 still purpose
        return before.tag != "EP" or before.form in ("시", "으시")
    if tag == "EF" and form == "야" and before.tag in ("VV", "VA"):
        return True  # "시험 끝나야": Kiwi's final 야 straight after a verb is the connective -아야 (이야 follows 이)
    return tag == "EC" and form == "니" and before.tag == "VX" and before.form == "보"


def classify_tokens(tokens) -> tuple[str, str | None]:
    """(level, closing form) of one sentence's Kiwi tokens."""
    tokens = list(tokens)
    content = [t for t in tokens if t.tag not in _TRANSPARENT]
    if not content:
        return "none", None
    last = content[-1]
    form = last.form.translate(_CODA_TO_COMPAT)
    tag = last.tag
    after = tokens[tokens.index(last) + 1 :]
    before = content[-2] if len(content) > 1 else None
    asked = any("?" in t.form for t in after)
    stopped = bool(after) and after[0].form.startswith(".")
    if not asked and before is not None and _cut_purpose_or_reason(form, tag, before, stopped):
        return "none", None
    if _titled(content):
        return "none", None
    if form == "건" and before is not None and before.tag == "VCP" and not asked:
        return "none", None  # "3분기 매출 보고 건.": the noun 건 (件) closing a memo line, not the ending -건
    hearsay = form == "던데" and len(content) >= 3 and before.form == "하" and content[-3].form.endswith("고")
    if hearsay and not stopped:
        return (
            "none",
            None,
        )  # "웨이팅 한 시간이라던데" (라고+하+던데), "비 온다고 하던데": hearsay trailing off
    if form == "자" and tag == "IC" and before is not None and before.tag == "MAG":
        return "banmal", form  # "얼른 자", "이제 자": the imperative of 자다, not the interjection
    if form == "오" and tag == "EF" and before is not None and before.form == "달":
        return "banmal", "다오"  # "물 좀 다오", "알려 다오": 해라체's imperative of 달다, not 하오체
    if form == "고" and stopped and before is not None and before.form == "말" and before.tag in ("VV", "VX"):
        # "안 되면 말고.", "늦지 말고.": closed by a full stop; a bare "졸지 말고" is cut
        return "banmal", form
    if form == "여" and tag in ("EF", "EC") and any(t.tag == "VCP" for t in content[-3:-1]):
        return "banmal", form  # "뭔 일이여", "이게 뭐시여": the copula's 이여 (= 이야), not a typed 요
    if tag.startswith("E") and tag not in ("ETM", "EP"):
        level = _ending_of(last, after)
        if level == "none" and _trailed_off_with_a_stop(tokens) and _person_register(tokens) == "casual":
            # "아 근데 나 내일 바쁜데.": 나 says whose voice trails off (see _trailed_off_with_a_stop)
            return "banmal", form
        return (level, form) if level != "none" else ("none", None)
    if tag in ("NNG", "NNP") and len(form) > 2 and form.endswith(_POLITE_VERB_TAILS):
        return (
            "haeyo",
            form,
        )  # "할무니 사랑해요": after a name Kiwi does not know, a whole verb taken for a name
    if form.endswith(("요", "죠", "쵸")) and not (tag in ("NNG", "NNP") and len(form) > 1):
        # 진짜요?, 저는요, 그쵸: the particle/contraction is polite (담요, 필요 are nouns)
        return "haeyo", form
    if (
        tag == "NNB"
        and form == "데"
        and before is not None
        and (before.form, before.tag) == ("던", "ETM")
        and before.start + before.len == last.start
    ):
        # "밖에 눈 오던데.": the retrospective -던데 (see _ending_of), which Kiwi reads as a modifier and the noun 데
        # before a full stop; spaced, "살던 데" is the noun (the place where)
        return "banmal", "던데"
    if tag == "NNB" and form == "대" and before is not None and before.tag == "ETM":
        # "내일 눈 온대 ⛄": the hearsay -ㄴ대, which Kiwi reads as a modifier and a noun before an emoji
        return "banmal", "ㄴ대"
    if before is not None and before.tag == "ETM":
        # "망한 듯", "가는 중", "먹을 각": a predicate turned into a noun phrase is 명사형 종결; any other noun
        # after a modifier ("짐이 많을 경우", "건강에 관한 것") is a fragment.
        return ("eumseum", form) if form in _NOUN_ENDINGS else ("none", None)
    if tag == "NNG" and form in _REPORT_NOUNS and _chat_tail(after):
        return "eumseum", form
    if form == "각" and before is not None and before.tag in _NOMINAL:
        return "eumseum", form  # "오늘 치킨 각", "밤샘 각": slang 명사형 종결 after a noun
    if tag == "NNB" and form == "이래":
        return "banmal", form  # 결방이래, 시작이래: Kiwi's noun for the hearsay 이래 (= 이라고 해)
    if (
        tag in ("JKV", "JX")
        and form in ("야", "이야")
        and len(content) >= 3
        and content[-3].tag not in ("IC", "NP")
    ):
        # "이 앱 진짜 신세계야", "내일 또 오픈 알바야ㅠㅠ": the copula Kiwi takes for a vocative or a particle
        # ("민수야" alone calls)
        return "banmal", form
    if tag == "NNG" and _UNKNOWN_EUMSEUM.search(form):
        return "eumseum", form
    if tag == "NNG" and _UNKNOWN_BANMAL.search(form):
        return "banmal", form
    if (
        form in ("셈", "삼")
        and before is not None
        and before.tag.startswith(("VV", "VA", "VX", "XSV", "XSA", "EP"))
    ):
        return "eumseum", form  # 먹어보셈, 하삼, 완료했셈
    if tag.startswith(("VV", "VA", "VX", "VCP", "VCN", "XSV", "XSA")):
        return "banmal", form  # a bare stem: a typo'd or clipped casual ending
    if tag.startswith(("N", "S", "IC", "MA", "MM", "J", "XR", "XSN")):
        # A trailing vocative, noun or particle after a predicate in the same sentence (축하드려요 아버지): the
        # predicate's ending decides.
        modified = (
            False  # past a modifier (깨끗한 물을, 확인해야 할 것들) only a final ending closes a sentence
        )
        for index in range(len(content) - 2, -1, -1):
            token = content[index]
            modified = modified or token.tag == "ETM"
            closing = token.tag == "EF" or (token.tag == "EC" and _polite_form(token))
            if token.tag == "ETN" and content[index + 1].tag in _NOMINAL:
                continue  # "알림 과다", "맑음 예상": the -ㅁ noun is part of a noun phrase, not 음슴체
            if closing or (token.tag in ("EC", "ETN") and not modified):
                level = _ending_of(token, [])
                return (level, token.form.translate(_CODA_TO_COMPAT)) if level != "none" else ("none", None)
            if token.tag == "NNG" and _UNKNOWN_BANMAL.search(token.form):
                return "banmal", token.form
            if token.tag == "NNG" and _TYPED_SEM.search(token.form):
                return "eumseum", token.form
            if token.tag == "NNG" and token.form in ("임", "함", "됨"):
                # "이사 준비 중임 박스만 스무 개": Kiwi's noun for the copula's -ㅁ
                return "eumseum", token.form
    if _reported_with_a_tail(tokens):
        return "eumseum", "report"
    return "none", None  # interjections (헐, 응, 네), adverbs, particles


def _titled(content) -> bool:
    """A noun Kiwi reads as a verb closing the line: a notice's or a list's title ("결혼식 안내." = 안+내+어, "댓글
    모음" = 모으+ㅁ) or a noun after a modifier ("아버님 보내주신 감" = 가+ㅁ)."""
    if len(content) < 3:
        return False
    first, stem, ending = content[-3], content[-2], content[-1]
    if first.tag == "MAG":  # 안 + 내 + 어 written as one word: the noun 안내
        glued = first.start + first.len == stem.start
        return glued and (first.form, stem.form, ending.form) == ("안", "내", "어")
    if not (stem.tag == "VV" and ending.form.translate(_CODA_TO_COMPAT) == "ㅁ"):
        return False
    if first.tag == "ETM":
        return True
    joined = kiwi().join([(stem.form, stem.tag), (ending.form, ending.tag)])
    return first.tag in _NOMINAL and joined in _TITLE_NOUNS


def _own_report(tokens) -> bool:
    """A bare line closing on an act or a state of one's own day ("집 도착", "출근 중", "과제 제출 완료", "스터디
    카페 입성"): a reader hears someone texting a friend, 반말, though it has no level (so beside 존댓말 it makes no
    mix). Not a status line from a shop, a system or an office ("배송 출발", "환불 처리 완료", "[공지] 점검 완료") and
    not an outcome announced ("최종 합격!!", "장마 끝!"): those speak to nobody."""
    content = [t for t in tokens if t.tag not in _TRANSPARENT]
    if not content:
        return False
    last = content[-1]
    acted = (last.tag == "NNG" and last.form in _OWN_ACTS) or (
        last.tag == "NNB" and last.form == "중" and len(content) > 1 and content[-2].tag == "NNG"
    )
    return acted and not any(token.form in _NOTICE_WORDS or token.form == "[" for token in content)


def _trailed_off_with_a_stop(tokens) -> bool:
    """A sentence closing on -는데 and a full stop ("그건 좀 아닌 것 같은데.", "말렸어야 했는데."): a 반말 sentence
    trailing off, heard so where nothing else speaks (a bare "갈 수도 있는데" is a cut segment). Beside 존댓말
    ("배달 언제 와요? 벌써 한 시간 지났는데.") it is the same voice trailing off, unless 나/너 say it is not."""
    content = [t for t in tokens if t.tag not in _TRANSPARENT]
    if not content or not content[-1].tag.startswith("E"):
        return False
    after = tokens[tokens.index(content[-1]) + 1 :]
    trailing = content[-1].form.translate(_CODA_TO_COMPAT) in ("는데", "ㄴ데", "은데", "인데")
    return trailing and bool(after) and after[0].form == "."


def _reported_with_a_tail(tokens) -> bool:
    """A report noun right before laughter or an emoji in the middle of a line ("결제 완료 ㅋㅋ 기다림 끝", "휴강
    확정 ㅋㅋ 개꿀"): 음슴체, as at a line's end."""
    return any(
        token.tag == "NNG" and token.form in _REPORT_NOUNS and _chat_tail([following])
        for token, following in itertools.pairwise(tokens)
    )


def level_register(level: str) -> str:
    return "polite" if level in POLITE else "casual" if level in CASUAL else "none"


def _person_register(tokens) -> str:
    """나/너 (casual) or 저/저희 (polite) in a line that has no level ("엄마 나 도착~~", "아 근데 나 돈 없는데")."""
    # 내 (= 나의) is Kiwi's MM in "내 거"
    pronouns = {t.form for t in tokens if t.tag == "NP" or (t.tag, t.form) == ("MM", "내")}
    casual = bool(pronouns & {"나", "내", "너", "니", "너희", "너네"})
    polite = bool(pronouns & {"저", "저희"})
    return "casual" if casual and not polite else "polite" if polite and not casual else "none"


def bare_register(text: str) -> str:
    """The register of a line without a speech level, where a reader hears one: 네/넵 polite; 응/ㅇㅇ/미안
    casual, and so is a question without 요 (안녕?, 진짜?, 왜?); anything else (헐, 만 원., 메리 크리스마스!) none."""
    words = _NOT_WORD.sub(" ", text).split()
    if len(words) > 1 and words[0] in _FILLERS:
        words = words[1:]  # "아 네네", "아, 네.": the filler says nothing
    word = "".join(words)
    if not word:
        return "none"
    if (
        word in _POLITE_WORDS
        or _repeats_one_of("".join(words[:2]), _POLITE_WORDS)  # 아뇨 아뇨, 넵넵넵
        or (len(words) == 2 and words[0] in _POLITE_WORDS and words[1].endswith(("님", "어르신")))
    ):
        return "polite"  # 네., 넵넵, "네, 어머님."
    if (
        word in _CASUAL_WORDS
        or _repeats_one_of(word, _CASUAL_JAMO | _CASUAL_WORDS)  # ㄱㅅㄱㅅ, ㄱㅊㄱㅊ, 오키오키오키
        or any(w in _CASUAL_JAMO for w in words)
        or (words and words[-1] in _CASUAL_WORDS)
    ):
        return "casual"
    # 안녕?, 진짜?, 왜?: a question without 요 is asked in 반말 (but "7시?", "만 원?" are just a time and a price,
    # and a 요 question Kiwi could not read, "얼마나 걸린당가요?", is no 반말)
    if (
        text.rstrip().rstrip("ㅋㅎㅠㅜ~!").endswith("?")
        and re.search("[가-힣]", word)
        and not re.search(r"\d", word)
        and not word.endswith("요")
    ):
        return "casual"
    # a call that opens a line with no level: 야 (also 야야) is said to a friend ("야 우리 지금 휴게소")
    if len(words) > 1 and words[0] in {"야", "야야"}:
        return "casual"
    return "none"


def _repeats_one_of(word: str, units: frozenset[str]) -> bool:
    return any(len(word) % len(unit) == 0 and word == unit * (len(word) // len(unit)) for unit in units)


_LAUGH_BREAK = re.compile(r"([ㅋㅎㅠㅜ]{2,})[ \t]+(?=[가-힣])")


def blank_quotes(text: str) -> str:
    return _QUOTE.sub(lambda m: m.group(0)[0] + "…" + m.group(0)[-1], text)


def prepare(text: str) -> list[str]:
    """Chat lines (bubbles) with quotes blanked, a line also broken after a laugh or a cry that goes on to more
    words ("버스 놓침 ㅋㅋㅋ 개망": two sentences Kiwi does not split); each line is split into sentences by Kiwi."""
    lines = []
    for raw in text.split("\n"):
        for piece in _LAUGH_BREAK.sub(r"\1\n", blank_quotes(raw)).split("\n"):
            if line := _typed_endings(_DRAWN_OUT.sub(r"\1", piece)).strip():
                lines.append(line)
    return lines


def _typed_endings(line: str) -> str:
    """Typed spellings of 요, 죠, 줘 and -네 written as the endings Kiwi knows."""
    line = _TYPED_NENG.sub("네", _TYPED_JWO.sub("줘", _TYPED_SIPEO.sub("고 싶어", line)))
    line = _IMDEO.sub("입니다", _SIMDEO.sub("습니다", _TYPED_DANG.sub("다", line)))
    line = _TYPED_YONG_END.sub("요", _TYPED_YONG.sub("요", _TYPED_JYO.sub("죠", line)))
    line = _TYPED_YEO.sub("요", line)
    for pattern, standard in _REWRITES:
        line = pattern.sub(standard, line)
    return line


@functools.cache
def kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


def sentence_levels(texts: Iterable[str]) -> Iterator[list[SentenceLevel]]:
    """Per text, the level of each sentence. Texts are fed to Kiwi as one batch of lines."""
    texts = list(texts)
    lines_per_text = [prepare(text) for text in texts]
    flat = [line for lines in lines_per_text for line in lines]
    analysed = iter(kiwi().split_into_sents(flat, return_tokens=True)) if flat else iter(())
    for lines in lines_per_text:
        result = []
        for line in lines:
            sentences = list(next(analysed))
            for index, sentence in enumerate(sentences):
                following = sentences[index + 1].text if index + 1 < len(sentences) else ""
                if _QUOTATIVE.match(following):  # an unquoted quotation: not the speaker's voice
                    result.append(SentenceLevel(sentence.text, "none", None, "none"))
                    continue
                clauses = _comma_clauses(line, sentence.tokens)
                result.extend(clauses)
                tokens = list(sentence.tokens)
                if following and all(t.tag in _TRANSPARENT for t in sentences[index + 1].tokens):
                    # a tail Kiwi split off ("알바 끝!!🙌") still trails this sentence
                    tokens += sentences[index + 1].tokens
                level, ending = classify_tokens(tokens)
                after_comma = index > 0 and sentences[index - 1].text.rstrip().endswith(",")
                if (clauses or after_comma) and ending in _INVERTED_TAIL:
                    level, ending = "none", None
                if sentence.text.rstrip().endswith(",") and _remembering(tokens):
                    level, ending = "none", None  # "아 맞다," where Kiwi splits the sentence at the comma
                if ending == "니" and not sentence.text.rstrip().endswith("?") and _said_politely(result):
                    # "배송 출발했습니다. 도착 시간은 문자로 안내되니": a cut -니
                    level, ending = "none", None
                if len(sentence.text) <= _SHORT_LINE:
                    word = _NOT_WORD.sub("", sentence.text)
                    if (word in _POLITE_WORDS or word in _CASUAL_WORDS) and word not in _SAID_WORDS:
                        level, ending = "none", None  # 넵넵 is no 하십시오체 to Kiwi's eyes
                register = level_register(level) if level != "none" else bare_register(sentence.text)
                if register == "none":
                    register = _person_register(sentence.tokens)
                if register == "none" and (_own_report(tokens) or _trailed_off_with_a_stop(tokens)):
                    register = "casual"
                result.append(SentenceLevel(sentence.text, level, ending, register))
        yield result


# An exclamation that introduces the comment after its comma ("오늘도 야근이라니, 이 몸은 슬프오"): no voice of its own.
_EXCLAIMED = frozenset({"다니", "라니", "이라니"})
# A quotative or a noun phrase closing a sentence whose comma clause (or the sentence Kiwi split off at a comma) spoke
# first ("말씀드렸잖아요, 저 목요일에 휴가라고.", "아시잖아요, 제가 아침잠 많은 거."): the complement of that clause,
# inverted, with no level of its own.
_INVERTED_TAIL = frozenset({"라고", "이라고", "다고", "ㄴ다고", "는다고", "거", "것"})


def _comma_clauses(line: str, tokens) -> list[SentenceLevel]:
    """Clauses closed before a comma inside one sentence, with their own level ("알겠어, 그럼 내일 봬요.",
    "잠깐만요, 이거 내 거 아니야?"): a second voice Kiwi does not split off. Clauses with no level (a connective,
    an adverb: "밥 먹고,", "그래서,") are left to the sentence."""
    clauses, start = [], 0
    for index, token in enumerate(tokens):
        if token.tag == "SP" and token.form == "," and index > start:
            level, ending = classify_tokens(tokens[start:index])
            if level != "none" and ending not in _EXCLAIMED and not _remembering(tokens[start:index]):
                text = line[tokens[start].start : token.start]
                clauses.append(SentenceLevel(text, level, ending, level_register(level)))
            start = index + 1
    return clauses


def _said_politely(earlier: list[SentenceLevel]) -> bool:
    """Whether a sentence before, in the same text, speaks 존댓말: after it, an unasked -니 is a cut connective,
    not the 해라체 question a speaker would switch to."""
    return any(s.level != "none" and s.register == "polite" for s in earlier)


def _remembering(tokens) -> bool:
    """ "아 맞다," before what was remembered ("아 맞다, 내일 휴무잖아요."): an exclamation to oneself, no voice."""
    return [t.form for t in tokens if t.tag not in _TRANSPARENT and t.tag != "IC"] == ["맞", "다"]


def overall_level(sentences: list[SentenceLevel]) -> str:
    """One label for a text: the shared level of its sentences that have one, `mixed` if they differ."""
    levels = {s.level for s in sentences if s.level != "none"}
    if not levels:
        return "none"
    return levels.pop() if len(levels) == 1 else "mixed"


def overall_register(sentences: list[SentenceLevel]) -> str:
    """The register of a text: polite when every sentence that has one is polite (하십시오체 + 해요체 too), casual
    when all are casual, mixed when both occur, none when no sentence has one. Sentences with a speech level
    decide; a line heard without one (네, 왜?, a cut segment with 나) only speaks when no sentence has a level, so
    a rhetorical "이유는?" or "나 자신을 위해서" inside 존댓말 makes no mix."""
    registers = {s.register for s in sentences if s.level != "none" and s.register != "none"}
    if not registers:
        registers = {s.register for s in sentences if s.register != "none"}
    if not registers:
        return "none"
    return registers.pop() if len(registers) == 1 else "mixed"


def tone_ok(sentences: list[SentenceLevel], tone: str) -> bool | None:
    """The one tone verdict (eval, data check, KakaoTalk import): is the text's register the requested tone's?
    반말 wants `casual` (반말, 음슴체); 존댓말 wants `polite` (해요체, 하십시오체, 하오체); `mixed` keeps neither.
    None when the register is `none` (ㅋㅋ, 헐, a single noun): such a text breaks neither tone and shows
    neither — the eval counts it as a miss (a reply must show its tone), a corpus check as no breach."""
    register = overall_register(sentences)
    if register == "none":
        return None
    return register == TONE_REGISTER.get(tone, "polite")
