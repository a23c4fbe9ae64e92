import pytest

from codels.sandbox import run_program
from codels.tools.eval_report import (
    Attempt,
    SuiteReport,
    TaskResult,
    difference_interval,
    format_table,
    wilson_interval,
)
from codels.tools.evaluation import (
    EvalError,
    build_suite,
    load_problems,
    sample,
    scoring_sandbox,
)


@pytest.fixture(scope="module")
def problems():
    return load_problems()


def test_suite_sizes(problems):
    assert len(problems) == 164
    assert len(build_suite("humaneval-single", problems)) == 1033
    assert len(build_suite("humaneval-multi", problems)) == 5815
    assert len(build_suite("humaneval-docstring", problems)) == 164


@pytest.mark.parametrize("suite", ["humaneval-single", "humaneval-multi"])
def test_every_infilling_task_rebuilds_the_reference_solution(problems, suite):
    by_id = {p["task_id"]: p for p in problems}
    for task in build_suite(suite, problems):
        problem = by_id[task.task_id.split(":")[0]]
        assert task.prefix + task.expected + task.suffix == (
            problem["prompt"] + problem["canonical_solution"]
        )
        # The cursor stands after the indentation of the first missing line.
        assert task.prefix.split("\n")[-1].strip() == ""
        assert task.expected == task.expected.lstrip()


def test_one_single_line_task_checked_by_hand(problems):
    task = {t.task_id: t for t in build_suite("humaneval-single", problems)}["HumanEval/0:3-3"]
    assert task.prefix.endswith(
        "        for idx2, elem2 in enumerate(numbers):\n"
        "            if idx != idx2:\n"
        "                "
    )
    assert task.expected == "distance = abs(elem - elem2)"
    assert task.suffix.startswith("\n                if distance < threshold:\n")
    assert task.entry_point == "has_close_elements"


def test_docstring_task(problems):
    task = build_suite("humaneval-docstring", problems)[0]
    assert task.prefix == problems[0]["prompt"] + "    "
    assert task.expected.startswith("for idx, elem in enumerate(numbers):")


def test_unknown_suite(problems):
    with pytest.raises(Exception, match="unknown suite"):
        build_suite("mbpp", problems)


def test_sample_is_seeded_and_keeps_suite_order(problems):
    tasks = build_suite("humaneval-single", problems)
    first, again = sample(tasks, 50, seed=3), sample(tasks, 50, seed=3)
    assert first == again and len(first) == 50
    order = {task.task_id: index for index, task in enumerate(tasks)}
    assert [order[t.task_id] for t in first] == sorted(order[t.task_id] for t in first)
    assert sample(tasks, 50, seed=4) != first
    assert sample(tasks, None, seed=3) == tasks


def test_the_reference_completion_passes_and_a_wrong_one_fails(os_sandbox, problems):
    task = build_suite("humaneval-single", problems)[3]
    assert run_program(task.program(task.expected)).passed
    wrong = run_program(task.program("distance = 0"))
    assert not wrong.passed and "AssertionError" in wrong.reason


def test_the_eval_refuses_to_run_code_without_a_sandbox_unless_told_unsafe(no_sandbox):
    with pytest.raises(EvalError, match="add --unsafe-exec"):
        scoring_sandbox(unsafe_exec=False)
    assert scoring_sandbox(unsafe_exec=True) == {
        "backend": None,
        "isolation": ["rlimits"],
        "unsafe_exec": True,
    }


def test_the_eval_records_the_sandbox_it_scored_in(os_sandbox):
    facts = scoring_sandbox(unsafe_exec=False)
    assert facts["backend"] == os_sandbox.backend.name and "rlimits" in facts["isolation"]


def test_wilson_interval_known_values():
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    assert wilson_interval(10, 10) == (pytest.approx(0.7225, abs=1e-4), pytest.approx(1.0))
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_difference_interval():
    low, high = difference_interval(50, 50, 100)
    assert low < 0 < high and low == pytest.approx(-high)
    low, high = difference_interval(80, 40, 100)
    assert 0 < low < 0.4 < high


def test_suite_figures_and_table():
    report = SuiteReport("humaneval-single", tasks=1033)
    for index in range(10):
        report.results.append(
            TaskResult(
                f"t{index}",
                codels=Attempt("x", 100.0, passed=index < 8, exact=index < 5),
                baseline=Attempt("", 50.0, passed=index < 4, syntax_error=index == 0),
            )
        )
    figures = report.figures()
    assert figures["n"] == 10 and figures["tasks"] == 1033
    assert figures["codels"]["pass_at_1"] == 0.8
    assert figures["codels"]["exact_match"] == 0.5
    assert figures["baseline"]["pass_at_1"] == 0.4
    assert figures["baseline"]["syntax_error_rate"] == 0.1
    assert figures["baseline"]["empty_rate"] == 1.0
    assert figures["gain"] == pytest.approx(0.4)
    table = format_table([figures])
    assert "codels" in table and "baseline" in table and "+40.0" in table


def test_the_docstring_suite_can_go_through_the_generate_action(problems):
    import asyncio

    from fake_engine import FakeEngine

    from codels.config import Settings
    from codels.engines.base import EngineOptions
    from codels.tools.evaluation import Evaluator

    task = build_suite("humaneval-docstring", problems)[0]
    answer = f"```python\n{task.prefix.rstrip()}\n    {task.expected}\n```"
    engine = FakeEngine(lambda request: answer if request.chat else "")
    engine.load(EngineOptions())
    evaluator = Evaluator(engine, Settings(), baseline=False, action="chat")
    attempt = asyncio.run(evaluator.action_completion(task, Settings()))
    assert attempt.document == task.prefix + task.expected + "\n"
    evaluator.score(task, attempt)
    assert attempt.passed and attempt.exact, attempt.reason
