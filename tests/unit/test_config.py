import dataclasses
from typing import Any, get_type_hints

from codels.config import (
    _CHOICES,
    _RANGES,
    COMMAND_LINE_OPTIONS,
    Settings,
    camel_case,
    changed_settings,
    read_settings,
    snake_case,
)
from codels.engines.base import BACKENDS, EngineOptions
from codels.tools.cli import _parser
from codels.tools.command_line import settings_from as _settings_from


def test_defaults():
    settings, problems = read_settings(None)
    assert settings == Settings() and problems == []
    assert settings.prompt_tokens + settings.max_tokens <= settings.context_size


def test_changed_settings_name_what_changed_for_the_log():
    old = Settings()
    new, _ = read_settings({"triggerMode": "manual", "speculate": True, "languages": ["go"]}, old)
    assert changed_settings(old, new) == ["speculate true", "triggerMode manual", "languages [go]"]
    assert changed_settings(new, new) == []


def test_camel_case_keys_bare_or_under_codels():
    raw = {"threads": 4, "contextSize": 8192, "maxTokens": 64, "gpuLayers": -1, "model": "m"}
    for wrapped in (raw, {"codels": raw}):
        settings, problems = read_settings(wrapped)
        assert problems == []
        assert (settings.threads, settings.context_size, settings.max_tokens) == (4, 8192, 64)
        assert settings.gpu_layers == -1 and settings.model == "m"


def test_wrong_types_keep_the_previous_value_and_name_the_key():
    base = Settings(threads=3)
    settings, problems = read_settings(
        {"threads": "4", "enabled": "false", "maxTokens": True}, base
    )
    assert settings == base
    assert len(problems) == 3
    assert any("codels.threads should be an integer" in p and "keeping 3" in p for p in problems)
    assert any("codels.enabled should be true or false" in p for p in problems)
    assert any("codels.maxTokens should be an integer" in p for p in problems)


def test_out_of_range_values_are_refused():
    settings, problems = read_settings({"contextSize": 10, "threads": -2})
    assert settings == Settings()
    assert "codels.contextSize should be between 512 and 131072" in problems[0]


def test_budget_that_does_not_fit_the_context_is_refused():
    settings, problems = read_settings({"promptTokens": 4000, "contextSize": 4096})
    assert settings == Settings()
    assert "exceed codels.contextSize" in problems[0]


def test_not_an_object_and_unknown_keys():
    settings, problems = read_settings(["threads"])
    assert settings == Settings() and "must be an object" in problems[0]
    settings, problems = read_settings({"colour": "blue", "enabled": False})
    assert problems == [] and settings.enabled is False


def test_names():
    assert camel_case("complete_in_strings") == "completeInStrings"
    assert snake_case("completeInStrings") == "complete_in_strings"
    settings, _ = read_settings({"complete_in_strings": True})
    assert settings.complete_in_strings


def test_engine_options_are_the_settings_of_the_same_names():
    defaults = Settings()
    assert defaults.engine_options() == EngineOptions()
    settings = Settings(
        model="m",
        threads=3,
        context_size=2048,
        gpu_layers=-1,
        backend="openai",
        endpoint="http://gpu-box:8080",
        api_key_env="KEY",
        remote_model="coder",
        remote_family="qwen",
        request_timeout_ms=500,
    )
    options = settings.engine_options()
    for field in dataclasses.fields(EngineOptions):
        assert getattr(options, field.name) == getattr(settings, field.name), field.name


def test_the_commands_model_options_set_the_settings_of_their_names():
    args = _parser().parse_args(
        [
            "complete",
            "a.py:1:1",
            "--model=m",
            "--threads=3",
            "--context-size=2048",
            "--max-tokens=64",
            "--gpu-layers=-1",
            "--backend=openai",
            "--endpoint=http://gpu-box:8080",
            "--api-key-env=KEY",
            "--remote-model=coder",
            "--remote-family=qwen",
        ]
    )
    assert _settings_from(args) == Settings(
        model="m",
        threads=3,
        context_size=2048,
        max_tokens=64,
        gpu_layers=-1,
        backend="openai",
        endpoint="http://gpu-box:8080",
        api_key_env="KEY",
        remote_model="coder",
        remote_family="qwen",
    )
    given = _parser().parse_args(
        ["eval", "--settings", '{"threads": 5, "maxTokens": 7}', "--threads=2"]
    )
    assert (_settings_from(given).threads, _settings_from(given).max_tokens) == (2, 7)
    assert _settings_from(_parser().parse_args(["info"])) == Settings()


