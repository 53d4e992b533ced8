"""`insabot generate`: replies for a file of prompts, through the chat's formatting and generation code."""

from __future__ import annotations

import time
from dataclasses import dataclass

from insabot.chat import (
    ChatInputError,
    Message,
    build_conversation,
    canonical_tone,
    check_length,
    normalize_history,
    system_prompt_for,
    unknown_tone_message,
    validate_user_message,
)
from insabot.config import Config
from insabot.generation import generate_batch
from insabot.models.loading import LoadedModel
from insabot.textio import InputError, detect_format, display_name, read_jsonl, read_lines


@dataclass(frozen=True)
class Prompt:
    line: int
    history: list[dict[str, str]]
    message: str
    tone: str
    row_id: str | None = None


def read_prompts(path: str, default_tone: str) -> list[Prompt]:
    """Plain text (one user message per line) or JSONL rows with `prompt` (or `text`, as in the real-style
    message set) or `messages`, and optional `tone` (any name of `insabot.chat.TONE_ALIASES`) and `id`."""
    if detect_format(path, "auto") == "jsonl":
        prompts = [_prompt(number, row, display_name(path), default_tone) for number, row in read_jsonl(path)]
    else:
        prompts = [
            Prompt(number, [], text.strip(), default_tone)
            for number, text in read_lines(path)
            if text.strip()
        ]
    if not prompts:
        raise InputError(f"{display_name(path)}: no prompts (the file is empty)")
    return prompts


def _prompt(number: int, row: dict, name: str, default_tone: str) -> Prompt:
    where = f"{name}:{number}"
    tone = canonical_tone(row.get("tone", default_tone))
    if tone is None:
        raise InputError(f"{where}: {unknown_tone_message(row['tone'])}")
    row_id = str(row["id"]) if "id" in row else None
    text = row.get("prompt", row.get("text"))
    if isinstance(text, str) and text.strip():
        return Prompt(number, [], text.strip(), tone, row_id)
    messages = normalize_history(row.get("messages") or [])
    if messages and messages[-1]["role"] == "user":
        return Prompt(number, messages[:-1], messages[-1]["content"], tone, row_id)
    raise InputError(
        f"{where}: needs a non-empty 'prompt' (or 'text') or a 'messages' list ending with a user turn"
    )


def conversations_for(prompts: list[Prompt], path: str, config: Config) -> list[list[Message]]:
    """Each prompt as the chat builds it (system prompt, history, message), every message within
    chat.max_message_chars: an over-long one is refused here, naming file:line, before any model loads."""
    name = display_name(path)
    conversations = []
    for prompt in prompts:
        try:
            message = validate_user_message(prompt.message, config.chat.max_message_chars)
            for turn in prompt.history:
                check_length(turn["content"], config.chat.max_message_chars)
        except ChatInputError as exc:
            raise InputError(f"{name}:{prompt.line}: {exc}") from None
        system = system_prompt_for(prompt.tone, config.chat.system_prompt)
        conversations.append(build_conversation(message, prompt.history, system))
    return conversations


def generate_rows(
    prompts: list[Prompt],
    conversations: list[list[Message]],
    loaded: LoadedModel,
    config: Config,
    batch_size: int,
    analyze: bool,
    progress: bool = True,
) -> tuple[list[dict], dict]:
    """Output rows in input order, and throughput figures. `conversations` are the prompts' own, from
    `conversations_for`."""
    from tqdm.auto import tqdm

    rows: list[dict] = []
    started = time.perf_counter()
    with tqdm(total=len(prompts), desc="generate", unit="prompt", disable=not progress) as bar:
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            batch_conversations = conversations[start : start + batch_size]
            replies = generate_batch(loaded.model, loaded.tokenizer, batch_conversations, config.generation)
            for prompt, conversation, reply in zip(batch, batch_conversations, replies, strict=True):
                row = {
                    "line": prompt.line,
                    **({"id": prompt.row_id} if prompt.row_id else {}),
                    "prompt": prompt.message,
                    "tone": prompt.tone,
                    "system": conversation[0]["content"],
                    "reply": reply.text,
                    "new_tokens": reply.new_tokens,
                    "finish_reason": reply.finish_reason,
                    "source": reply.source,
                }
                rows.append(row)
            bar.update(len(batch))
    if analyze:
        from insabot.korean.analyze import analyze as run_analysis

        for row, analysis in zip(rows, run_analysis(r["reply"] for r in rows), strict=True):
            row.update({k: v for k, v in analysis.as_dict().items() if k != "text"})
    seconds = time.perf_counter() - started
    tokens = sum(r["new_tokens"] for r in rows)
    return rows, {
        "texts": len(rows),
        "seconds": round(seconds, 2),
        "texts_per_s": round(len(rows) / seconds, 3),
        "tokens_per_s": round(tokens / seconds, 2),
    }
