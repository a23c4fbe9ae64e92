"""An evaluation task, shared by the HumanEval suites and the real-code ones.

This module imports nothing of codels.
"""

from __future__ import annotations

from dataclasses import dataclass


def indentation(line: str) -> str:
    """The leading spaces and tabs of ``line``."""
    return line[: len(line) - len(line.lstrip(" \t"))]


@dataclass(frozen=True)
class EvalTask:
    """One completion to make and score."""

    task_id: str
    """``HumanEval/12`` plus, for infilling tasks, the span ``:a-b``; for real code,
    ``path/in/the/wheel.py:line``."""
    prefix: str
    """The document before the cursor."""
    suffix: str
    """The document after the cursor."""
    expected: str
    """The reference completion (what was taken out)."""
    test: str = ""
    entry_point: str = ""
    path: str = ""
    """The module's path, for real-code tasks (they have no tests: scored by matching)."""
    language_id: str = "python"
    """The LSP language id of the task's document."""

    @property
    def runnable(self) -> bool:
        """Whether the task has tests to run (HumanEval) rather than an original to match."""
        return bool(self.test)

    def program(self, completion: str) -> str:
        """The program that scores ``completion``: the document with it, then the tests."""
        return self.program_of(f"{self.prefix}{completion}{self.suffix}")

    def program_of(self, document: str) -> str:
        """The program that scores a whole edited ``document``: it, then the tests."""
        return f"{document}\n\n{self.test}\n\ncheck({self.entry_point})\n"
