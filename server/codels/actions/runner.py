"""Running a code action: the site's strategy makes attempts until one gives a clean edit.

An edit that adds a syntax error or holds no usable code is a failure; after two,
:class:`ActionError` says so. A stub's body is retried while its docstring examples fail.
Explaining code (:mod:`codels.actions.explain`) runs here too, and makes no edit. Imports the
other actions modules, config, documents, the pipeline's prompt, :mod:`codels.engines.base`,
:mod:`codels.languages` and :mod:`codels.privacy`; nothing of LSP.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from codels.actions import (
    brace_code,
    comment,
    docstring,
    explain,
    rewrite,
    stub,
    todo,
    write_tests,
)
from codels.actions.edits import ActionEdit
from codels.actions.errors import ActionError, Unusable
from codels.actions.explain import Explanation
from codels.actions.gateway import ModelGateway
from codels.actions.job import Attempt, Job, ReadFile
from codels.actions.sites import ActionKind, Site, Target
from codels.config import Settings
from codels.documents import DocumentSnapshot
from codels.engines.base import Engine
from codels.languages.base import Language
from codels.languages.brace_functions import syntax_errors as brace_syntax_errors
from codels.languages.python.examples import ExamplesResult
from codels.languages.python.functions import adds_syntax_errors, syntax_errors
from codels.pipeline.prompt import TokenCounter
from codels.privacy import path_of

log = logging.getLogger(__name__)

EXAMPLE_RETRIES = 2
"""More attempts at a function whose docstring examples fail (the best one is kept)."""
RETRY_TEMPERATURE = 0.8
"""Those attempts are sampled: a greedy answer to a prompt that differs only by the failing
example is mostly the same answer again (measured greedy, 0.5B, 50 docstring tasks: of 15
functions whose examples failed, a retry did better for 3)."""

Progress = Callable[[str], None]
"""Receives a short message about what the action is doing."""


@dataclass(frozen=True)
class ActionOutcome:
    """A finished action: the edit and how it came about."""

    edit: ActionEdit
    attempts: int
    """Which attempt made the edit (1 unless an earlier one failed)."""
    form: str
    """The prompt form that made the edit: ``chat`` or ``fim``."""
    total_ms: float
    generated_tokens: int
    examples: ExamplesResult | None = None
    """How the written function fared on its docstring's examples (None: not checked)."""


def read_from_disk(uri: str) -> tuple[str, int | None] | None:
    """The text of the file at ``uri`` on disk (no version), or None if it cannot be read."""
    path = path_of(uri)
    if path is None or not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8"), None
    except (OSError, UnicodeDecodeError):
        return None


def plan(job: Job) -> list[Attempt]:
    """The attempts for the job's site, in order (the second runs only when the first fails)."""
    site = job.site
    language = job.snapshot.language
    if language is not None and language.functions is not None:
        return brace_code.attempts(job)
    if site.action is ActionKind.GENERATE and site.target is Target.TODO:
        return todo.attempts(job)
    if site.action is ActionKind.GENERATE and site.target is Target.COMMENT:
        return comment.attempts(job)
    if site.action is ActionKind.GENERATE:
        return stub.attempts(job)
    if site.action is ActionKind.DOCSTRING:
        return docstring.attempts(job)
    if site.action is ActionKind.TESTS:
        return write_tests.attempts(job)
    return rewrite.attempts(job)


