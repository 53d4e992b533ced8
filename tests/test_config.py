from pathlib import Path

import pytest

from insabot.config import Config, ConfigError, ModelConfig, default_model, dump_config, load_config

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file():
    config = load_config()
    assert config == Config()
    assert (config.model.base_model, config.model.adapter) == ("gemma3-270m", "adapters/insabot-gemma3-ko")
    assert config.chat.tone == "banmal"


def test_file_values_and_int_to_float(tmp_path):
    config = load_config(
        write(tmp_path, "generation:\n  temperature: 1\n  max_new_tokens: 32\nchat:\n  tone: jondaetmal\n")
    )
    assert config.generation.temperature == 1.0 and isinstance(config.generation.temperature, float)
    assert config.generation.max_new_tokens == 32
    assert config.chat.tone == "jondaetmal"
    assert config.model == default_model()  # untouched sections keep defaults


def test_unknown_key_names_file_key_and_suggestion(tmp_path):
    path = write(tmp_path, "generation:\n  temprature: 0.3\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert "'generation.temprature'" in message
    assert "did you mean 'generation.temperature'" in message


def test_unknown_section(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'modle'.*did you mean 'model'"):
        load_config(write(tmp_path, "modle:\n  base_model: x\n"))


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("generation:\n  max_new_tokens: many\n", r"generation\.max_new_tokens: expected int, got str"),
        ("generation:\n  max_new_tokens: true\n", r"generation\.max_new_tokens: expected int, got bool"),
        ("generation:\n  do_sample: 'yes'\n", r"generation\.do_sample: expected bool"),
        ("chat:\n  tone: polite\n", r"chat\.tone: 'polite' is not one of 'banmal', 'jondaetmal'"),
        ("model: smollm2-135m\n", r"model: expected a mapping"),
        ("- a\n- b\n", r"top level must be a mapping"),
        ("model: [unclosed\n", r"not valid YAML"),
    ],
)
def test_type_errors_name_the_key(tmp_path, text, pattern):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=pattern) as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_overrides_are_typed_and_checked():
    config = load_config(
        None, ["generation.temperature=0.25", "model.adapter=runs/x", "generation.seed=null"]
    )
    assert config.generation.temperature == 0.25
    assert config.model.adapter == "runs/x"
    assert config.generation.seed is None
    with pytest.raises(ConfigError, match=r"--set generation\.topp=0\.5: unknown key 'generation\.topp'"):
        load_config(None, ["generation.topp=0.5"])
    with pytest.raises(ConfigError, match="expected section.key=value"):
        load_config(None, ["generation.temperature"])


def test_dump_round_trips(tmp_path):
    config = load_config(None, ["chat.tone=jondaetmal", "generation.max_new_tokens=7"])
    assert load_config(write(tmp_path, dump_config(config))) == config


def test_shipped_configs_load():
    files = sorted(
        [*(REPO / "configs" / "chat").glob("*.yaml"), *(REPO / "configs" / "train").glob("*.yaml")]
    )
    assert len(files) >= 5
    for path in files:
        load_config(path)


@pytest.mark.parametrize(
    ("text", "overrides", "expected"),
    [
        ("", [], ("gemma3-270m", "adapters/insabot-gemma3-ko")),
        ("model:\n  dtype: float32\n", [], ("gemma3-270m", "adapters/insabot-gemma3-ko")),
        ("model:\n  base_model: smollm2-135m\n", [], ("smollm2-135m", None)),
        ("", ["model.base_model=smollm2-135m"], ("smollm2-135m", None)),
        ("", ["model.adapter=runs/x"], ("gemma3-270m", "runs/x")),
        ("", ["model.adapter=null"], ("gemma3-270m", None)),
        (
            "model:\n  base_model: gemma3-270m\n  adapter: a\n",
            ["model.base_model=smollm2-135m"],
            ("smollm2-135m", "a"),
        ),
    ],
)
def test_naming_a_base_without_an_adapter_means_the_bare_base(tmp_path, text, overrides, expected):
    config = load_config(write(tmp_path, text) if text else None, overrides)
    assert (config.model.base_model, config.model.adapter) == expected
    assert ModelConfig(base_model="smollm2-135m").adapter is None  # code that names a base gets it bare too
