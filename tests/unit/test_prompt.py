from cursor import context_at
from fake_engine import QWEN, count_tokens

from codels.models.catalogue import fill
from codels.pipeline.prompt import (
    WINDOW_STEP_LINES,
    PromptBudget,
    TokenCounter,
    build_prompt,
    window_step,
)


def one_per_line(text: str) -> int:
    return 1


def test_fim_template_layout_for_qwen():
    prompt = build_prompt(
        context_at("def f(x):\n    return █\n\nprint(f(2))\n"),
        QWEN,
        TokenCounter(count_tokens),
        PromptBudget(),
    )
    # The cursor line up to the cursor comes last, as the start of the middle: it is all that
    # changes while typing on one line, so everything before it stays in the KV cache.
    assert prompt.text == (
        "<|fim_prefix|>def f(x):\n<|fim_suffix|>\n\nprint(f(2))\n<|fim_middle|>    return"
    )
    assert prompt.healed == " "


def test_typing_on_a_line_changes_only_the_end_of_the_prompt():
    def prompt_at(source: str) -> str:
        context = context_at(source)
        return build_prompt(context, QWEN, TokenCounter(count_tokens), PromptBudget()).text

    before = prompt_at("def f(x):\n    total = x█\n    return total\n")
    after = prompt_at("def f(x):\n    total = x +█\n    return total\n")
    common = len(before) - len("    total = x")
    assert before[:common] == after[:common]
    assert after[common:] == "    total = x +"


def test_blank_line_prompt_keeps_all_but_the_last_space_of_the_indentation():
    # "    return" tokenizes as "   " + " return": the model writes the last space itself.
    prompt = build_prompt(
        context_at('def f(x):\n    """Double x."""\n    █\n'),
        QWEN,
        TokenCounter(count_tokens),
        PromptBudget(),
    )
    assert prompt.prefix == 'def f(x):\n    """Double x."""\n   '
    assert prompt.healed == " "


def test_tab_indentation_is_healed_the_same_way():
    prompt = build_prompt(
        context_at("def f(x):\n\t█\n"), QWEN, TokenCounter(count_tokens), PromptBudget()
    )
    assert prompt.prefix == "def f(x):\n"
    assert prompt.healed == "\t"


def test_braces_in_code_are_not_template_placeholders():
    assert fill("<P>{prefix}<S>{suffix}<M>", prefix="x = '{suffix}'", suffix="{prefix}") == (
        "<P>x = '{suffix}'<S>{prefix}<M>"
    )


def test_suffix_is_capped_at_whole_lines():
    source = "x = █\n" + "".join(f"line{i} = {i}\n" for i in range(100))
    prompt = build_prompt(
        context_at(source), QWEN, TokenCounter(one_per_line), PromptBudget(1000, suffix_tokens=10)
    )
    assert prompt.suffix == "\n" + "".join(f"line{i} = {i}\n" for i in range(9))


def test_no_family_means_prefix_only():
    prompt = build_prompt(
        context_at("x = 1\ny = █\nz = 3\n"), None, TokenCounter(count_tokens), PromptBudget()
    )
    assert prompt.text == "x = 1\ny ="
    assert prompt.suffix == ""


LONG = (
    "import os\nimport sys\n\n\nclass Big:\n    def method(self):\n"
    + '        """Do many things."""\n'
    + "".join(f"        step{i} = {i}\n" for i in range(300))
    + "        █\n"
)


def test_long_prefix_keeps_imports_and_enclosing_headers_before_the_window():
    budget = PromptBudget(total_tokens=100, suffix_tokens=5)
    prompt = build_prompt(context_at(LONG), QWEN, TokenCounter(one_per_line), budget)
    assert prompt.extra == (
        "import os\nimport sys\n\n"
        "class Big:\n"
        '    def method(self):\n        """Do many things."""\n'
    )
    assert prompt.text.startswith("<|fim_prefix|>import os\nimport sys\n\nclass Big:\n")
    assert prompt.estimated_tokens <= budget.total_tokens
    window_line = LONG[: prompt.window_start].count("\n")
    assert window_line % WINDOW_STEP_LINES == 0


def test_window_step_is_the_default_one_unless_few_lines_fit():
    assert window_step(200) == WINDOW_STEP_LINES
    assert window_step(2 * WINDOW_STEP_LINES) == WINDOW_STEP_LINES
    assert window_step(2 * WINDOW_STEP_LINES - 1) == WINDOW_STEP_LINES // 2
    assert window_step(15) == 4
    assert window_step(1) == 1


def test_a_small_budget_keeps_more_than_the_cursor_line():
    # About 15 lines fit: aligned to 32 lines, the window would start at the cursor line.
    budget = PromptBudget(total_tokens=36, suffix_tokens=5)
    prompt = build_prompt(context_at(LONG), QWEN, TokenCounter(one_per_line), budget)
    window_lines = prompt.prefix.count("\n")
    assert window_lines >= 8
    assert prompt.estimated_tokens <= budget.total_tokens


def test_window_start_stays_put_while_typing_on_the_cursor_line():
    budget = PromptBudget(total_tokens=100, suffix_tokens=5)
    counter = TokenCounter(one_per_line)
    starts = set()
    for typed in ["", "r", "re", "res", "resu", "result = ", "result = step1 + step2"]:
        source = LONG.replace("█", typed + "█")
        starts.add(build_prompt(context_at(source), QWEN, counter, budget).window_start)
    assert len(starts) == 1


def test_token_counter_caches_lines():
    calls = []

    def counting(text: str) -> int:
        calls.append(text)
        return 3

    counter = TokenCounter(counting)
    assert counter("a\n") == 3 and counter("a\n") == 3
    assert calls == ["a\n"]
