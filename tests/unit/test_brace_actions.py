"""Code actions in the brace languages with a fake engine: where each is offered, the edit made
from a scripted answer, and the grammar check that drops a broken one."""

import asyncio
import dataclasses

import pytest
from cursor import CURSOR, snapshot_in
from fake_engine import FakeEngine

from codels.actions.errors import ActionError
from codels.actions.runner import ActionOutcome, ActionRunner
from codels.actions.sites import ActionKind, Problem, Site, Target, find_sites
from codels.config import Settings
from codels.documents import DocumentSnapshot
from codels.engines.base import EngineOptions, GenerationRequest
from codels.languages.brace_functions import syntax_errors

SETTINGS = Settings()


def engine(chat: str = "", fim: str = "") -> FakeEngine:
    """Answers chat prompts with ``chat`` and infilling prompts with ``fim``."""

    def respond(request: GenerationRequest) -> str:
        return chat if request.chat is not None else fim

    fake = FakeEngine(respond)
    fake.load(EngineOptions())
    return fake


def offered(language_id: str, source: str) -> dict[int, list[str]]:
    """The titles offered with the cursor at each line's first character (1-based lines)."""
    snapshot, _ = snapshot_in(language_id, source + CURSOR)
    lines = snapshot.lines
    found = {}
    for row in range(lines.line_count):
        line = lines.line_text(row)
        offset = lines.starts[row] + len(line) - len(line.lstrip())
        titles = [site.title for site in find_sites(snapshot, offset)]
        if titles:
            found[row + 1] = titles
    return found


def site_at(language_id: str, source: str, action: ActionKind) -> tuple[DocumentSnapshot, Site]:
    snapshot, offset = snapshot_in(language_id, source)
    site = next(s for s in find_sites(snapshot, offset) if s.action is action)
    return snapshot, site


def run(fake: FakeEngine, snapshot: DocumentSnapshot, site: Site, **kw: object) -> ActionOutcome:
    settings = dataclasses.replace(SETTINGS, **kw)  # type: ignore[arg-type]
    return asyncio.run(ActionRunner(fake).run(snapshot, site, settings))


def result_of(outcome: ActionOutcome) -> str:
    (change,) = outcome.edit.changes
    return change.result


# -- where actions are offered -----------------------------------------------------------------

GENERATE = "Generate function from comment"

OFFERED = {
    "rust": (
        "/// Adds two numbers.\n"
        "pub fn add(a: i32, b: i32) -> i32 {\n"
        "    todo!()\n"
        "}\n"
        "\n"
        "// parse a config line into a key and a value\n"
        "\n"
        "fn answer() -> i32 {\n"
        "    // TODO: ask the oracle\n"
        "    let x = 42;\n"
        "    x\n"
        "}\n",
        {
            2: ["Generate the body of add"],
            3: ["Generate the body of add"],
            4: ["Generate the body of add"],
            6: [GENERATE],
            8: ["Add doc comment to answer"],
            9: ["Implement the TODO in answer"],
        },
    ),
    "go": (
        "package main\n"
        "\n"
        "// Add adds.\n"
        "func Add(a int) int {\n"
        '\tpanic("not implemented")\n'
        "}\n"
        "\n"
        "// reverse a string by its runes\n"
        "\n"
        "func hello() {\n"
        '\tprintln("hi")\n'
        "}\n",
        {
            4: ["Generate the body of Add"],
            5: ["Generate the body of Add"],
            6: ["Generate the body of Add"],
            8: [GENERATE],
            10: ["Add doc comment to hello"],
        },
    ),
    "javascript": (
        "function add(a, b) {\n"
        '  throw new Error("not implemented");\n'
        "}\n"
        "\n"
        "// return the sum of a list of numbers\n",
        {
            1: ["Generate the body of add", "Add doc comment to add"],
            2: ["Generate the body of add"],
            3: ["Generate the body of add"],
            5: [GENERATE],
        },
    ),
    "typescript": (
        "/** Adds. */\n"
        "export function add(a: number, b: number): number {\n"
        '  throw new Error("Not implemented yet");\n'
        "}\n",
        {n: ["Generate the body of add"] for n in (2, 3, 4)},
    ),
    "typescriptreact": (
        "export function Greeting(name: string) {\n  // TODO\n}\n",
        {
            1: ["Generate the body of Greeting", "Add doc comment to Greeting"],
            2: ["Generate the body of Greeting"],
            3: ["Generate the body of Greeting"],
        },
    ),
    "java": (
        "class Shapes {\n"
        "  public double area(double r) {\n"
        '    throw new UnsupportedOperationException("area");\n'
        "  }\n"
        "}\n",
        {
            2: ["Generate the body of area", "Add doc comment to area"],
            3: ["Generate the body of area"],
            4: ["Generate the body of area"],
        },
    ),
    "c": (
        "#include <stdio.h>\n\nstatic int twice(int a) {\n    // TODO\n}\n",
        {
            3: ["Generate the body of twice", "Add doc comment to twice"],
            4: ["Generate the body of twice"],
            5: ["Generate the body of twice"],
        },
    ),
    "cpp": (
        'int twice(int a) {\n    throw std::logic_error("not implemented");\n}\n',
        {
            1: ["Generate the body of twice", "Add doc comment to twice"],
            2: ["Generate the body of twice"],
            3: ["Generate the body of twice"],
        },
    ),
}