class ActionRunner:
    """Runs code actions with one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._counter = TokenCounter(engine.count_tokens)

    async def run(
        self,
        snapshot: DocumentSnapshot,
        site: Site,
        settings: Settings,
        *,
        progress: Progress | None = None,
        read_file: ReadFile | None = None,
        can_create_files: bool = True,
        retry: bool = True,
    ) -> ActionOutcome:
        """Make the edit for ``site``; raises :class:`ActionError` after two failed attempts.

        ``retry`` False stops after the first (the evaluation measures each form alone).
        """
        if self.engine.info is None:
            raise ActionError("the model is not loaded yet; try again in a moment")
        started = time.perf_counter()
        model = ModelGateway(
            self.engine, self._counter, settings, snapshot.uri, snapshot.language_id
        )
        job = Job(snapshot, site, settings, model, read_file or read_from_disk, can_create_files)
        queue = plan(job) if retry else plan(job)[:1]
        brace = snapshot.language is not None and snapshot.language.functions is not None
        examples = stub.examples_check(job) if settings.check_examples and not brace else None
        reasons: list[str] = []
        best: ActionOutcome | None = None
        number = retries = 0
        while queue:
            form, attempt = queue.pop(0)
            number += 1
            if progress:
                progress(f"asking the model ({form})" if number == 1 else f"retrying ({form})")
            try:
                edit = await attempt()
                _check(edit, snapshot.language)
            except Unusable as exc:
                log.info("%s attempt %d (%s) unusable: %s", site.action, number, form, exc)
                reasons.append(str(exc))
                continue
            result = None
            if examples is not None:
                if progress:
                    progress("running the docstring's examples")
                result = await examples(edit)
                log.info("%s attempt %d (%s): %s", site.action, number, form, result.summary())
            total = (time.perf_counter() - started) * 1000
            outcome = ActionOutcome(edit, number, form, total, model.generated, result)
            if result is None or not result.failing:
                best = outcome
                break
            if best is None or best.examples is None or result.failed < best.examples.failed:
                best = outcome
            queue = _example_retry(job, model, result, retries)
            retries += len(queue)
        if best is not None:
            _log_outcome(site, best, model.generated, started)
            return best
        raise _no_edit(site, reasons)

    async def explain(
        self, snapshot: DocumentSnapshot, start: int, end: int, settings: Settings
    ) -> Explanation:
        """Explain the selection ``start``-``end`` (or the function at ``start``); no edit.

        Raises :class:`ActionError` with what to do when it cannot.
        """
        if self.engine.info is None:
            raise ActionError("the model is not loaded yet; try again in a moment")
        model = ModelGateway(self.engine, self._counter, settings, snapshot.uri)
        result = await explain.explain(model, snapshot, start, end, settings)
        log.info(
            "explained %s: %d tokens, %.0f ms%s",
            result.target.name or "a selection",
            result.generated_tokens,
            result.total_ms,
            " (cut short)" if result.truncated else "",
        )
        return result


def _example_retry(
    job: Job, model: ModelGateway, result: ExamplesResult, retries: int
) -> list[Attempt]:
    """One more chat attempt, told which docstring example failed, while retries are left."""
    if retries >= EXAMPLE_RETRIES or not model.can_chat():
        return []
    note = _failed_example(result)
    return [("chat", functools.partial(stub.chat_stub, job, note, RETRY_TEMPERATURE))]


def _no_edit(site: Site, reasons: list[str]) -> ActionError:
    """The error for an action whose every attempt was unusable; ``reasons`` says why each was."""
    return ActionError(
        f"codels could not {_VERBS[site.action]}: {'; then '.join(reasons)}. "
        "Nothing was changed; edit the comment or function and try again"
    )


def _log_outcome(site: Site, best: ActionOutcome, generated: int, started: float) -> None:
    log.info(
        "%s on %s: %s in %d attempt(s), %d tokens, %.0f ms%s",
        site.action.value,
        site.name or "comment",
        best.form,
        best.attempts,
        generated,
        (time.perf_counter() - started) * 1000,
        f"; {best.examples.summary()}" if best.examples else "",
    )


def _failed_example(result: ExamplesResult) -> str:
    """The retry note for an answer whose docstring examples fail."""
    return (
        f"Your previous answer fails this example from the docstring: {result.problem}. "
        "Reply with a corrected complete function."
    )


_VERBS = {
    ActionKind.GENERATE: "write the code",
    ActionKind.DOCSTRING: "write a docstring",
    ActionKind.TESTS: "write tests",
    ActionKind.FIX: "fix the function",
}


def _check(edit: ActionEdit, language: Language | None = None) -> None:
    """Refuse an edit that breaks the syntax of a file it changes.

    A brace language's edit is parsed with its own grammar: it may add no ERROR or MISSING
    node to the document.
    """
    for change in edit.changes:
        result = change.result
        if language is not None and language.functions is not None:
            if brace_syntax_errors(language, result) > brace_syntax_errors(language, change.base):
                raise Unusable(
                    f"the edited code does not parse as {language.functions.display_name} "
                    "(the grammar finds new syntax errors in it)"
                )
        elif change.create:
            if syntax_errors(result):
                raise Unusable("the new test file does not parse")
        elif adds_syntax_errors(change.base, result):
            raise Unusable("the edited code does not parse")
