"""The web chat (`insabot chat`): a thin Gradio adapter over the bot's pure functions.

Chat, arena and reply drafts all run through `respond` / `arena_respond` / `reply_drafts`, which know
nothing of Gradio; this module only turns widget values into `ChatSettings`, errors into notices, and
replies into widget updates. Generation runs in worker threads (Gradio's thread pool + the streamer
thread), so the page never waits on the model; a Stop cancels the event, which closes the reply generator
and that joins the generation thread.
"""

from __future__ import annotations

import dataclasses
import html
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from insabot.bot.arena import arena_respond
from insabot.bot.badges import reply_badges
from insabot.bot.drafts import reply_drafts
from insabot.bot.models import ModelPool
from insabot.bot.plans import TABLE_HEADERS, event_rows, plan_markdown, turn_plan, write_ics
from insabot.bot.respond import ChatSettings, respond
from insabot.chat import TONE_LABELS, ChatInputError, normalize_history, system_prompt_for
from insabot.config import Config, UiConfig
from insabot.errors import InsabotError
from insabot.models.loading import ModelLoadError
from insabot.plan import parse_now, plan_text

EXAMPLES = [
    "야, 이거 어때?",
    "성수에 갈만한 카페 추천 좀",
    "요즘 유행하는 밈 뭐야?",
    "주말에 정주행할 드라마 있어?",
    "팀플 조장 걸렸어 ㅠㅠ",
]
PLAN_EXAMPLE = "민지: 토요일에 성수 갈 사람?\n준호: 나 ㄱㄱ 근데 몇 시?\n민지: 2시쯤 어때\n서연: 낼 점심 1시 회의 잊지 마"
DRAFTS_EXAMPLE = "민지: 이번 주 토요일에 성수 갈 사람?\n준호: 나 ㄱㄱ 근데 몇 시?\n민지: 2시쯤 어때"

# Gradio's textbox submits on the Enter keypress without asking whether an IME is still composing. With a
# Korean IME, the Enter that commits the last syllable would then send the message early and leave that
# syllable behind as a second message. Swallow Enter key events that belong to a composition (capture
# phase, before Gradio's own listener); the next, real Enter sends the whole message once.
HEAD_SCRIPT = """
<script>
(() => {
  const composing = (event) => event.key === "Enter" && (event.isComposing || event.keyCode === 229);
  for (const type of ["keydown", "keypress"]) {
    document.addEventListener(type, (event) => {
      if (!composing(event)) return;
      event.stopImmediatePropagation();
      if (type === "keypress") event.preventDefault();  // the committing Enter adds no newline either
    }, true);
  }
  // On a phone the settings sidebar would cover the chat: start with it folded away.
  if (window.matchMedia("(max-width: 768px)").matches) {
    const fold = () => {
      const button = document.querySelector(".sidebar.open .toggle-button");
      if (button) button.click(); else setTimeout(fold, 100);
    };
    fold();  // Gradio adds this script after the page has loaded: poll until the sidebar exists
  }
})();
</script>
"""
CSS = """
.badges p { font-size: 0.85em; opacity: 0.85; margin: 0; }
footer { display: none !important; }
"""


def plain_text_chatbot(**kwargs: Any) -> gr.Chatbot:
    """A Chatbot that shows every message as typed: markup is visible text, never rendered or executed.

    The browser receives text with `&`, `<`, `>` escaped; what comes back is unescaped again, so the
    Python side (history, model input, downloads) only ever sees the raw text. The two methods are wrapped
    on the instance: subclassing a Gradio component would make it a custom component (its own frontend,
    and a generated .pyi written next to this file).
    """
    chatbot = gr.Chatbot(**kwargs)
    postprocess, preprocess = chatbot.postprocess, chatbot.preprocess

    def escaped_postprocess(value):
        data = postprocess(value)
        for message in data.root:
            for part in message.content:
                if part.type == "text":
                    part.text = html.escape(part.text, quote=False)
        return data

    def unescaped_preprocess(payload):
        messages = preprocess(payload)
        for message in messages:
            for part in message["content"]:
                if part.get("type") == "text":
                    part["text"] = _unescape(part["text"])
        return messages

    chatbot.postprocess, chatbot.preprocess = escaped_postprocess, unescaped_preprocess
    return chatbot


