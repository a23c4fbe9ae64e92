"""Model families: golden prompt strings, recognition from GGUF facts, no leaking special tokens."""
# ruff: noqa: RUF001 (DeepSeek-Coder spells its special tokens with fullwidth bars)

import re

import pytest
from cursor import snapshot_at
from fake_engine import FakeEngine

from codels.completion.service import CompletionService
from codels.config import Settings
from codels.engines.base import EngineOptions
from codels.models.catalogue import load_catalogue
from codels.models.gguf import ModelFileFacts, choose_family

CATALOGUE = load_catalogue()
FAMILIES = CATALOGUE.families

GOLDEN_FIM = {
    "qwen2.5-coder": "<|fim_prefix|>def f(x):\n    <|fim_suffix|>\n\nf(1)<|fim_middle|>",
    "deepseek-coder": "<｜fim▁begin｜>def f(x):\n    <｜fim▁hole｜>\n\nf(1)<｜fim▁end｜>",
    "starcoder": "<fim_prefix>def f(x):\n    <fim_suffix>\n\nf(1)<fim_middle>",
    "codellama": "<PRE> def f(x):\n     <SUF>\n\nf(1) <MID>",
    "codegemma": "<|fim_prefix|>def f(x):\n    <|fim_suffix|>\n\nf(1)<|fim_middle|>",
    "codestral": "[SUFFIX]\n\nf(1)[PREFIX]def f(x):\n    ",
}

GOLDEN_CHAT = {
    "qwen2.5-coder": (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWrite f.<|im_end|>\n"
        "<|im_start|>assistant\n"
    ),
    "deepseek-coder": "Be brief.\n### Instruction:\nWrite f.\n### Response:\n",
    "starcoder": "Be brief.\n\n### Instruction\nWrite f.\n\n### Response\n",
    "codellama": "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWrite f. [/INST]",
    "codegemma": (
        "<start_of_turn>user\nBe brief.\n\nWrite f.<end_of_turn>\n<start_of_turn>model\n"
    ),
    "codestral": "[INST] Be brief.\n\nWrite f.[/INST]",
}


def test_the_catalogue_has_the_families_the_field_uses():
    assert set(FAMILIES) >= set(GOLDEN_FIM)


@pytest.mark.parametrize("name", sorted(GOLDEN_FIM))
def test_fim_prompt_golden(name: str):
    assert FAMILIES[name].fim_prompt("def f(x):\n    ", "\n\nf(1)") == GOLDEN_FIM[name]


@pytest.mark.parametrize("name", sorted(GOLDEN_CHAT))
def test_chat_prompt_golden(name: str):
    assert FAMILIES[name].chat_prompt("Be brief.", "Write f.") == GOLDEN_CHAT[name]


def test_qwen_repository_form():
    prompt = FAMILIES["qwen2.5-coder"].fim_prompt("a = ", "\n", repo="acme/shop", path="cart.py")
    assert prompt == (
        "<|repo_name|>acme/shop\n<|file_sep|>cart.py\n"
        "<|fim_prefix|>a = <|fim_suffix|>\n<|fim_middle|>"
    )


def test_starcoder2_repository_form():
    prompt = FAMILIES["starcoder"].fim_prompt("a = ", "\n", repo="acme/shop", path="cart.py")
    assert prompt.startswith("<repo_name>acme/shop<file_sep>cart.py\n<fim_prefix>a = ")


def test_code_braces_are_not_placeholders():
    prompt = FAMILIES["qwen2.5-coder"].fim_prompt("d = {prefix}", "{suffix}")
    assert prompt == "<|fim_prefix|>d = {prefix}<|fim_suffix|>{suffix}<|fim_middle|>"


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_templates_only_use_declared_special_tokens(name: str):
    family = FAMILIES[name]
    declared = set(family.special_tokens)
    assert family.fim_tokens is not None
    for token in (family.fim_tokens.prefix, family.fim_tokens.suffix, family.fim_tokens.middle):
        if token:
            assert token in declared
            assert token in family.fim_template
    templates = (
        family.fim_template,
        family.chat_template,
        family.repo_template,
        family.file_template,
    )
    shaped = re.compile(r"<\|[^|<>]+\|>|<｜[^<>]+｜>|<(?:fim|file|repo)_\w+>|\[[A-Z/]+\]")
    for template in templates:
        for token in shaped.findall(template):
            if name == "codellama" and token in ("[INST]", "[/INST]"):
                continue  # plain text in Llama 2's vocabulary, not special tokens
            assert token in declared, f"{name}: {token} is used but not declared special"
    assert family.stop, name
    assert family.chat_template, name