@pytest.mark.parametrize("language_id", sorted(OFFERED))
def test_where_actions_are_offered_in_each_brace_language(language_id: str):
    source, expected = OFFERED[language_id]
    assert offered(language_id, source) == expected


@pytest.mark.parametrize(
    ("language_id", "source"),
    [
        # a doc comment of the function right below it
        ("rust", "/// Adds two numbers.\nfn add(a: i32) -> i32 {\n    a\n}\n"),
        ("go", "// Add adds two numbers.\nfunc Add(a, b int) int {\n\treturn a + b\n}\n"),
        # directives, commented-out code, a single word
        ("typescript", "// @ts-ignore the next line is fine\n\nconst x = 1;\n"),
        ("go", "//go:build linux && amd64\n\npackage main\n"),
        ("javascript", "// const total = items.reduce((a, b) => a + b, 0);\n"),
        ("c", "// Helpers\n"),
        # a function with code and its doc comment: nothing to do
        ("java", "class A {\n  /** Twice. */\n  int twice(int a) {\n    return 2 * a;\n  }\n}\n"),
        # an empty body is no stub; a comment in a body that is not a TODO
        ("cpp", "/** Nothing. */\nvoid nothing() {}\n"),
        (
            "rust",
            "/// Sums.\nfn sum(v: &[i32]) -> i32 {\n    // add them up\n    v.iter().sum()\n}\n",
        ),
        # a comment in a callback, a closure
        ("javascript", "items.forEach((x) => {\n  // print each item to the console\n\n});\n"),
        (
            "rust",
            "/// Runs.\nfn run() {\n    let f = |x: i32| {\n        // double the value here\n\n"
            "    };\n}\n",
        ),
    ],
)
def test_nothing_is_offered_where_no_action_applies(language_id: str, source: str):
    assert offered(language_id, source) == {}


@pytest.mark.parametrize("language_id", sorted(OFFERED))
def test_tests_and_fixes_stay_python_only(language_id: str):
    source, _ = OFFERED[language_id]
    snapshot, _ = snapshot_in(language_id, source + CURSOR)
    problem = Problem(0, len(source), "something is wrong", "checker", "E1")
    for offset in range(0, len(source), 7):
        sites = find_sites(snapshot, offset, problems=[problem], can_write_tests=True)
        kinds = {site.action for site in sites}
        assert kinds <= {ActionKind.GENERATE, ActionKind.DOCSTRING}


