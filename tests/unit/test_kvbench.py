"""The KV reuse benchmark's pure parts: where it types, and how it counts."""

from pathlib import Path

from codels.engines.base import GenerationResult
from codels.tools.kvbench import Figures, find_sites, format_budget, statement_lines

SOURCE = '''"""A module."""


def first(values):
    """Docstring lines are not typed."""
    total = 0
    for value in values:
        total = total + value * 2
        total = total - value // 3
    return total
'''


def test_only_one_line_statements_in_function_bodies_count(tmp_path: Path):
    assert statement_lines(SOURCE) == {5, 7, 8, 9}  # not the docstring, not the for header


def test_a_site_starts_at_the_end_of_the_statement_before_and_types_the_next_one(tmp_path):
    path = tmp_path / "module.py"
    path.write_text("\n" * 30 + SOURCE, encoding="utf-8")  # sites start after line 20
    [site] = find_sites(path, 1, 1)
    typed = "".join(site.keys)
    assert typed == "\n        total = total - value // 3"
    assert site.keys[0] == "\n        "  # the line break comes with the indentation
    assert site.before.endswith("total = total + value * 2")
    assert site.before + typed + site.after == path.read_text(encoding="utf-8")


def test_figures_count_requests_answers_and_the_edits_before_the_suffix():
    figures = Figures()
    figures.record(GenerationResult("x", "rule", prompt_tokens=100, cached_tokens=99), False)
    figures.record(GenerationResult("y", "rule", prompt_tokens=100, cached_tokens=80), True)
    figures.compared, figures.same, figures.scored, figures.right = 2, 1, 2, 2
    summary = figures.summary()
    assert summary["requests"] == 2
    assert summary["identical"] == 0.5 and summary["right"] == 1.0
    assert summary["moved"]["requests"] == 1 and summary["moved"]["evaluated_median"] == 20
    assert "edit < suffix" in format_budget(128, {"exact": summary})
