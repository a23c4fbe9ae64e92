"""What a code action is and where it applies: :class:`ActionKind`, :class:`Target`, :class:`Site`.

Plain data shared by the modules that find sites (:mod:`.sites`, :mod:`.brace_sites`) and those
that run them. This module imports nothing of codels.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActionKind(StrEnum):
    """The code actions codels offers."""

    GENERATE = "generate"
    DOCSTRING = "docstring"
    TESTS = "tests"
    FIX = "fix"

    @property
    def command(self) -> str:
        """The namespaced command (and ``data`` tag) of this action."""
        return _COMMANDS[self]

    @property
    def lsp_kind(self) -> str:
        """The LSP code action kind (a sub-kind of ``refactor.rewrite`` or ``quickfix``)."""
        return _LSP_KINDS[self]


_COMMANDS = {
    ActionKind.GENERATE: "codels.generateFunction",
    ActionKind.DOCSTRING: "codels.addDocstring",
    ActionKind.TESTS: "codels.writeTests",
    ActionKind.FIX: "codels.fixFunction",
}
_LSP_KINDS = {
    ActionKind.GENERATE: "refactor.rewrite.codels.generate",
    ActionKind.DOCSTRING: "refactor.rewrite.codels.docstring",
    ActionKind.TESTS: "refactor.rewrite.codels.tests",
    ActionKind.FIX: "quickfix.codels.fix",
}


def action_for_command(command: str) -> ActionKind | None:
    """The action whose command is ``command`` (None for an unknown one)."""
    return next((kind for kind, name in _COMMANDS.items() if name == command), None)


class Target(StrEnum):
    """What an action works on."""

    COMMENT = "comment"
    """A comment block describing a function to write."""
    STUB = "stub"
    """A function whose body is only a docstring, ``...`` or ``pass``."""
    TODO = "todo"
    """A ``# TODO`` comment inside a function."""
    FUNCTION = "function"
    """A whole function (docstring, tests, fix)."""


@dataclass(frozen=True)
class Site:
    """Where one action applies: everything needed to run it later, without the model."""

    action: ActionKind
    target: Target
    title: str
    start: int
    """Start of the region the action anchors on (comment block or function)."""
    end: int
    """End of that region."""
    name: str = ""
    """The function's name ("" for a comment that does not name one)."""
    indent: str = ""
    """Indentation the generated code takes (comment or ``def`` line)."""
    diagnostics: tuple[str, ...] = ()
    """For **fix**: the problems to address, one sentence each, with function-relative lines."""


@dataclass(frozen=True)
class Problem:
    """A diagnostic from the request: where (code points) and what."""

    start: int
    end: int
    message: str
    source: str = ""
    code: str = ""
