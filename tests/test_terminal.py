import io

import insabot.bot.terminal as terminal
from insabot.bot.respond import ChatSettings
from insabot.config import GenerationConfig


def scripted(lines):
    feed = iter(lines)

    def read(prompt):
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    return read


def test_terminal_chat_streams_and_keeps_history(tiny_loaded):
    out = io.StringIO()
    settings = ChatSettings(generation=GenerationConfig(max_new_tokens=5, do_sample=False))
    history = terminal.run_terminal_chat(
        tiny_loaded, settings, scripted(["안녕", "/tone jondaetmal", "뭐해"]), out
    )
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    assert settings.chat.tone == "jondaetmal"
    assert "이제 존댓말로 답할게" in out.getvalue()


def test_ctrl_c_stops_the_reply_not_the_program(tiny_loaded, monkeypatch):
    def interrupted(message, history, settings, loaded, stop_event):
        yield "반쯤 쓴"
        raise KeyboardInterrupt

    monkeypatch.setattr(terminal, "respond", interrupted)
    out = io.StringIO()
    history = terminal.run_terminal_chat(tiny_loaded, ChatSettings(), scripted(["하나", "/reset", "둘"]), out)
    text = out.getvalue()
    assert text.count("[멈춤]") == 2  # both replies were interrupted and the loop went on
    assert history == [{"role": "user", "content": "둘"}, {"role": "assistant", "content": "반쯤 쓴"}]
