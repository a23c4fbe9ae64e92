"""Remote-backend pieces that need no server: settings, family guesses, FIM parts."""

from cursor import context_at
from fake_engine import QWEN, count_tokens

from codels.config import read_settings
from codels.engines.remote import estimate_tokens, guess_family
from codels.models.catalogue import load_catalogue
from codels.pipeline.fim import fim_parts
from codels.pipeline.prompt import PromptBudget, TokenCounter, build_prompt


def test_backend_settings_are_read_and_checked():
    settings, problems = read_settings(
        {"backend": "llama-server", "endpoint": "http://gpu:8080", "apiKeyEnv": "TEAM_KEY"}
    )
    assert problems == []
    options = settings.engine_options()
    assert (options.backend, options.endpoint, options.api_key_env) == (
        "llama-server",
        "http://gpu:8080",
        "TEAM_KEY",
    )
    kept, problems = read_settings({"backend": "vllm"}, settings)
    assert kept.backend == "llama-server"
    assert problems == [
        "setting codels.backend should be one of local, llama-server, openai, got 'vllm'; "
        "keeping 'llama-server'"
    ]


def test_the_family_is_guessed_from_the_served_model_name():
    catalogue = load_catalogue()
    assert guess_family("/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", catalogue).name == (
        "qwen2.5-coder"
    )
    assert guess_family("deepseek-ai/deepseek-coder-6.7b-base", catalogue).name == "deepseek-coder"
    assert guess_family("bigcode/starcoder2-15b", catalogue).name == "starcoder"
    assert guess_family("my-finetune", catalogue) is None


def test_fim_parts_put_the_cursor_line_last():
    context = context_at("import os\n\ndef f(x):\n    y = x + 1\n    return y█\n\nprint(f(1))\n")
    prompt = build_prompt(context, QWEN, TokenCounter(count_tokens), PromptBudget())
    parts = fim_parts(prompt, "file:///w/mod.py")
    assert parts.volatile == "    return y"
    assert parts.prefix.endswith("    y = x + 1\n")
    assert parts.suffix.startswith("\n\nprint(f(1))")
    assert parts.prefix + parts.volatile == prompt.prefix


def test_token_estimates_err_on_the_high_side():
    assert estimate_tokens("def f(x):\n    return x\n") >= 6


def test_instructions_go_to_the_chat_endpoint_of_openai_servers():
    from codels.engines.base import GenerationRequest
    from codels.engines.remote_http import event_piece
    from codels.engines.remote_llama_server import LlamaServerEngine
    from codels.engines.remote_openai import OpenAIEngine

    engine = OpenAIEngine()
    engine._remote_model = "coder"
    request = GenerationRequest(prompt="<templated>", max_tokens=7, chat=("sys", "write f"))
    path, body = engine._request_body(request)
    assert path == "/v1/chat/completions"
    assert body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "write f"},
    ]
    assert body["model"] == "coder" and body["max_tokens"] == 7 and "prompt" not in body
    assert event_piece({"choices": [{"delta": {"content": "def"}}]}) == "def"
    path, body = engine._request_body(GenerationRequest(prompt="p", max_tokens=3))
    assert path == "/v1/completions" and body["prompt"] == "p"
    engine = LlamaServerEngine()
    path, body = engine._request_body(request)
    assert path == "/completion" and body["prompt"] == "<templated>"


def test_a_sampled_request_sends_its_seed_and_lets_llama_server_choose_tokens():
    from codels.engines.base import GenerationRequest
    from codels.engines.remote_llama_server import LlamaServerEngine
    from codels.engines.remote_openai import OpenAIEngine

    greedy = GenerationRequest(prompt="p", max_tokens=3)
    sampled = GenerationRequest(prompt="p", max_tokens=3, temperature=0.7, seed=42)
    _, body = LlamaServerEngine()._request_body(greedy)
    assert body["top_k"] == 1 and "seed" not in body
    _, body = LlamaServerEngine()._request_body(sampled)
    assert body["top_k"] > 1 and body["seed"] == 42 and body["temperature"] == 0.7
    engine = OpenAIEngine()
    engine._remote_model = "coder"
    _, body = engine._request_body(sampled)
    assert body["seed"] == 42 and body["temperature"] == 0.7
