import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from insabot.cli import main
from insabot.cpu import has_fast_bf16


def test_every_command_has_help():
    for argv in (
        ["--help"],
        ["chat", "--help"],
        ["model", "--help"],
        ["model", "prepare", "--help"],
        ["model", "info", "--help"],
        ["config", "show", "--help"],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0


# Commands that never generate must start without torch, transformers or httpx (~1.5 s of imports).
HEAVY_MODULES = ("torch", "transformers", "httpx")


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["--help"], ""),
        (["config", "show", "configs/chat/default.yaml"], ""),
        (["analyze"], "야, 이거 어때? 성수 가볼래?\n"),
        (["config", "show", "missing.yaml"], ""),  # the error path too: it catches InsabotError
    ],
)
def test_light_commands_import_no_torch(argv, stdin):
    code = (
        "import sys\n"
        "from insabot.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print([m for m in {HEAVY_MODULES!r} if m in sys.modules], file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True)
    assert run.stderr.strip().splitlines()[-1] == "[]", run.stderr


def test_config_show_prints_resolved_yaml(capsys):
    assert main(["config", "show", "configs/chat/default.yaml", "--set", "chat.tone=jondaetmal"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["chat"]["tone"] == "jondaetmal"
    assert (
        shown["model"]["base_model"] == "gemma3-270m"
    )  # the demo opens on the fine-tuned Korean-capable base
    assert shown["model"]["adapter"] == "adapters/insabot-gemma3-ko"
    assert shown["generation"]["seed"] is None  # defaults are filled in


def test_config_error_is_one_line_and_exit_2(capsys):
    assert main(["config", "show", "configs/chat/default.yaml", "--set", "chat.tonee=x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("insabot: error: ") and "'chat.tonee'" in err and err.count("\n") == 1


def test_model_info_on_a_local_directory(tiny_dir, tiny, capsys):
    assert main(["model", "info", str(tiny_dir), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["architecture"] == "LlamaForCausalLM"
    assert facts["source"] == "local"
    assert facts["parameters"] == sum(p.numel() for p in tiny[0].parameters())
    assert facts["dtype"] == ("bfloat16" if has_fast_bf16() else "float32")  # `dtype: auto` on this CPU
    assert facts["weights"] == "int8"  # `weights: auto` on a CPU
    assert facts["vocab_size"] == 49152
    assert facts["chat_template"] is True


def test_missing_model_path_is_a_clear_error(tmp_path, capsys):
    assert main(["model", "info", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.real_model
def test_model_info_of_the_default_and_of_a_bare_base(capsys):
    assert main(["model", "info"]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert (lines["name"], lines["adapter"]) == ("gemma3-270m", "adapters/insabot-gemma3-ko")
    assert lines["architecture"] == "Gemma3ForCausalLM"
    assert main(["model", "info", "smollm2-135m"]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert (lines["name"], lines["adapter"]) == ("smollm2-135m", "None")
    assert lines["architecture"] == "LlamaForCausalLM"
    assert lines["parameters"] == "134515008"
    assert Path(lines["path"]).name.startswith("smollm2-135m-0.1.2")


def test_chat_serves_the_web_ui_with_login_and_address_flags(capsys):
    from insabot.cli import build_parser

    args = build_parser().parse_args(["chat", "--host", "0.0.0.0", "--port", "8123", "--auth", "me:비밀"])
    assert (args.host, args.port, args.auth, args.share, args.terminal) == (
        "0.0.0.0",
        8123,
        ("me", "비밀"),
        False,
        False,
    )
    with pytest.raises(SystemExit):
        build_parser().parse_args(["chat", "--auth", "no-colon"])
    assert "expected USER:PASS" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["generate"], ["serve"], ["eval"], ["chat", "--terminal"], ["chat"]])
def test_every_command_without_a_config_runs_the_default_model(command):
    from insabot.cli import _resolve_config, build_parser

    def resolved(*flags):
        model = _resolve_config(build_parser().parse_args([*command, *flags])).model
        return model.base_model, model.adapter

    assert resolved() == ("gemma3-270m", "adapters/insabot-gemma3-ko")
    assert resolved("--model", "smollm2-135m") == ("smollm2-135m", None)  # the bare base, one flag away
    config = "configs/chat/default.yaml"
    assert resolved("--config", config, "--model", "smollm2-135m") == ("smollm2-135m", None)
    assert resolved("--model", "smollm2-135m", "--adapter", "adapters/insabot-smollm2-ko") == (
        "smollm2-135m",
        "adapters/insabot-smollm2-ko",
    )


@pytest.mark.real_model
def test_a_first_generate_answers_in_korean_banmal(tmp_path, monkeypatch):
    """A new user's first command, `echo "야 뭐해?" | insabot generate`, from outside the repository."""
    from insabot.korean.analyze import analyze
    from insabot.korean.locality import hangul_share

    monkeypatch.chdir(tmp_path)  # the shipped adapter is found from any working directory
    run = subprocess.run(
        [sys.executable, "-m", "insabot.cli", "generate", "--max-new-tokens", "40"],
        input="야 뭐해?\n",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    reply = json.loads(run.stdout.strip().splitlines()[-1])["reply"]
    assert hangul_share(reply) > 0.8, reply
    assert next(iter(analyze([reply]))).level == "banmal", reply