def _unescape(text: str) -> str:
    """The exact inverse of `html.escape(text, quote=False)` (html.unescape would also decode entities
    that the user typed)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class WebChat:
    """The handlers behind the widgets; one instance serves every browser session (state lives in widgets)."""

    def __init__(self, pool: ModelPool, config: Config):
        self.pool = pool
        self.config = config

    # --- settings ---------------------------------------------------------------------------------------

    def settings(
        self,
        tone: str,
        system_prompt: str,
        temperature: float,
        top_p: float,
        max_new_tokens: float,
        repetition_penalty: float,
        candidates: float = 1,
    ) -> ChatSettings:
        chat = dataclasses.replace(self.config.chat, tone=tone, system_prompt=system_prompt or None)
        generation = dataclasses.replace(
            self.config.generation,
            do_sample=temperature > 0,
            temperature=float(temperature) if temperature > 0 else self.config.generation.temperature,
            top_p=float(top_p),
            max_new_tokens=int(max_new_tokens),
            repetition_penalty=float(repetition_penalty),
            # greedy candidates would all be the same reply: reranking needs sampling
            candidates=int(candidates) if temperature > 0 else 1,
        )
        return ChatSettings(chat=chat, generation=generation)

    def validate_message(self, message: str) -> dict[str, Any]:
        limit = self.config.chat.max_message_chars
        too_long = len(message or "") > limit
        return gr.validate(not too_long, f"메시지가 너무 길어요: {len(message or '')}자 (최대 {limit}자)")

    # --- models -----------------------------------------------------------------------------------------

    def model(self, label: str):
        try:
            return self.pool.get(label)
        except (ModelLoadError, KeyError) as exc:
            raise gr.Error(f"모델을 불러올 수 없어요: {exc}") from exc

    def load_model(self, label: str, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008 (Gradio idiom)
        if not self.pool.is_loaded(label):
            progress(0, desc=f"{label} 불러오는 중…")
        started = time.perf_counter()
        loaded = self.model(label)
        seconds = time.perf_counter() - started
        return f"✅ **{html.escape(label)}** 준비됨 ({loaded.model.device}, {seconds:.1f}초)"

    # --- tabs -------------------------------------------------------------------------------------------

    def chat(
        self,
        message: str,
        history: list[dict],
        model_label: str,
        tone: str,
        system_prompt: str,
        temperature: float,
        top_p: float,
        max_new_tokens: float,
        repetition_penalty: float,
        candidates: float = 1,
    ) -> Iterator[tuple[str, str]]:
        loaded = self.model(model_label)
        reply = ""
        try:
            for reply in respond(
                message,
                history,
                self.settings(
                    tone, system_prompt, temperature, top_p, max_new_tokens, repetition_penalty, candidates
                ),
                loaded,
            ):
                yield reply, ""
        except ChatInputError as exc:
            raise gr.Error(f"보낼 수 없어요: {exc}") from exc
        yield reply, badges_markdown(reply)

    def arena(
        self,
        message: str,
        left_label: str,
        right_label: str,
        tone: str,
        system_prompt: str,
        temperature: float,
        top_p: float,
        max_new_tokens: float,
        repetition_penalty: float,
        candidates: float = 1,
    ) -> Iterator[tuple[list[dict], list[dict], str, str]]:
        left, right = self.model(left_label), self.model(right_label)
        user = {"role": "user", "content": message}
        left_reply = right_reply = ""
        try:
            for left_reply, right_reply in arena_respond(
                message,
                self.settings(
                    tone, system_prompt, temperature, top_p, max_new_tokens, repetition_penalty, candidates
                ),
                left,
                right,
            ):
                yield (
                    [user, {"role": "assistant", "content": left_reply}],
                    [user, {"role": "assistant", "content": right_reply}],
                    "",
                    "",
                )
        except ChatInputError as exc:
            raise gr.Error(f"보낼 수 없어요: {exc}") from exc
        yield (
            [user, {"role": "assistant", "content": left_reply}],
            [user, {"role": "assistant", "content": right_reply}],
            badges_markdown(left_reply),
            badges_markdown(right_reply),
        )

    def drafts(
        self,
        snippet: str,
        model_label: str,
        tone: str,
        system_prompt: str,
        temperature: float,
        top_p: float,
        max_new_tokens: float,
        repetition_penalty: float,
    ) -> tuple[str, str, str]:
        try:
            first, second, third = reply_drafts(
                snippet,
                self.settings(tone, system_prompt, temperature, top_p, max_new_tokens, repetition_penalty),
                self.model(model_label),
            )
        except ChatInputError as exc:
            raise gr.Error(f"답장을 만들 수 없어요: {exc}") from exc
        return first, second, third

    def plan(
        self, text: str, upload: str | None, now: str = ""
    ) -> tuple[list[list[Any]], dict[str, Any], str]:
        """일정 tab: pasted messages or an uploaded export (the upload wins) -> the events table, the .ics
        download (hidden when there is no event) and a summary line."""
        source = "붙여넣은 대화"
        if upload:
            source = Path(upload).name
            try:
                text = Path(upload).read_bytes().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise gr.Error(f"{source}: UTF-8 텍스트가 아니에요 ({exc.reason})") from None
        if not (text or "").strip():
            raise gr.Error("메시지를 붙여넣거나 카톡 내보내기 파일을 올려 주세요")
        try:
            result = plan_text(text, parse_now(now or None, "기준 시각"), source)
        except InsabotError as exc:
            raise gr.Error(str(exc)) from None
        rows = event_rows(result)
        if not result.events:
            return rows, gr.update(value=None, visible=False), "일정으로 만들 약속을 찾지 못했어요."
        download = gr.update(value=write_ics(result.events), visible=True)
        return (
            rows,
            download,
            f"일정 {len(result.events)}개를 찾았어요. .ics 파일을 캘린더 앱에서 가져오세요.",
        )

    def chat_plan(self, history: list[dict]) -> tuple[str, dict[str, Any]]:
        """After a reply: the event the user's message settled and its .ics, or nothing."""
        event = turn_plan(history)
        if event is None:
            return "", gr.update(value=None, visible=False)
        return plan_markdown(event), gr.update(value=write_ics([event]), visible=True)

    def export_history(self, history: list[dict], tone: str, system_prompt: str) -> str:
        """The conversation as a JSON dataset of one row (messages format, with its tone so a 존댓말 chat
        is counted as one): `insabot train` and `insabot data check` read it as is."""
        messages = [{"role": "system", "content": system_prompt_for(tone, system_prompt)}]
        messages += normalize_history(history)
        folder = Path(tempfile.mkdtemp(prefix="insabot-chat-"))
        path = folder / f"insabot-chat-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(
            json.dumps([{"tone": tone, "messages": messages}], ensure_ascii=False, indent=2) + "\n",
            encoding="utf-8",
        )
        return str(path)