# -- generating a stub's body ------------------------------------------------------------------

STUBS = {
    "rust": (
        "pub fn add(a: i32, b: i32) -> i32 {█\n    todo!()\n}\n",
        "```rust\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n```",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
    ),
    "go": (
        'func Add(a, b int) int {█\n\tpanic("TODO")\n}\n',
        "```go\nfunc Add(a, b int) int {\n\treturn a + b\n}\n```",
        "func Add(a, b int) int {\n\treturn a + b\n}\n",
    ),
    "javascript": (
        'class Calc {\n  add(a, b) {█\n    throw new Error("not implemented");\n  }\n}\n',
        "```javascript\nclass Calc {\n  add(a, b) {\n    return a + b;\n  }\n}\n```",
        "class Calc {\n  add(a, b) {\n    return a + b;\n  }\n}\n",
    ),
    "typescript": (
        'export function add(a: number, b: number): number {█\n  throw new Error("not'
        ' implemented");\n}\n',
        "```ts\nfunction add(a: number, b: number): number {\n  return a + b;\n}\n```",
        "export function add(a: number, b: number): number {\n  return a + b;\n}\n",
    ),
    "java": (
        "class Calc {\n    int add(int a, int b) {█\n        throw new"
        ' UnsupportedOperationException("add");\n    }\n}\n',
        "```java\npublic class Calc {\n    int add(int a, int b) {\n        return a + b;\n"
        "    }\n}\n```",
        "class Calc {\n    int add(int a, int b) {\n        return a + b;\n    }\n}\n",
    ),
    "c": (
        "int add(int a, int b) {█\n    // TODO\n}\n",
        "```c\nint add(int a, int b) {\n    return a + b;\n}\n```",
        "int add(int a, int b) {\n    return a + b;\n}\n",
    ),
    "cpp": (
        'int add(int a, int b) {█ throw std::logic_error("not implemented"); }\n',
        "```cpp\nint add(int a, int b) {\n  return a + b;\n}\n```",
        "int add(int a, int b) {\n    return a + b;\n}\n",
    ),
}


@pytest.mark.parametrize("language_id", sorted(STUBS))
def test_a_stub_gets_the_body_of_the_chat_answer(language_id: str):
    source, answer, expected = STUBS[language_id]
    snapshot, site = site_at(language_id, source, ActionKind.GENERATE)
    assert site.target is Target.STUB
    fake = engine(chat=answer)
    outcome = run(fake, snapshot, site)
    assert (outcome.form, result_of(outcome)) == ("chat", expected)
    language = snapshot.language
    assert language is not None and syntax_errors(language, expected) == 0
    (request,) = fake.requests
    assert request.chat is not None
    system, user = request.chat
    assert language.functions is not None
    assert language.functions.display_name in system and "Python" not in system + user
    assert f"```{language.functions.fence}\n" in user


def test_a_stub_is_infilled_where_the_placeholder_was():
    source = "fn area(r: f64) -> f64 {█\n    unimplemented!()\n}\n"
    snapshot, site = site_at("rust", source, ActionKind.GENERATE)
    fake = engine(fim="std::f64::consts::PI * r * r\n}\n\nfn more() {}\n")
    outcome = run(fake, snapshot, site, action_prompt="fim")
    assert result_of(outcome) == "fn area(r: f64) -> f64 {\n    std::f64::consts::PI * r * r\n}\n"
    assert outcome.form == "fim"
    prompt = fake.requests[0].prompt
    assert "unimplemented" not in prompt and "<|fim_prefix|>fn area(r: f64) -> f64 {\n" in prompt


def test_an_answer_that_keeps_the_stub_is_no_answer():
    source = 'func Area(r float64) float64 {█\n\tpanic("TODO")\n}\n'
    snapshot, site = site_at("go", source, ActionKind.GENERATE)
    fake = engine(chat='```go\nfunc Area(r float64) float64 {\n\tpanic("TODO")\n}\n```', fim="")
    with pytest.raises(ActionError, match="left the function a stub"):
        run(fake, snapshot, site)


