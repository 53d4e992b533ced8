"""The README's serving examples run as written, against `insabot serve` on the tiny model, so they cannot rot.

Every fenced block that talks to http://127.0.0.1:8000 is run (bash with bash, python with python), with the
address pointed at the test server.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
DOCS = README.parent / "docs"
SERVER = "127.0.0.1:8000"


def readme_blocks(address: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block in the README that mentions `address`."""
    blocks = re.findall(r"```(\w+)\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return [(language, code) for language, code in blocks if address in code]


def test_the_readme_has_the_serving_examples():
    languages = [language for language, _ in readme_blocks(SERVER)]
    assert languages.count("bash") >= 2 and "python" in languages


@pytest.fixture(scope="module")
def server(tiny_backend_for, running):
    from insabot.bot.server import Settings, create_app
    from insabot.config import Config

    with running(create_app(tiny_backend_for(), Settings(Config()))) as url:
        yield url.removeprefix("http://")


@pytest.mark.parametrize("index", range(len(readme_blocks(SERVER))))
def test_readme_serving_example_runs(server, index):
    language, code = readme_blocks(SERVER)[index]
    code = code.replace(SERVER, server)
    command = ["bash", "-euo", "pipefail", "-c", code] if language == "bash" else [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    if language == "bash":  # the curl examples print the server's JSON answer
        answer = json.loads(result.stdout)
        assert answer.get("object") in ("chat.completion", "plan") or answer.get("version") == "2.0", answer


# --- every other command in the README: parsed by the real CLI, its configs and overrides loaded -----------


def readme_commands(program: str) -> list[str]:
    """Command lines that start with `program` in fenced blocks and inline code of the README and the docs it
    links (docs/*.md), continuations joined. Synopsis lines (with [optional] parts or | alternatives) are usage,
    not commands, and are skipped."""
    text = "\n".join(page.read_text(encoding="utf-8") for page in [README, *sorted(DOCS.glob("*.md"))])
    lines = []
    for block in re.findall(r"```(?:bash|text)\n(.*?)```", text, flags=re.S):
        block = block.replace("\\\n", " ")
        lines += [line.removeprefix("$ ").split(" #")[0].strip() for line in block.splitlines()]
    lines += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    commands = [line.split(" | ")[-1].split(" > ")[0].strip() for line in lines]
    return sorted({c for c in commands if c.startswith(program + " ") and "[" not in c and " | " not in c})


def _placeholders(command: str) -> str:
    return re.sub(r"<[^>]+>|\$\w+", "x", command)


def test_the_readme_commands_were_found():
    assert len(readme_commands("insabot")) >= 15
    assert {"make demo", "make test"} <= set(readme_commands("make"))


@pytest.mark.parametrize("command", readme_commands("insabot"))
def test_readme_insabot_command_parses_and_its_config_loads(command):
    import shlex

    from insabot.cli import build_parser
    from insabot.config import ConfigError, load_config

    words = shlex.split(_placeholders(command))[1:]
    args = build_parser().parse_args(words)  # an unknown flag or command exits with a usage error
    config_file = getattr(args, "config", None) or getattr(args, "file", None)
    if config_file and config_file.startswith("x"):  # a placeholder (`<my-gate>.yaml`): the reader's own file
        return
    if config_file:
        assert (README.parent / config_file).is_file(), f"{command}: {config_file} does not exist"
    overrides = getattr(args, "overrides", [])
    if "chat.tonee=x" in overrides:  # the README's example of a config typo and its error message
        with pytest.raises(ConfigError, match="did you mean"):
            load_config(README.parent / config_file, overrides)
        return
    if config_file or overrides:
        load_config(README.parent / config_file if config_file else None, overrides)


@pytest.mark.parametrize("target", [c.split()[1] for c in readme_commands("make")])
def test_readme_make_targets_exist(target):
    assert re.search(rf"^{target}:", (README.parent / "Makefile").read_text(), flags=re.M)


@pytest.mark.parametrize("command", readme_commands("python"))
def test_readme_python_scripts_answer_help(command):
    words = command.split()[1:]
    target = words[:2] if words[0] == "-m" else words[:1]
    result = subprocess.run(
        [sys.executable, *target, "--help"], capture_output=True, text=True, cwd=README.parent
    )
    assert result.returncode == 0, result.stderr
