import unicodedata

import pytest

from insabot.chat import (
    SYSTEM_PROMPTS,
    ChatInputError,
    build_conversation,
    message_text,
    normalize_history,
    system_prompt_for,
    validate_user_message,
)


def test_gradio_content_parts_are_flattened():
    history = [
        {
            "role": "user",
            "metadata": None,
            "content": [{"type": "text", "text": "성수 카페 추천"}],
            "options": None,
        },
        {"role": "assistant", "metadata": None, "content": [{"type": "text", "text": "연무장길 가봐"}]},
        {"role": "user", "content": "고마워"},
    ]
    assert normalize_history(history) == [
        {"role": "user", "content": "성수 카페 추천"},
        {"role": "assistant", "content": "연무장길 가봐"},
        {"role": "user", "content": "고마워"},
    ]
    assert message_text([{"type": "file", "path": "x.png"}, {"type": "text", "text": "ㅋㅋ"}]) == "ㅋㅋ"


def test_decomposed_hangul_is_composed():
    decomposed = unicodedata.normalize("NFD", "야, 이거 어때?")
    assert decomposed != "야, 이거 어때?"
    assert validate_user_message(decomposed, 100) == "야, 이거 어때?"
    assert normalize_history([{"role": "user", "content": decomposed}])[0]["content"] == "야, 이거 어때?"


def test_bad_messages_get_clear_errors():
    with pytest.raises(ChatInputError, match="empty"):
        validate_user_message("   ", 100)
    with pytest.raises(ChatInputError, match=r"has 101 characters; the limit is 100"):
        validate_user_message("가" * 101, 100)
    with pytest.raises(ChatInputError, match=r"lone surrogate U\+D83D"):
        validate_user_message("좋아\ud83d", 100)  # half of 😀, as a client that cut a string sends it
    assert validate_user_message("좋아\U0001f600", 100) == "좋아😀"  # a whole pair is one character


def test_tone_selects_the_persona_prompt():
    assert system_prompt_for("banmal") == SYSTEM_PROMPTS["banmal"]
    assert "존댓말" in system_prompt_for("jondaetmal")
    assert system_prompt_for("banmal", "  너는 부산 사투리 쓰는 친구야 ") == "너는 부산 사투리 쓰는 친구야"
    with pytest.raises(ChatInputError, match="unknown tone 'polite'"):
        system_prompt_for("polite")


def test_conversation_order(smol_tokenizer):
    conversation = build_conversation(
        "어때?", [{"role": "user", "content": "안녕"}, {"role": "assistant", "content": "ㅎㅇ"}], "SYS"
    )
    assert [m["role"] for m in conversation] == ["system", "user", "assistant", "user"]
    prompt = smol_tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    assert prompt.startswith("<|im_start|>system\nSYS<|im_end|>")
    assert "SmolLM" not in prompt  # our persona replaces the template's default system prompt
    assert prompt.endswith("<|im_start|>assistant\n")