# -- the grammar check -------------------------------------------------------------------------

BROKEN = {
    "rust": ("fn add(a: i32) -> i32 {█\n    todo!()\n}\n", "let x = (a +;\n    x", "Rust"),
    "go": ('func Add(a int) int {█\n\tpanic("TODO")\n}\n', "return a +* )", "Go"),
    "javascript": (
        'function add(a) {█\n  throw new Error("not implemented");\n}\n',
        "return a +* );",
        "JavaScript",
    ),
    "java": (
        "class A {\n  int add(int a) {█\n"
        '    throw new UnsupportedOperationException("");\n  }\n}\n',
        "return a +* );",
        "Java",
    ),
    "cpp": (
        'int add(int a) {█\n    throw std::logic_error("not implemented");\n}\n',
        "return a +* );",
        "C++",
    ),
}


@pytest.mark.parametrize("language_id", sorted(BROKEN))
def test_an_edit_that_adds_syntax_errors_is_dropped_with_a_clear_message(language_id: str):
    source, body, name = BROKEN[language_id]
    snapshot, site = site_at(language_id, source, ActionKind.GENERATE)
    language = snapshot.language
    assert language is not None and language.functions is not None
    header = source.split("█")[0].splitlines()[-1].strip()
    answer = f"```{language.functions.fence}\n{header}\n    {body}\n}}\n```"
    fake = engine(chat=answer, fim="")
    with pytest.raises(ActionError) as failure:
        run(fake, snapshot, site)
    message = str(failure.value)
    assert f"the edited code does not parse as {name}" in message
    assert "Nothing was changed" in message


def test_a_broken_infill_is_dropped_by_the_completion_judge_too():
    snapshot, site = site_at(
        "rust", "fn add(a: i32) -> i32 {█\n    todo!()\n}\n", ActionKind.GENERATE
    )
    with pytest.raises(ActionError, match="adds a syntax error"):
        run(engine(fim="let x = (a +;\n    x"), snapshot, site, action_prompt="fim")


def test_a_file_broken_before_the_action_is_judged_by_what_the_edit_adds():
    source = "fn add(a: i32) -> i32 {█\n    todo!()\n}\n\nfn broken( {\n"
    snapshot, site = site_at("rust", source, ActionKind.GENERATE)
    fake = engine(chat="```rust\nfn add(a: i32) -> i32 {\n    a + 1\n}\n```")
    assert "    a + 1\n}" in result_of(run(fake, snapshot, site))


# -- a function from its comment ---------------------------------------------------------------


def test_a_comment_gets_the_function_of_the_chat_answer_below_it():
    source = (
        'package main\n\nimport "strings"\n\n'
        "// reverse(s) returns s with its runes in reverse order█\n"
    )
    snapshot, site = site_at("go", source, ActionKind.GENERATE)
    assert (site.target, site.name) == (Target.COMMENT, "reverse")
    answer = (
        "Here it is:\n```go\npackage main\n\nfunc reverse(s string) string {\n"
        "\tr := []rune(s)\n\tfor i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {\n"
        "\t\tr[i], r[j] = r[j], r[i]\n\t}\n\treturn string(r)\n}\n```"
    )
    fake = engine(chat=answer)
    result = result_of(run(fake, snapshot, site))
    assert result == (
        'package main\n\nimport "strings"\n\n'
        "// reverse(s) returns s with its runes in reverse order\n"
        "func reverse(s string) string {\n\tr := []rune(s)\n"
        "\tfor i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {\n\t\tr[i], r[j] = r[j], r[i]\n"
        "\t}\n\treturn string(r)\n}\n"
    )
    user = fake.requests[0].chat[1]  # type: ignore[index]
    assert 'import "strings"' in user and user.rstrip().endswith("Name it `reverse`.")


