"""답장 추천: three short reply drafts for a group-chat snippet, in the chosen tone.

The snippet is what a user pastes: KakaoTalk export lines (PC or mobile layout, parsed by the same importer
that turns exports into training data) or plain `이름: 메시지` lines. The model sees it as one user turn
under the persona prompt it was trained with, and three replies are sampled in one batch.
"""

from __future__ import annotations

import dataclasses
import re

from insabot.bot.respond import ChatSettings
from insabot.chat import ChatInputError, nfc, validate_user_message
from insabot.generation import generate_batch
from insabot.kakao_export import KakaoFormatError, parse_export_lines
from insabot.models.loading import LoadedModel

DRAFT_COUNT = 3
DRAFT_MAX_NEW_TOKENS = 64
_PLAIN_LINE = re.compile(r"^(?P<sender>[^:：]{1,20}?)\s*[:：]\s*(?P<text>.+)$")


def parse_group_chat(snippet: str) -> list[tuple[str, str]]:
    """(sender, text) pairs; sender is "" for a line that names nobody."""
    lines = nfc(snippet).splitlines()
    try:
        messages = parse_export_lines(lines, "붙여넣은 대화")
    except KakaoFormatError:
        messages = []
    if messages:
        return [(m.sender, m.text) for m in messages]
    pairs = []
    for line in (line.strip() for line in lines):
        if not line:
            continue
        match = _PLAIN_LINE.match(line)
        pairs.append((match["sender"].strip(), match["text"].strip()) if match else ("", line))
    return pairs


def drafts_request(pairs: list[tuple[str, str]]) -> str:
    """The user turn the model answers: the snippet, then the ask."""
    transcript = "\n".join(f"{sender}: {text}" if sender else text for sender, text in pairs)
    return f"단톡방 대화야.\n{transcript}\n여기에 내가 보낼 답장 한 줄만 써줘."


def reply_drafts(snippet: str, settings: ChatSettings, loaded: LoadedModel) -> list[str]:
    """Three one-line drafts (sampled, so they differ), in the tone of `settings`."""
    validate_user_message(snippet, settings.chat.max_message_chars)
    pairs = parse_group_chat(snippet)
    if not pairs:
        raise ChatInputError("the snippet has no messages")
    conversation = [
        {"role": "system", "content": settings.system_prompt},
        {"role": "user", "content": drafts_request(pairs)},
    ]
    # one candidate: reranking seeds candidates by their index alone, so three copies of the conversation would
    # get the same reranked draft three times
    gen = dataclasses.replace(
        settings.generation,
        do_sample=True,
        candidates=1,
        max_new_tokens=min(settings.generation.max_new_tokens, DRAFT_MAX_NEW_TOKENS),
    )
    replies = generate_batch(loaded.model, loaded.tokenizer, [conversation] * DRAFT_COUNT, gen)
    return [_first_line(reply.text) for reply in replies]


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
