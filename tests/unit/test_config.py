import dataclasses

from codels.config import Settings, camel_case, read_settings, snake_case
from codels.engines.base import EngineOptions
from codels.tools.cli import _parser, _settings_from


def test_defaults():
    settings, problems = read_settings(None)
    assert settings == Settings() and problems == []
    assert settings.prompt_tokens + settings.max_tokens <= settings.context_size


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
