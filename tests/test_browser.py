"""The web chat in a real headless Chromium (Debian's, driven by Playwright): typing Korean, the IME Enter,
HTML shown as text, a phone-width screen. Screenshots go to runs/artifacts/ (CI keeps them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("INSABOT_ARTIFACTS", Path(__file__).parents[1] / "runs" / "artifacts"))


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
        pytest.skip("no Chromium here (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, web_app):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    page = context.new_page()
    page.goto(web_app.url)
    page.locator("#message textarea").wait_for()
    yield page
    context.close()


def _user_messages(page) -> list[str]:
    return page.locator("[data-testid=user]").all_inner_texts()


def _bot_messages(page) -> list[str]:
    return page.locator("[data-testid=bot]").all_inner_texts()


def _wait_for_reply(page) -> str:
    page.locator("[data-testid=bot]").last.wait_for()
    page.locator(".badges p").filter(has_text="🏷️").wait_for(timeout=60_000)  # badges come when it ends
    return _bot_messages(page)[-1]


def test_typed_korean_message_gets_a_streamed_reply(page):
    box = page.locator("#message textarea")
    box.click()
    page.keyboard.type("야, 이거 어때?")
    page.keyboard.press("Enter")
    reply = _wait_for_reply(page)
    assert _user_messages(page) == ["야, 이거 어때?"]
    assert reply.strip()
    assert box.input_value() == ""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-desktop.png"), full_page=True)


def test_ime_enter_that_commits_a_syllable_does_not_send(page):
    """A Korean IME delivers the Enter that commits "요" as a key event with isComposing=true. It must
    not send the message early (Gradio alone would, and "요" would stay behind); the next Enter sends the
    whole message once."""
    box = page.locator("#message textarea")
    box.click()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.insertText", {"text": "야, 이거 어때"})
    cdp.send("Input.imeSetComposition", {"text": "요", "selectionStart": 1, "selectionEnd": 1})
    enter = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13}
    cdp.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": "\r", **enter})
    cdp.send("Input.insertText", {"text": "요"})  # the IME commits the syllable
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", **enter})
    page.wait_for_timeout(500)
    assert _user_messages(page) == [], "the composing Enter sent the message"
    assert box.input_value() == "야, 이거 어때요"

    page.keyboard.press("Enter")
    _wait_for_reply(page)
    assert _user_messages(page) == ["야, 이거 어때요"]
    assert box.input_value() == ""


def test_html_typed_into_the_chat_is_shown_as_text(page):
    message = '<img src=x onerror="window.pwned=1"><b>굵게</b> <script>window.pwned=2</script>'
    page.locator("#message textarea").fill(message)
    page.keyboard.press("Enter")
    _wait_for_reply(page)
    assert _user_messages(page) == [message]
    assert page.evaluate("window.pwned") is None
    assert page.locator("[data-testid=user] b").count() == 0


def test_phone_width_keeps_the_chat_usable(browser, web_app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(web_app.url)
    box = page.locator("#message textarea")
    box.wait_for()
    bounds = box.bounding_box()
    assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 390
    box.click()  # fails if the settings sidebar covers the chat
    page.keyboard.type("성수에 갈만한 카페 추천 좀")
    page.keyboard.press("Enter")
    _wait_for_reply(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-phone.png"), full_page=True)
    context.close()


@pytest.mark.real_model
def test_the_demo_default_answers_in_korean(browser, tmp_path, unused_port):
    """`make demo`'s config (Gemma-3-270M + the shipped adapter), in the browser; its screenshot is the
    README's."""
    from insabot.bot.models import ModelPool, discover_choices
    from insabot.bot.ui import WebChat, build_app, launch
    from insabot.config import load_config
    from insabot.korean.locality import hangul_share

    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path)
    config = load_config(Path(__file__).parents[1] / "configs" / "chat" / "default.yaml")
    config.ui.port = unused_port
    config.generation.max_new_tokens = 60
    config.generation.seed = 0
    pool = ModelPool(config.model, discover_choices(config.model, config.ui.model_dirs))
    assert pool.labels[0] == "gemma3-270m + adapters/insabot-gemma3-ko"
    pool.get(
        pool.labels[0]
    )  # as `insabot chat` does: the load (a first conversion too) is not the reply's wait
    app = build_app(WebChat(pool, config))
    launch(app, config.ui, prevent_thread_lock=True)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="ko-KR")
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{config.ui.port}/")
        page.locator("#message textarea").click()
        page.keyboard.type("야, 이거 어때? 성수에 새로 생긴 카페 가볼래?")
        page.keyboard.press("Enter")
        reply = _wait_for_reply(page)
        assert hangul_share(reply) > 0.8, reply
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-default-model.png"))
        context.close()
    finally:
        app.close()


def test_the_plan_tab_turns_pasted_messages_into_a_table_and_an_ics(page):
    """The 일정 tab: paste two plan messages over the example, run it, read the events table, download the .ics."""
    page.get_by_role("tab", name="일정").click()
    box = page.locator("#plan-text textarea")
    box.wait_for()
    box.fill("")
    box.focus()
    # as a paste: the text arrives in one input event, no key presses
    page.keyboard.insert_text("토요일 저녁 6시에 합정역에서 보자\n낼 점심 ㄱㄱ 1시")
    page.locator("#plan-now textarea, #plan-now input").first.fill("2026-12-09T12:00")
    page.locator("#plan-go").click()

    page.get_by_text("일정 2개를 찾았어요").wait_for(timeout=30_000)
    table = page.locator("#plan-table")
    # the grid keeps hidden copies of its cells for measuring: only the shown ones (roles skip hidden ones)
    starts = table.get_by_role("gridcell").filter(has_text="+09:00").all_inner_texts()
    assert [start.strip() for start in starts] == ["2026-12-12T18:00:00+09:00", "2026-12-10T13:00:00+09:00"]
    assert "합정역" in table.inner_text()
    download_button = page.locator("#plan-download")
    assert download_button.is_visible()
    with page.expect_download() as download_info:
        download_button.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".ics")
    calendar = Path(download.path()).read_text(encoding="utf-8")
    assert calendar.startswith("BEGIN:VCALENDAR")
    assert "DTSTART;TZID=Asia/Seoul:20261212T180000" in calendar
    assert "DTSTART;TZID=Asia/Seoul:20261210T130000" in calendar
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "plan-tab.png"), full_page=True)
