"""Running a code action: ask the model, read its answer, check the edit, retry once.

:class:`ActionRunner` takes a :class:`~codels.actions.sites.Site` (found without the model) and makes
the :class:`~codels.actions.sites.ActionEdit` for it. Two prompt forms write code:

* **chat**: the model's instruction template (:meth:`codels.models.catalogue.Family.chat_prompt`) with the
  context (imports, enclosing class, neighbouring signatures) and the comment or function; the
  answer's code block is parsed with tree-sitter and the wanted function (or its body) taken;
* **fim**: the completion pipeline (:mod:`codels.pipeline.context`, :mod:`codels.pipeline.prompt`,
  :mod:`codels.pipeline.postprocess`) at a blank line where the code goes, with the action's token limit
  and no time budget.

Generating a function (from a comment or for a stub) uses the form the ``actionPrompt``
setting names and retries once with the other; a TODO is filled in with FIM (retry: chat); a
docstring is infilled between the quotes (retry: chat); tests and fixes are chat-only (the retry
says what was wrong). Every edit is applied to the text and parsed: one that adds a syntax error,
or that holds no usable code, counts as a failure. After two failures :class:`ActionError` says
so; nothing broken is ever returned. A body written for a stub whose docstring has examples is
checked against them (:mod:`codels.actions.examples`, setting ``checkExamples``); while one fails, the
model is asked again (chat, with the failing example) up to twice, and the attempt with the
fewest failures is kept.

Generations run under the key ``<uri>#action``, so typing in the document (completions, keyed by
the URI) does not stop them; cancelling the awaiting task stops the engine within one token.

This module imports the pipeline stages, :mod:`codels.actions.sites`, :mod:`codels.actions.examples` and
:mod:`codels.engines.llama`; nothing of LSP.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import textwrap
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from codels.actions.examples import ExamplesResult, check_examples, find_examples
from codels.actions.sites import (
    ActionEdit,
    ActionKind,
    FileChange,
    Site,
    Target,
    TextEdit,
    adds_syntax_errors,
    body_edit,
    candidate_test_files,
    chat_prompt,
    chat_stop_rule,
    comment_edit,
    docstring_edit,
    docstring_words,
    extract_code,
    format_docstring,
    function_at,
    function_edit,
    function_end_index,
    import_edit,
    missing_imports,
    new_test_file,
    parse_code,
    tidy_tests,
)
from codels.config import Settings
from codels.documents import Document, DocumentSnapshot
from codels.engines.base import Engine, GenerationRequest, GenerationResult
from codels.languages.syntax import PYTHON, count_syntax_errors, new_parser
from codels.models.catalogue import ModelError
from codels.pipeline.context import CompletionKind, build_context
from codels.pipeline.postprocess import clean_completion, stop_rule
from codels.pipeline.prompt import TokenCounter, build_prompt
from codels.privacy import path_of

log = logging.getLogger(__name__)

DOCSTRING_MAX_TOKENS = 160
"""A docstring rarely needs more."""
PROMPT_MARGIN_TOKENS = 64
"""Room kept in the context window beside the prompt and the answer."""
EXAMPLE_RETRIES = 2
"""More attempts at a function whose docstring examples fail (the best one is kept)."""
RETRY_TEMPERATURE = 0.8
"""Those attempts are sampled: a greedy answer to a prompt that differs only by the failing
example is mostly the same answer again (measured greedy, 0.5B, 50 docstring tasks: of 15
functions whose examples failed, a retry did better for 3)."""

Progress = Callable[[str], None]
"""Receives a short message about what the action is doing."""
ReadFile = Callable[[str], tuple[str, int | None] | None]
"""Text and version of the file at a URI (an open document, else the disk), None if absent."""


class ActionError(Exception):
    """An action that could not make a clean edit; the message says why and what to do."""


class _Unusable(Exception):
    """One attempt gave nothing usable (the message says why); the next may do better."""


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


def module_name(path: Path) -> str:
    """The name a test imports the module at ``path`` by (its file name without ``.py``)."""
    return path.stem


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
        job = _Job(self, snapshot, site, settings, read_file or read_from_disk, can_create_files)
        queue = job.attempts() if retry else job.attempts()[:1]
        examples = job.examples() if settings.check_examples else None
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
                _check(edit)
            except _Unusable as exc:
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
            outcome = ActionOutcome(edit, number, form, total, job.generated, result)
            if result is None or not result.failing:
                best = outcome
                break
            if best is None or best.examples is None or result.failed < best.examples.failed:
                best = outcome
            queue = []
            if retries < EXAMPLE_RETRIES and job.can_chat():
                retries += 1
                again = functools.partial(job.chat_stub, _failed_example(result), RETRY_TEMPERATURE)
                queue = [("chat", again)]
        if best is not None:
            log.info(
                "%s on %s: %s in %d attempt(s), %d tokens, %.0f ms%s",
                site.action.value,
                site.name or "comment",
                best.form,
                best.attempts,
                job.generated,
                (time.perf_counter() - started) * 1000,
                f"; {best.examples.summary()}" if best.examples else "",
            )
            return best
        raise ActionError(
            f"codels could not {_VERBS[site.action]}: {'; then '.join(reasons)}. "
            "Nothing was changed; edit the comment or function and try again"
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


def _check(edit: ActionEdit) -> None:
    """Refuse an edit that breaks the syntax of a file it changes."""
    for change in edit.changes:
        result = change.result
        if change.create:
            tree = new_parser(PYTHON).parse(result.encode("utf-8", "surrogatepass"))
            if count_syntax_errors(tree.root_node):
                raise _Unusable("the new test file does not parse")
        elif adds_syntax_errors(change.base, result):
            raise _Unusable("the edited code does not parse")


class _Job:
    """One action's attempts, sharing what they learn."""

    def __init__(
        self,
        runner: ActionRunner,
        snapshot: DocumentSnapshot,
        site: Site,
        settings: Settings,
        read_file: ReadFile,
        can_create_files: bool,
    ) -> None:
        self.runner = runner
        self.engine = runner.engine
        self.snapshot = snapshot
        self.site = site
        self.settings = settings
        self.read_file = read_file
        self.can_create_files = can_create_files
        self.generated = 0
        self.last_answer = ""

    # -- planning -----------------------------------------------------------------------------

    def attempts(self) -> list[tuple[str, Callable[[], Awaitable[ActionEdit]]]]:
        """The attempts in order (the second runs only when the first fails)."""
        site = self.site
        if site.action is ActionKind.GENERATE and site.target is Target.TODO:
            return [("fim", self.fim_todo), ("chat", self.chat_rewrite)]
        if site.action is ActionKind.GENERATE:
            chat = self.chat_comment if site.target is Target.COMMENT else self.chat_stub
            fim = self.fim_comment if site.target is Target.COMMENT else self.fim_stub
            if self.settings.action_prompt == "fim":
                return [("fim", fim), ("chat", chat)]
            return [("chat", chat), ("fim", fim)]
        if site.action is ActionKind.DOCSTRING:
            return [("fim", self.fim_docstring), ("chat", self.chat_docstring)]
        if site.action is ActionKind.TESTS:
            return [("chat", self.chat_tests), ("chat", lambda: self.chat_tests(retry=True))]
        return [("chat", self.chat_rewrite), ("chat", self.chat_fix_retry)]

    def examples(self) -> Callable[[ActionEdit], Awaitable[ExamplesResult]] | None:
        """What checks an edit against the stub's docstring examples; None if there are none.

        Only a top-level function written for its stub is checked (a method's examples need
        an object, which the docstring may not say how to make).
        """
        site = self.site
        if site.action is not ActionKind.GENERATE or site.target is not Target.STUB:
            return None
        shape = function_at(self.snapshot, site.start)
        if shape is None or shape.indent or shape.class_name or shape.docstring is None:
            return None
        docstring = self.snapshot.text[shape.docstring[0] : shape.docstring[1]]
        name = shape.name
        examples = find_examples(docstring, name)
        if not examples.total:
            return None

        async def check(edit: ActionEdit) -> ExamplesResult:
            source = edit.changes[0].result
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, check_examples, source, name, examples)

        return check

    def can_chat(self) -> bool:
        """Whether the model has an instruction template (for a retry that says what failed)."""
        info = self.engine.info
        return info is not None and info.family is not None and bool(info.family.chat_template)

    # -- the model ----------------------------------------------------------------------------

    async def _generate(self, request: GenerationRequest) -> GenerationResult:
        try:
            result = await self.engine.generate(request)
        except ModelError as exc:
            raise ActionError(str(exc)) from exc
        except RuntimeError as exc:
            raise ActionError(f"the model cannot run now ({exc})") from exc
        if result.cancelled:
            raise ActionError("the generation was stopped")
        self.generated += result.generated_tokens
        return result

    def _key(self) -> str:
        return f"{self.snapshot.uri}#action"

    async def ask_chat(
        self,
        *,
        retry_note: str = "",
        module: str = "",
        function: str | None = None,
        temperature: float = 0.0,
    ) -> str:
        """The code block of the model's answer to the site's instruction prompt.

        With ``function`` (a name, or "" for the first function), generation stops once that
        function is written out.
        """
        info = self.engine.info
        family = info.family if info is not None else None
        if family is None or not family.chat_template:
            raise _Unusable("this model has no instruction template")
        limit = self.settings.context_size - self.settings.action_max_tokens
        prompt = chat_prompt(self.snapshot, self.site, retry_note=retry_note, module=module)
        text = family.chat_prompt(prompt.system, prompt.user)
        if self.runner._counter(text) > limit - PROMPT_MARGIN_TOKENS:
            prompt = chat_prompt(
                self.snapshot, self.site, retry_note=retry_note, module=module, with_context=False
            )
            text = family.chat_prompt(prompt.system, prompt.user)
        request = GenerationRequest(
            prompt=text,
            max_tokens=self.settings.action_max_tokens,
            key=self._key(),
            stop=family.cut_strings,
            should_stop=chat_stop_rule(function),
            chat=(prompt.system, prompt.user),
            temperature=temperature,
        )
        result = await self._generate(request)
        self.last_answer = result.text
        code = extract_code(result.text)
        if not code.strip():
            raise _Unusable("the model's answer held no code")
        return code

    async def ask_fim(self, text: str, cursor: int, *, function_end: str | None = None) -> str:
        """The completion at ``cursor`` of ``text`` (a blank line), as the pipeline cleans it.

        With ``function_end`` (an indentation), generation also stops at the first line
        indented no deeper than it after the function's body began.
        """
        info = self.engine.info
        if info is None:
            raise ActionError("the model is not loaded")
        snapshot = Document(self.snapshot.uri, "python", 0, text).snapshot()
        context = build_context(snapshot, cursor)
        if context.kind is not CompletionKind.BLOCK:
            raise _Unusable(f"no place for code here ({context.reason})")
        prompt = build_prompt(
            context, info.family, self.runner._counter, self.settings.prompt_budget()
        )
        rule = stop_rule(context, prompt.healed)
        stop = info.family.cut_strings if info.family else ()

        def should_stop(answer: str) -> bool:
            if function_end is not None:
                return function_end_index(answer, function_end) is not None
            return rule(answer)

        request = GenerationRequest(
            prompt=prompt.text,
            max_tokens=self.settings.action_max_tokens,
            key=self._key(),
            stop=stop,
            should_stop=should_stop,
        )
        result = await self._generate(request)
        self.last_answer = result.text
        raw = result.text
        if function_end is not None:
            end = function_end_index(raw, function_end)
            raw = raw if end is None else raw[:end]
        cleaned = clean_completion(
            raw,
            context,
            healed=prompt.healed,
            stop=stop,
            truncated=result.stop_reason == "length",
        )
        if not cleaned.text.strip():
            raise _Unusable(f"the model wrote nothing usable ({cleaned.note or 'empty'})")
        return cleaned.text

    # -- generate -----------------------------------------------------------------------------

    def _imports(self, imports: tuple[str, ...]) -> list[TextEdit]:
        edit = import_edit(self.snapshot, missing_imports(self.snapshot, imports))
        return [edit] if edit is not None else []

    def _document_change(self, edits: list[TextEdit]) -> FileChange:
        return FileChange(
            self.snapshot.uri, self.snapshot.text, tuple(edits), version=self.snapshot.version
        )

    def _shown(self, change: FileChange, anchor: int, inner: int = 0, start: int = -1) -> str:
        """The edited function as it reads after the change (for the CLI and logs).

        ``anchor`` is an offset of the original text at or before the function (edits that
        start before it, imports say, shift it); ``inner`` more characters lead into the
        function in the edited text; the shown text begins at ``start``'s line if that is
        earlier (a comment above).
        """
        result = change.result
        shift = sum(
            len(edit.text) - (edit.end - edit.start) for edit in change.edits if edit.start < anchor
        )
        snapshot = Document(change.uri, "python", 0, result).snapshot()
        at = min(anchor + shift + inner, max(0, len(result) - 1))
        shape = function_at(snapshot, at)
        if shape is None:
            return result
        lines = snapshot.lines
        first = lines.starts[lines.position_at(shape.start, "utf-32")[0]]
        if start >= 0:
            first = min(first, lines.starts[lines.position_at(start + shift, "utf-32")[0]])
        return result[first : shape.end]

    async def chat_stub(self, retry_note: str = "", temperature: float = 0.0) -> ActionEdit:
        """The function's body from the chat answer; ``retry_note``: what the last one missed."""
        shape = function_at(self.snapshot, self.site.start)
        if shape is None:
            raise ActionError("the function is gone")
        answer = await self.ask_chat(
            retry_note=retry_note, function=shape.name, temperature=temperature
        )
        parts = parse_code(answer, shape.name)
        if not parts.body.strip():
            raise _Unusable("the model's answer held no function body")
        change = self._document_change(
            [body_edit(self.snapshot, shape, parts.body), *self._imports(parts.imports)]
        )
        return ActionEdit((change,), self._shown(change, shape.header_end))

    async def fim_stub(self) -> ActionEdit:
        """The body infilled at a blank line where the placeholder was."""
        shape = function_at(self.snapshot, self.site.start)
        if shape is None:
            raise ActionError("the function is gone")
        text = self.snapshot.text
        lines = self.snapshot.lines
        if shape.statements:
            row, _ = lines.position_at(shape.statements[0][0], "utf-32")
            start = lines.starts[row]
            virtual = text[:start] + shape.body_indent + text[shape.statements[-1][1] :]
            cursor = start + len(shape.body_indent)
        else:
            assert shape.docstring is not None
            at = shape.docstring[1]
            virtual = text[:at] + "\n" + shape.body_indent + text[at:]
            cursor = at + 1 + len(shape.body_indent)
        completion = await self.ask_fim(virtual, cursor)
        body = textwrap.dedent(shape.body_indent + completion)
        change = self._document_change([body_edit(self.snapshot, shape, body)])
        return ActionEdit((change,), self._shown(change, shape.header_end))

    async def chat_comment(self) -> ActionEdit:
        """A new function below the comment, from the chat answer."""
        parts = parse_code(await self.ask_chat(function=self.site.name), self.site.name)
        if not parts.function.strip():
            raise _Unusable("the model's answer held no function")
        return self._comment_result(parts.function, parts.imports)

    async def fim_comment(self) -> ActionEdit:
        """A new function infilled on a blank line below the comment."""
        site = self.site
        text = self.snapshot.text
        virtual = text[: site.end] + "\n" + site.indent + text[site.end :]
        cursor = site.end + 1 + len(site.indent)
        completion = await self.ask_fim(virtual, cursor, function_end=site.indent)
        parts = parse_code(site.indent + completion, site.name)
        if not parts.function.strip():
            raise _Unusable("the model wrote no function")
        return self._comment_result(parts.function, ())

    def _comment_result(self, function: str, imports: tuple[str, ...]) -> ActionEdit:
        site = self.site
        change = self._document_change([comment_edit(site, function), *self._imports(imports)])
        inner = 1 + len(site.indent) + 1  # into the new function's first line
        return ActionEdit((change,), self._shown(change, site.end, inner, start=site.start))

    async def fim_todo(self) -> ActionEdit:
        """Code infilled on a blank line below the TODO comment (which stays)."""
        site = self.site
        text = self.snapshot.text
        virtual = text[: site.end] + "\n" + site.indent + text[site.end :]
        cursor = site.end + 1 + len(site.indent)
        completion = await self.ask_fim(virtual, cursor)
        change = self._document_change(
            [TextEdit(site.end, site.end, "\n" + site.indent + completion)]
        )
        return ActionEdit((change,), self._shown(change, site.start))

    async def chat_rewrite(self, retry_note: str = "") -> ActionEdit:
        """The whole function replaced by the chat answer's version (TODO, fix)."""
        shape = function_at(self.snapshot, self.site.start)
        if shape is None:
            raise ActionError("the function is gone")
        parts = parse_code(
            await self.ask_chat(retry_note=retry_note, function=shape.name), shape.name
        )
        if not parts.function.strip():
            raise _Unusable("the model's answer held no function")
        lines = self.snapshot.lines
        row, _ = lines.position_at(shape.start, "utf-32")
        original = textwrap.dedent(self.snapshot.text[lines.starts[row] : shape.end])
        if _same_code(parts.function, original):
            raise _Unusable("the model gave the function back unchanged")
        change = self._document_change(
            [function_edit(self.snapshot, shape, parts.function), *self._imports(parts.imports)]
        )
        line_start = lines.starts[row]
        return ActionEdit((change,), self._shown(change, line_start, len(shape.indent) + 1))

    async def chat_fix_retry(self) -> ActionEdit:
        """A second try at a fix, saying that the first did not work."""
        return await self.chat_rewrite(
            retry_note="Your previous answer was not a valid, changed function. Reply with the "
            "corrected complete function only.",
        )

    # -- docstring ----------------------------------------------------------------------------

    async def fim_docstring(self) -> ActionEdit:
        """The docstring's words infilled between opening and closing quotes."""
        info = self.engine.info
        shape = function_at(self.snapshot, self.site.start)
        if shape is None:
            raise ActionError("the function is gone")
        if info is None or info.family is None:
            raise _Unusable("this model cannot infill")
        text = self.snapshot.text
        lines = self.snapshot.lines
        header_line_end = lines.starts[shape.header_row] + len(lines.line_text(shape.header_row))
        prefix = text[:header_line_end] + "\n" + shape.body_indent + '"""'
        prefix = prefix[-12_000:]
        suffix = "\n" + text[header_line_end + 1 : shape.end][:2_000] + "\n"
        family = info.family
        request = GenerationRequest(
            prompt=family.fim_prompt(prefix, suffix),
            max_tokens=DOCSTRING_MAX_TOKENS,
            key=self._key(),
            stop=family.cut_strings,
            should_stop=lambda answer: '"""' in answer or "'''" in answer,
        )
        result = await self._generate(request)
        self.last_answer = result.text
        words = result.text.split('"""', 1)[0].split("'''", 1)[0]
        for marker in family.cut_strings:
            words = words.split(marker, 1)[0]
        if result.stop_reason == "length" and "\n" in words:
            words = words[: words.rfind("\n")]
        if not words.strip() or len(words.split()) < 2:
            raise _Unusable("the model wrote no docstring")
        docstring = format_docstring(words, shape.body_indent)
        change = self._document_change([docstring_edit(shape, docstring)])
        return ActionEdit((change,), self._shown(change, shape.start))

    async def chat_docstring(self) -> ActionEdit:
        """The docstring of the function the chat answer gives back."""
        shape = function_at(self.snapshot, self.site.start)
        if shape is None:
            raise ActionError("the function is gone")
        parts = parse_code(await self.ask_chat(function=shape.name), shape.name)
        if not parts.docstring:
            raise _Unusable("the model's answer held no docstring")
        docstring = format_docstring(docstring_words(parts.docstring), shape.body_indent)
        change = self._document_change([docstring_edit(shape, docstring)])
        return ActionEdit((change,), self._shown(change, shape.start))

    # -- tests --------------------------------------------------------------------------------

    async def chat_tests(self, retry: bool = False) -> ActionEdit:
        """Write pytest tests, appended to the module's test file or in a new one beside it."""
        shape = function_at(self.snapshot, self.site.start)
        module_path = path_of(self.snapshot.uri)
        if shape is None or module_path is None:
            raise ActionError("tests can be written for functions in files on disk only")
        module = module_name(module_path)
        imported = shape.class_name or shape.name
        note = (
            "Your previous answer held no test function. Write functions named test_... only."
            if retry
            else ""
        )
        code = await self.ask_chat(retry_note=note, module=module)
        import_line = f"from {module} import {imported}"
        tests = tidy_tests(code, exclude=(shape.name, shape.class_name), import_line=import_line)
        if not tests:
            raise _Unusable("the model's answer held no test function")
        destination = self.test_destination(module_path)
        if destination is None:
            raise ActionError(
                f"there is no test file for {module_path.name} and the editor cannot create "
                "files through code actions; create test_"
                f"{module_path.stem}.py and try again"
            )
        uri, existing = destination
        if existing is None:
            header = f'"""Tests for {module}."""\n\n'
            change = FileChange(uri, "", (TextEdit(0, 0, header + tests),), create=True)
        else:
            base, version = existing
            tests = _without_present_imports(tests, base)
            spacer = "" if not base.strip() else ("\n\n" if base.endswith("\n") else "\n\n\n")
            change = FileChange(
                uri, base, (TextEdit(len(base), len(base), spacer + tests),), version=version
            )
        return ActionEdit((change,), tests)

    def test_destination(
        self, module_path: Path
    ) -> tuple[str, tuple[str, int | None] | None] | None:
        """The test file's URI and, if it exists, its text and version; None if impossible."""
        for candidate in candidate_test_files(module_path):
            uri = candidate.as_uri()
            found = self.read_file(uri)
            if found is not None:
                return uri, found
        if not self.can_create_files:
            return None
        return new_test_file(module_path).as_uri(), None


def _same_code(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


def _without_present_imports(tests: str, base: str) -> str:
    present = {" ".join(line.split()) for line in base.splitlines()}
    kept = [
        line
        for line in tests.split("\n")
        if not (line.startswith(("import ", "from ")) and " ".join(line.split()) in present)
    ]
    return "\n".join(kept).lstrip("\n")