def facts(architecture: str, **fim: str) -> ModelFileFacts:
    return ModelFileFacts(
        path="/models/x.gguf",
        architecture=architecture,
        model_name="x",
        context_length=4096,
        chat_template="",
        fim_tokens=fim,
    )


QWEN_FIM = {"pre": "<|fim_prefix|>", "suf": "<|fim_suffix|>", "mid": "<|fim_middle|>"}


def test_qwen_and_codegemma_share_fim_tokens_and_are_told_apart_by_architecture():
    assert choose_family(facts("qwen2", **QWEN_FIM), CATALOGUE).family.name == "qwen2.5-coder"
    assert choose_family(facts("gemma", **QWEN_FIM), CATALOGUE).family.name == "codegemma"


def test_code_llama_tokens_are_matched_without_the_word_marker():
    choice = choose_family(
        facts("llama", pre="\u2581<PRE>", suf="\u2581<SUF>", mid="\u2581<MID>"), CATALOGUE
    )
    assert choice.family.name == "codellama"


def test_deepseek_starcoder_and_codestral_are_recognised():
    deepseek = facts("llama", pre="<｜fim▁begin｜>", suf="<｜fim▁hole｜>", mid="<｜fim▁end｜>")
    assert choose_family(deepseek, CATALOGUE).family.name == "deepseek-coder"
    star = facts("starcoder2", pre="<fim_prefix>", suf="<fim_suffix>", mid="<fim_middle>")
    assert choose_family(star, CATALOGUE).family.name == "starcoder"
    codestral = facts("llama", pre="[PREFIX]", suf="[SUFFIX]", mid="[MIDDLE]")
    assert choose_family(codestral, CATALOGUE).family.name == "codestral"


def test_a_model_without_fim_tokens_gets_prefix_only_completion_and_is_told_so():
    choice = choose_family(facts("llama", rep="<reponame>"), CATALOGUE, "qwen2.5-coder")
    assert choice.family is None
    assert "infilling is unavailable" in choice.reason
    assert "qwen2.5-coder" in choice.warning


def test_the_file_wins_over_a_wrong_declaration_with_a_warning():
    choice = choose_family(facts("qwen2", **QWEN_FIM), CATALOGUE, "starcoder")
    assert choice.family.name == "qwen2.5-coder"
    assert "starcoder" in choice.warning


def test_old_conversions_without_fim_ids_are_recognised_by_their_tokenizer():
    old = ModelFileFacts(
        path="x",
        architecture="starcoder",
        model_name="x",
        context_length=None,
        chat_template="",
        single_tokens=frozenset({"<fim_prefix>", "<fim_suffix>", "<fim_middle>"}),
    )
    assert choose_family(old, CATALOGUE).family.name == "starcoder"


@pytest.mark.parametrize("name", sorted(FAMILIES))
async def test_completions_through_each_family_carry_none_of_its_special_tokens(name: str):
    family = FAMILIES[name]
    leaks = [*family.special_tokens, *family.stop]

    def answer(request) -> str:
        # A model that runs on past its answer into its own control tokens.
        return "x * 2" + "".join(leaks) + "\nprint(x)"

    engine = FakeEngine(answer, family=family)
    engine.load(EngineOptions())
    service = CompletionService(engine)
    snapshot, offset = snapshot_at("def double(x):\n    return █\n")
    outcome = await service.complete(snapshot, offset, Settings())
    assert outcome.text == "x * 2"
    for token in leaks:
        assert token not in outcome.text
    prompt = engine.requests[0].prompt
    assert family.fim_tokens is not None
    assert family.fim_tokens.prefix in prompt and family.fim_tokens.suffix in prompt
