"""The web chat: its pure parts, then the running Gradio app driven through gradio_client (tiny model)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path

import pytest

from insabot.bot.arena import side_by_side
from insabot.bot.badges import reply_badges
from insabot.bot.drafts import drafts_request, parse_group_chat
from insabot.bot.models import ModelChoice, ModelPool, discover_choices, find_adapters
from insabot.chat import SYSTEM_PROMPTS
from insabot.config import ModelConfig


def test_side_by_side_interleaves_and_keeps_the_finished_side():
    left = iter(["a", "ab"])
    right = iter(["x", "xy", "xyz", "xyzw"])
    assert list(side_by_side(left, right)) == [
        ("a", ""),
        ("a", "x"),
        ("ab", "x"),
        ("ab", "xy"),
        ("ab", "xyz"),
        ("ab", "xyzw"),
    ]


def test_badges_come_from_the_eval_analysers():
    assert reply_badges("ㅋㅋㅋ 성수 카페 가봐 완전 킹받네") == [
        "반말",
        "한글 100%",
        "ㅋㅋ×1",
        "슬랭: 킹받네",
        "📍 성수",
    ]
    assert reply_badges("좋아요! 홍대에서 만나요")[:2] == ["존댓말 · 해요체", "한글 100%"]
    assert reply_badges("저는 학생입니다. 서울에 살아요.")[0] == "존댓말 · 하십시오체+해요체"
    assert reply_badges("어제 잘 들어갔어요? 나 완전 피곤해")[0] == "존댓말·반말 섞임"
    assert reply_badges("네.")[0] == "존댓말"
    assert reply_badges("   ") == []


def test_group_chat_snippets_plain_and_kakao_export():
    plain = "민지: 토요일에 성수 갈 사람?\n준호 : 나 ㄱㄱ\n\n그냥 한 줄"
    assert parse_group_chat(plain) == [
        ("민지", "토요일에 성수 갈 사람?"),
        ("준호", "나 ㄱㄱ"),
        ("", "그냥 한 줄"),
    ]
    kakao = "[민지] [오후 9:03] 토요일에 성수 갈 사람?\n[준호] [오후 9:04] 나 ㄱㄱ\n몇 시?"
    assert parse_group_chat(kakao) == [("민지", "토요일에 성수 갈 사람?"), ("준호", "나 ㄱㄱ\n몇 시?")]
    request = drafts_request([("민지", "갈 사람?"), ("", "ㅋㅋ")])
    assert "민지: 갈 사람?\nㅋㅋ\n" in request and request.endswith("답장 한 줄만 써줘.")


def _fake_adapter(folder, base):
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base}))


def test_model_choices_offer_each_base_alone_and_with_its_adapters(tmp_path):
    _fake_adapter(tmp_path / "adapters" / "insabot-gemma3-ko", "gemma3-270m")
    _fake_adapter(tmp_path / "runs" / "smollm2-ko-casual" / "adapter", "smollm2-135m")
    (tmp_path / "runs" / "eval-only").mkdir()
    shipped = str(tmp_path / "adapters" / "insabot-gemma3-ko")
    run = str(tmp_path / "runs" / "smollm2-ko-casual")
    dirs = [str(tmp_path / "adapters"), str(tmp_path / "runs"), str(tmp_path / "missing")]
    assert find_adapters(dirs) == [ModelChoice("gemma3-270m", shipped), ModelChoice("smollm2-135m", run)]

    choices = discover_choices(ModelConfig(base_model="gemma3-270m", adapter=shipped), dirs)
    assert choices[:4] == [
        ModelChoice("gemma3-270m", shipped),  # the configured model first, listed once
        ModelChoice("gemma3-270m"),
        ModelChoice("smollm2-135m", run),
        ModelChoice("smollm2-135m"),
    ]
    assert len({choice.label for choice in choices}) == len(choices)


def test_model_pool_loads_each_choice_once_under_concurrent_requests():
    calls = []

    def slow_loader(config):
        calls.append((config.base_model, config.adapter))
        time.sleep(0.2)
        return object()

    pool = ModelPool(ModelConfig(), [ModelChoice("a"), ModelChoice("a", "x")], loader=slow_loader)
    label = ModelChoice("a", "x").label
    results = []
    threads = [threading.Thread(target=lambda: results.append(pool.get(label))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [("a", "x")] and len(results) == 4 and len({id(r) for r in results}) == 1
    with pytest.raises(KeyError, match="unknown model"):
        pool.get("nope")


# --- the running app ----------------------------------------------------------------------------------


class SlowForward:
    """Counts forward passes and makes each one take a while, so a long reply can be stopped mid-way."""

    def __init__(self):
        self.calls = 0
        self.delay = 0.0

    def __call__(self, module, args, output):
        self.calls += 1
        time.sleep(self.delay)


@pytest.fixture(scope="module")
def web(web_app):
    counter = SlowForward()
    web_app.pool.get(web_app.label).model.register_forward_hook(counter)
    from gradio_client import Client

    client = Client(web_app.url, verbose=False)
    yield client, web_app.label, counter, web_app.config
    client.close()


def _settings(max_new_tokens=24, tone="banmal", system=""):
    # tone, system prompt, temperature, top-p, max new tokens, repetition penalty
    return (tone, system, 0.7, 0.9, max_new_tokens, 1.1)


def test_chat_streams_a_reply_with_badges(web):
    client, label, _, _ = web
    job = client.submit("야, 이거 어때?", label, *_settings(), api_name="/chat")
    outputs = list(job)
    replies = [reply for reply, _ in outputs]
    assert len(outputs) > 3, "the reply arrives in pieces"
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(replies))
    reply, badges = outputs[-1]
    assert reply.strip() and badges.startswith("🏷️ ")


def test_a_reranked_chat_reply_comes_whole_in_one_piece(web):
    client, label, _, _ = web
    job = client.submit("야, 이거 어때?", label, *_settings(), 3, api_name="/chat")
    outputs = list(job)
    assert len(outputs) <= 2  # the whole reply, then the same reply with its badges: nothing streams
    assert outputs[-1][0].strip() and outputs[-1][1].startswith("🏷️ ")


def test_candidates_need_sampling_in_the_web_settings(web_app):
    from insabot.bot.ui import WebChat

    chat = WebChat(web_app.pool, web_app.config)
    assert chat.settings("banmal", "", 0.7, 0.9, 24, 1.1, 4).generation.candidates == 4
    assert chat.settings("banmal", "", 0.0, 0.9, 24, 1.1, 4).generation.candidates == 1  # greedy: one reply


def test_tone_control_sets_the_training_system_prompt(web):
    client, *_ = web
    assert client.predict("jondaetmal", api_name="/set_tone") == SYSTEM_PROMPTS["jondaetmal"]
    assert client.predict("banmal", api_name="/set_tone") == SYSTEM_PROMPTS["banmal"]


def test_stop_ends_a_long_generation_early(web):
    client, label, counter, _ = web
    counter.delay, counter.calls = 0.05, 0  # 1000 tokens would take ~50 s
    try:
        job = client.submit("끝없이 말해줘", label, *_settings(max_new_tokens=1000), api_name="/chat")
        deadline = time.monotonic() + 60
        while not job.outputs() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job.outputs(), "no streamed output arrived"
        job.cancel()
        while _generating() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _generating(), "the generation thread kept running after stop"
        assert counter.calls < 500
    finally:
        counter.delay = 0.0


def _generating() -> bool:
    return any(thread.name == "insabot-generate" for thread in threading.enumerate())


def test_reply_drafts_returns_three_drafts(web):
    client, label, _, _ = web
    drafts = client.predict(
        "민지: 이번 주 토요일에 성수 갈 사람?\n준호: 나 ㄱㄱ", label, *_settings(), api_name="/drafts"
    )
    assert len(drafts) == 3 and all(isinstance(draft, str) for draft in drafts)
    assert "\n" not in "".join(drafts)


def test_arena_answers_with_both_models(web):
    client, label, _, _ = web
    left, right, left_badges, right_badges = client.predict(
        "야, 이거 어때?", label, label, *_settings(), api_name="/arena"
    )
    for history, badges in ((left, left_badges), (right, right_badges)):
        assert [message["role"] for message in history] == ["user", "assistant"]
        assert history[0]["content"][0]["text"] == "야, 이거 어때?"
        reply = history[1]["content"][0]["text"] if history[1]["content"] else ""
        assert badges.startswith("🏷️ ") == bool(reply.strip())


def test_over_long_message_gets_a_clear_notice(web):
    from gradio_client.exceptions import AppError

    client, label, _, _ = web
    with pytest.raises(AppError, match="최대 200자|limit is 200"):
        client.predict("가" * 201, label, *_settings(), api_name="/chat")


def test_history_downloads_as_training_data(web, tmp_path):
    from insabot.finetune.sources import load_source

    client, *_ = web
    history = [
        {"role": "user", "content": [{"type": "text", "text": "성수 어디 가?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "어니언 가자 ㅋㅋ"}]},
    ]
    path = client.predict(history, "banmal", "", api_name="/export_history")
    (row,) = json.loads(Path(path).read_text(encoding="utf-8"))
    assert row["messages"] == [
        {"role": "system", "content": SYSTEM_PROMPTS["banmal"]},
        {"role": "user", "content": "성수 어디 가?"},
        {"role": "assistant", "content": "어니언 가자 ㅋㅋ"},
    ]
    (conversation,) = load_source(path).conversations
    assert conversation.tone == "banmal"