def badges_markdown(reply: str) -> str:
    badges = reply_badges(reply)
    return "🏷️ " + " · ".join(html.escape(badge) for badge in badges) if badges else ""


def build_app(web: WebChat) -> gr.Blocks:
    config = web.config
    labels = web.pool.labels
    default_label = labels[0]
    plain_label = next((label for label in labels if label.endswith("(기본 모델)")), default_label)
    gen = config.generation

    with gr.Blocks(title="인싸봇", fill_height=True, analytics_enabled=False) as app:
        with gr.Sidebar(open=True):
            gr.Markdown("## 인싸봇 설정")
            model = gr.Dropdown(labels, value=default_label, label="모델 (베이스 + 어댑터)")
            model_status = gr.Markdown()
            tone = gr.Radio(
                [(label, key) for key, label in TONE_LABELS.items()], value=config.chat.tone, label="말투"
            )
            system_prompt = gr.Textbox(
                system_prompt_for(config.chat.tone, config.chat.system_prompt),
                label="시스템 프롬프트 (학습 때 쓴 문장; 고쳐도 돼요)",
                lines=3,
            )
            with gr.Accordion("샘플링", open=False):
                temperature = gr.Slider(
                    0,
                    1.5,
                    gen.temperature if gen.do_sample else 0,
                    step=0.05,
                    label="temperature (0 = greedy)",
                )
                top_p = gr.Slider(0.1, 1.0, gen.top_p, step=0.05, label="top-p")
                max_new_tokens = gr.Slider(16, 1024, gen.max_new_tokens, step=8, label="최대 새 토큰")
                repetition_penalty = gr.Slider(
                    1.0, 1.5, gen.repetition_penalty, step=0.01, label="반복 페널티"
                )
                candidates = gr.Slider(
                    1,
                    8,
                    gen.candidates,
                    step=1,
                    label="후보 수 (2 이상: 답장 후보를 여럿 뽑아 가장 나은 것을 한 번에 보여 줘요; 스트리밍 없음, 그만큼 느려요)",
                )
            download = gr.DownloadButton("대화 JSON 내려받기", variant="secondary")
        sampling = [tone, system_prompt, temperature, top_p, max_new_tokens, repetition_penalty]

        gr.Markdown(
            "# 인싸봇 🫶 \n카톡 친구처럼 반말/존댓말로 답하는 한국어 챗봇. 답장 밑 배지는 평가 도구가 매긴 말투·한글 비율·슬랭이에요."
        )
        with gr.Tab("채팅"):
            badges = gr.Markdown(elem_classes="badges", render=False)
            chat = gr.ChatInterface(
                web.chat,
                chatbot=plain_text_chatbot(height="60vh", label="인싸봇"),
                textbox=gr.Textbox(
                    elem_id="message",
                    placeholder="메시지를 입력하세요 (Enter 보내기, Shift+Enter 줄바꿈)",
                    lines=1,
                    max_lines=6,
                ),
                additional_inputs=[model, *sampling, candidates],
                additional_outputs=[badges],
                examples=[[example] for example in EXAMPLES],
                editable=True,
                api_name="chat",
                validator=web.validate_message,
                fill_height=True,
                analytics_enabled=False,
            )
            badges.render()
            chat_plan = gr.Markdown(elem_id="chat-plan")
            chat_plan_file = gr.DownloadButton("📅 캘린더에 추가 (.ics)", visible=False, variant="secondary")
        with gr.Tab("아레나"):
            gr.Markdown(
                "같은 메시지에 두 모델이 동시에 답해요. 기본 모델과 파인튜닝한 모델을 나란히 비교해 보세요."
            )
            with gr.Row():
                with gr.Column():
                    left_model = gr.Dropdown(labels, value=plain_label, label="왼쪽 모델")
                    left_chat = plain_text_chatbot(height=320, label="왼쪽")
                    left_badges = gr.Markdown(elem_classes="badges")
                with gr.Column():
                    right_model = gr.Dropdown(labels, value=default_label, label="오른쪽 모델")
                    right_chat = plain_text_chatbot(height=320, label="오른쪽")
                    right_badges = gr.Markdown(elem_classes="badges")
            with gr.Row():
                arena_message = gr.Textbox(
                    EXAMPLES[0], show_label=False, scale=5, placeholder="둘에게 같은 질문하기"
                )
                arena_go = gr.Button("둘 다 물어보기", variant="primary", scale=1)
                arena_stop = gr.Button("멈추기", variant="stop", scale=1)
        with gr.Tab("답장 추천"):
            gr.Markdown(
                "단톡방 대화를 붙여넣으면 (카톡 내보내기 줄도 돼요) 보낼 만한 답장 세 개를 골라 줘요."
            )
            snippet = gr.Textbox(DRAFTS_EXAMPLE, lines=6, label="단톡방 대화")
            drafts_go = gr.Button("답장 추천 받기", variant="primary")
            drafts = [gr.Textbox(label=f"추천 {n}", buttons=["copy"], interactive=False) for n in (1, 2, 3)]
        with gr.Tab("일정"):
            gr.Markdown(
                "약속 잡은 대화를 붙여넣거나 카톡 내보내기(.txt)를 올리면 일정 표와 캘린더 파일(.ics)을 만들어요. "
                "내보내기는 메시지마다 보낸 시각을 기준으로 '내일', '토요일'을 풀어요."
            )
            plan_text_box = gr.Textbox(PLAN_EXAMPLE, lines=6, label="대화", elem_id="plan-text")
            with gr.Row():
                plan_upload = gr.File(label="카톡 내보내기 (.txt)", file_types=[".txt"], type="filepath")
                plan_now = gr.Textbox(
                    "", label="기준 시각 (붙여넣은 줄; 비우면 지금, 예: 2026-12-09T12:00)", elem_id="plan-now"
                )
            plan_go = gr.Button("일정 찾기", variant="primary", elem_id="plan-go")
            plan_summary = gr.Markdown()
            plan_table = gr.Dataframe(
                headers=TABLE_HEADERS, interactive=False, wrap=True, label="일정", elem_id="plan-table"
            )
            plan_download = gr.DownloadButton(".ics 내려받기", visible=False, elem_id="plan-download")

        model.change(web.load_model, model, model_status, api_name="load_model")
        app.load(web.load_model, model, model_status, api_visibility="private")
        tone.change(system_prompt_for, tone, system_prompt, api_name="set_tone")
        download.click(
            web.export_history, [chat.chatbot, tone, system_prompt], download, api_name="export_history"
        )
        arena_args = dict(
            fn=web.arena,
            inputs=[arena_message, left_model, right_model, *sampling, candidates],
            outputs=[left_chat, right_chat, left_badges, right_badges],
            api_name="arena",
        )
        arena_event = arena_go.click(**arena_args)
        submit_event = arena_message.submit(**{**arena_args, "api_visibility": "private"})
        arena_stop.click(None, cancels=[arena_event, submit_event])
        drafts_go.click(web.drafts, [snippet, model, *sampling], drafts, api_name="drafts")
        plan_go.click(
            web.plan,
            [plan_text_box, plan_upload, plan_now],
            [plan_table, plan_download, plan_summary],
            api_name="plan",
        )
        # The chat's state is set once a turn has ended (sent, retried, undone, edited): the reply is complete.
        chat.chatbot_state.change(
            web.chat_plan, chat.chatbot_state, [chat_plan, chat_plan_file], api_visibility="private"
        )
    return app


def launch(
    app: gr.Blocks,
    ui: UiConfig,
    *,
    auth: tuple[str, str] | None = None,
    share: bool = False,
    prevent_thread_lock: bool = False,
) -> None:
    app.queue(default_concurrency_limit=ui.concurrency_limit, max_size=ui.max_queue)
    app.launch(
        server_name=ui.host,
        server_port=ui.port,
        auth=auth,
        share=share,
        prevent_thread_lock=prevent_thread_lock,
        head=HEAD_SCRIPT,
        css=CSS,
        show_error=True,
        quiet=prevent_thread_lock,
    )