def test_a_comment_in_a_class_gets_a_method_at_its_indentation():
    source = "class Circle {\n  constructor(r) { this.r = r; }\n\n  // area(): the area█\n}\n"
    snapshot, site = site_at("javascript", source, ActionKind.GENERATE)
    answer = "```js\nclass Circle {\n  area() {\n    return Math.PI * this.r ** 2;\n  }\n}\n```"
    result = result_of(run(engine(chat=answer), snapshot, site))
    assert result.endswith(
        "  // area(): the area\n  area() {\n    return Math.PI * this.r ** 2;\n  }\n}\n"
    )


def test_a_comment_is_infilled_until_the_function_closes():
    source = "// double(x) returns twice x█\n\nfn main() {}\n"
    snapshot, site = site_at("rust", source, ActionKind.GENERATE)
    fim = "fn double(x: i32) -> i32 {\n    2 * x\n}\n\nfn extra() {}\n"
    outcome = run(engine(fim=fim), snapshot, site, action_prompt="fim")
    assert result_of(outcome) == (
        "// double(x) returns twice x\nfn double(x: i32) -> i32 {\n    2 * x\n}\n\nfn main() {}\n"
    )


def test_a_chat_answer_without_the_named_function_falls_back_to_fim():
    source = "// double(x) returns twice x█\n"
    snapshot, site = site_at("typescript", source, ActionKind.GENERATE)
    fake = engine(
        chat="```ts\nfunction other() {}\n```",
        fim="function double(x: number): number {\n  return 2 * x;\n}\n",
    )
    outcome = run(fake, snapshot, site)
    assert (outcome.form, outcome.attempts) == ("fim", 2)
    assert "function double(x: number): number {\n  return 2 * x;\n}" in result_of(outcome)


# -- a TODO in a function ----------------------------------------------------------------------


def test_a_todo_is_infilled_below_it():
    source = (
        "int sum(const int *v, int n) {\n    int total = 0;\n    // TODO: add up v█\n"
        "    return total;\n}\n"
    )
    snapshot, site = site_at("c", source, ActionKind.GENERATE)
    assert (site.target, site.title) == (Target.TODO, "Implement the TODO in sum")
    fim = "for (int i = 0; i < n; i++) total += v[i];\n    return total;\n}\n"
    result = result_of(run(engine(fim=fim), snapshot, site))
    assert result == (
        "int sum(const int *v, int n) {\n    int total = 0;\n    // TODO: add up v\n"
        "    for (int i = 0; i < n; i++) total += v[i];\n    return total;\n}\n"
    )


def test_a_todo_falls_back_to_the_chat_rewrite_of_the_function():
    source = "fn total(v: &[i32]) -> i32 {\n    // TODO: sum█\n    0\n}\n"
    snapshot, site = site_at("rust", source, ActionKind.GENERATE)
    answer = "```rust\nfn total(v: &[i32]) -> i32 {\n    v.iter().sum()\n}\n```"
    outcome = run(engine(chat=answer, fim="let x = (;\n"), snapshot, site)
    assert result_of(outcome) == "fn total(v: &[i32]) -> i32 {\n    v.iter().sum()\n}\n"
    assert (outcome.form, outcome.attempts) == ("chat", 2)


# -- doc comments ------------------------------------------------------------------------------