def _other_value(name: str, default: Any) -> Any:
    """A valid value of setting ``name`` that is not its default."""
    if name in _CHOICES:
        return next(choice for choice in _CHOICES[name] if choice != default)
    if name in _RANGES:
        low, high = _RANGES[name]
        return high if default != high else low
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1
    return f"{default}x"


def test_every_engine_option_is_a_setting_read_from_its_key_and_passed_to_the_engine():
    # Settings extends EngineOptions: a field added there is a setting with no second line.
    hints = get_type_hints(Settings)
    engine_hints = get_type_hints(EngineOptions)
    defaults = Settings()
    for field in dataclasses.fields(EngineOptions):
        name = field.name
        assert hints[name] == engine_hints[name], name
        assert getattr(defaults, name) == field.default, name
        value = _other_value(name, field.default)
        room = {"contextSize": 131072} if name != "context_size" else {}
        settings, problems = read_settings({"codels": {camel_case(name): value, **room}})
        assert problems == [], name
        assert getattr(settings, name) == value, name
        assert getattr(settings.engine_options(), name) == value, name
    assert type(defaults.engine_options()) is EngineOptions


def test_engine_options_declare_their_ranges_choices_and_command_line_options():
    assert {name: _RANGES[name] for name in ("threads", "context_size", "gpu_layers")} == {
        "threads": (0, 256),
        "context_size": (512, 131072),
        "gpu_layers": (-1, 1000),
    }
    assert _RANGES["request_timeout_ms"] == (100, 600_000)
    assert _CHOICES["backend"] == BACKENDS
    for name in ("model", "threads", "context_size", "gpu_layers", "backend", "endpoint"):
        assert name in COMMAND_LINE_OPTIONS, name
    for name in ("api_key_env", "remote_model", "remote_family"):
        assert name in COMMAND_LINE_OPTIONS, name
    assert "request_timeout_ms" not in COMMAND_LINE_OPTIONS  # a setting, not an option


def test_the_settings_own_ranges_and_choices_are_as_declared():
    assert {
        name: _RANGES[name]
        for name in ("max_tokens", "prompt_tokens", "suffix_tokens", "time_budget_ms")
    } == {
        "max_tokens": (1, 4096),
        "prompt_tokens": (64, 131072),
        "suffix_tokens": (0, 8192),
        "time_budget_ms": (0, 600_000),
    }
    assert _RANGES["action_max_tokens"] == (16, 4096)
    assert _RANGES["debounce_ms"] == (0, 5000)
    assert _CHOICES["action_prompt"] == ("chat", "fim")
    assert _CHOICES["trigger_mode"] == ("automatic", "manual")
    assert set(_CHOICES) == {"backend", "action_prompt", "trigger_mode"}


def test_every_field_with_an_option_is_an_option_of_each_model_command():
    # An EngineOptions field declared with option="..." is on the command line with no second
    # declaration: each command that loads a model takes it and sets the setting.
    assert COMMAND_LINE_OPTIONS, "no command-line options found"
    defaults = Settings()
    hints = get_type_hints(Settings)
    for field in dataclasses.fields(Settings):
        if field.name not in COMMAND_LINE_OPTIONS:
            continue
        flag = "--" + field.name.replace("_", "-")
        value = _other_value(field.name, getattr(defaults, field.name))
        room = ["--context-size=131072"] if field.name != "context_size" else []
        assert hints[field.name] in (int, str), field.name
        for command in (["complete", "a.py:1:1"], ["generate", "a.py:1"], ["eval"], ["bench"]):
            args = _parser().parse_args([*command, f"{flag}={value}", *room])
            assert getattr(_settings_from(args), field.name) == value, (command, flag)
        info = _parser().parse_args(["info", f"{flag}={value}", *room])
        assert getattr(_settings_from(info), field.name) == value, flag