DOCS = {
    "rust": (
        "impl Circle {\n    pub fn area(&self) -> f64 {█\n        self.r * self.r\n    }\n}\n",
        "impl Circle {\n    /// Returns the area of the circle.\n    pub fn area(&self) -> f64 {\n",
    ),
    "go": (
        "func Area(r float64) float64 {█\n\treturn r * r\n}\n",
        "// Area returns the area of the circle.\nfunc Area(r float64) float64 {\n",
    ),
    "javascript": (
        "export function area(r) {█\n  return r * r;\n}\n",
        "/**\n * Returns the area of the circle.\n */\nexport function area(r) {\n",
    ),
    "typescript": (
        "class C {\n  @logged\n  area(r: number): number {█\n    return r * r;\n  }\n}\n",
        "class C {\n  /**\n   * Returns the area of the circle.\n   */\n  @logged\n  area(r",
    ),
    "java": (
        "class C {\n    @Override\n    public double area(double r) {█\n"
        "        return r;\n    }\n}\n",
        "class C {\n    /**\n     * Returns the area of the circle.\n     */\n    @Override\n",
    ),
    "c": (
        "double area(double r) {█\n    return r * r;\n}\n",
        "/**\n * Returns the area of the circle.\n */\ndouble area(double r) {\n",
    ),
    "cpp": (
        "template <typename T>\nT area(T r) {█\n    return r * r;\n}\n",
        "/**\n * Returns the area of the circle.\n */\ntemplate <typename T>\nT area(T r) {\n",
    ),
}


@pytest.mark.parametrize("language_id", sorted(DOCS))
def test_a_doc_comment_is_infilled_in_the_language_style(language_id: str):
    source, expected_start = DOCS[language_id]
    snapshot, site = site_at(language_id, source, ActionKind.DOCSTRING)
    fim = "returns the area of the circle.\n" if language_id == "go" else ""
    fake = engine(fim=fim or "Returns the area of the circle.\nmore\n")
    outcome = run(fake, snapshot, site)
    assert outcome.form == "fim"
    assert result_of(outcome).startswith(expected_start)
    language = snapshot.language
    assert language is not None and syntax_errors(language, result_of(outcome)) == 0


def test_the_doc_prompt_opens_the_comment_for_the_model():
    source = "func Area(r float64) float64 {█\n\treturn r * r\n}\n"
    snapshot, site = site_at("go", source, ActionKind.DOCSTRING)
    fake = engine(fim="returns the area.\n")
    run(fake, snapshot, site)
    assert "<|fim_prefix|>// Area <|fim_suffix|>\nfunc Area(" in fake.requests[0].prompt


def test_a_doc_comment_from_the_chat_answer_is_rewritten_in_the_language_style():
    source = "int twice(int a) {█\n    return 2 * a;\n}\n"
    snapshot, site = site_at("cpp", source, ActionKind.DOCSTRING)
    answer = (
        "```cpp\n// Doubles a and returns\n// the result.\nint twice(int a) {\n"
        "  return 2 * a;\n}\n```"
    )
    outcome = run(engine(chat=answer, fim="x\n"), snapshot, site)
    assert (outcome.form, outcome.attempts) == ("chat", 2)
    assert result_of(outcome).startswith(
        "/**\n * Doubles a and returns the result.\n */\nint twice(int a) {\n"
    )


def test_a_go_doc_comment_from_the_chat_answer_begins_with_the_name():
    source = "func Area(r float64) float64 {█\n\treturn r * r\n}\n"
    snapshot, site = site_at("go", source, ActionKind.DOCSTRING)
    answer = (
        "```go\n// Returns the area of a square.\nfunc Area(r float64) float64 {\n"
        "\treturn r * r\n}\n```"
    )
    outcome = run(engine(chat=answer, fim="\n"), snapshot, site)
    assert result_of(outcome).startswith(
        "// Area returns the area of a square.\nfunc Area(r float64) float64 {\n"
    )


def test_a_body_on_the_header_line_is_written_one_level_deeper_with_the_file_indentation():
    source = 'func Area(r float64) float64 {█ panic("TODO") }\n'
    snapshot, site = site_at("go", source, ActionKind.GENERATE)
    answer = "```go\nfunc Area(r float64) float64 {\n    return r * r\n}\n```"
    assert result_of(run(engine(chat=answer), snapshot, site)) == (
        "func Area(r float64) float64 {\n\treturn r * r\n}\n"
    )


def test_a_javadoc_that_documents_no_method_yet_gets_one_below_it():
    source = (
        "class Strings {\n    /**\n     * isPalindrome(s): whether s reads the same backwards.█\n"
        "     */\n\n    int size() {\n        return 0;\n    }\n}\n"
    )
    snapshot, site = site_at("java", source, ActionKind.GENERATE)
    assert (site.target, site.name, site.indent) == (Target.COMMENT, "isPalindrome", "    ")
    answer = (
        "```java\nstatic boolean isPalindrome(String s) {\n"
        "    return new StringBuilder(s).reverse().toString().equals(s);\n}\n```"
    )
    result = result_of(run(engine(chat=answer), snapshot, site))
    assert result.startswith(
        "class Strings {\n    /**\n     * isPalindrome(s): whether s reads the same backwards.\n"
        "     */\n    static boolean isPalindrome(String s) {\n"
        "        return new StringBuilder(s).reverse().toString().equals(s);\n    }\n\n"
        "    int size() {\n"
    )


def test_jsdoc_tags_from_the_chat_answer_keep_their_own_lines():
    source = "function add(a, b) {█\n  return a + b;\n}\n"
    snapshot, site = site_at("javascript", source, ActionKind.DOCSTRING)
    answer = (
        "```js\n/**\n * Adds two\n * numbers.\n * @param {number} a the first\n"
        " * @returns {number} the sum\n */\nfunction add(a, b) {\n  return a + b;\n}\n```"
    )
    outcome = run(engine(chat=answer, fim="\n"), snapshot, site)
    assert result_of(outcome).startswith(
        "/**\n * Adds two numbers.\n * @param {number} a the first\n"
        " * @returns {number} the sum\n */\nfunction add(a, b) {\n"
    )


def test_an_arrow_function_with_a_name_is_a_function_and_a_callback_is_not():
    source = (
        "export const add = (a, b) => {\n"
        '  throw new Error("not implemented");\n'
        "};\n"
        "items.forEach((x) => {\n"
        "  // TODO\n"
        "});\n"
    )
    assert offered("typescript", source) == {
        1: ["Generate the body of add", "Add doc comment to add"],
        2: ["Generate the body of add"],
        3: ["Generate the body of add"],
    }
    snapshot, site = site_at(
        "typescript",
        'export const add = (a, b) => {█\n  throw new Error("not implemented");\n};\n',
        ActionKind.GENERATE,
    )
    answer = "```ts\nconst add = (a: number, b: number): number => {\n  return a + b;\n};\n```"
    assert result_of(run(engine(chat=answer), snapshot, site)) == (
        "export const add = (a, b) => {\n  return a + b;\n};\n"
    )


def test_a_one_line_body_of_the_answer_gets_its_own_line():
    source = "fn add(a: i32, b: i32) -> i32 {█\n    todo!()\n}\n"
    snapshot, site = site_at("rust", source, ActionKind.GENERATE)
    answer = "```rust\nfn add(a: i32, b: i32) -> i32 { a + b }\n```"
    assert result_of(run(engine(chat=answer), snapshot, site)) == (
        "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"
    )


def test_the_stub_prompt_carries_its_doc_comment():
    source = (
        "/// Returns the larger of a and b.\n#[inline]\nfn max(a: i32, b: i32) -> i32 {█\n"
        "    todo!()\n}\n"
    )
    snapshot, site = site_at("rust", source, ActionKind.GENERATE)
    fake = engine(
        chat="```rust\nfn max(a: i32, b: i32) -> i32 {\n    if a > b { a } else { b }\n}\n```"
    )
    result = result_of(run(fake, snapshot, site))
    assert result.startswith(
        "/// Returns the larger of a and b.\n#[inline]\nfn max(a: i32, b: i32) -> i32 {\n"
        "    if a > b"
    )
    user = fake.requests[0].chat[1]  # type: ignore[index]
    assert "```rust\n/// Returns the larger of a and b.\n#[inline]\nfn max(" in user
