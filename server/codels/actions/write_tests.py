"""Writing pytest tests for a function, into the module's test file or a new one beside it.

Chat only; the retry says the first answer held no test. Imports the actions modules below it,
:mod:`codels.privacy` and :mod:`codels.languages`.
"""

from __future__ import annotations

from pathlib import Path

from codels.actions.edits import ActionEdit, FileChange, TextEdit
from codels.actions.errors import ActionError, Unusable
from codels.actions.job import Attempt, Job
from codels.actions.sites import function_at
from codels.languages.python.functions import (
    header_of_test_file,
    import_statement,
    module_name,
    tidy_tests,
    without_present_imports,
)
from codels.languages.python.testfiles import new_test_file
from codels.privacy import path_of

RETRY_NOTE = "Your previous answer held no test function. Write functions named test_... only."

TestFile = tuple[str, tuple[str, int | None] | None]
"""A test file's URI and, if it exists, its text and version."""


def attempts(job: Job) -> list[Attempt]:
    """Chat, then chat again saying that the first held no test."""
    return [("chat", lambda: chat_tests(job)), ("chat", lambda: chat_tests(job, retry=True))]


async def chat_tests(job: Job, retry: bool = False) -> ActionEdit:
    """Write pytest tests, appended to the module's test file or in a new one beside it."""
    shape = function_at(job.snapshot, job.site.start)
    module_path = path_of(job.snapshot.uri)
    if shape is None or module_path is None:
        raise ActionError("tests can be written for functions in files on disk only")
    module = module_name(module_path)
    imported = shape.class_name or shape.name
    code = await job.ask_chat(retry_note=RETRY_NOTE if retry else "", module=module)
    import_line = import_statement(module, imported)
    tests = tidy_tests(code, exclude=(shape.name, shape.class_name), import_line=import_line)
    if not tests:
        raise Unusable("the model's answer held no test function")
    destination = test_destination(job, module_path)
    if destination is None:
        raise ActionError(
            f"there is no test file for {module_path.name} and the editor cannot create "
            f"files through code actions; create {new_test_file(module_path).name} and try again"
        )
    uri, existing = destination
    if existing is None:
        header = header_of_test_file(module)
        change = FileChange(uri, "", (TextEdit(0, 0, header + tests),), create=True)
    else:
        base, version = existing
        tests = without_present_imports(tests, base)
        spacer = "" if not base.strip() else ("\n\n" if base.endswith("\n") else "\n\n\n")
        change = FileChange(
            uri, base, (TextEdit(len(base), len(base), spacer + tests),), version=version
        )
    return ActionEdit((change,), tests)


def test_destination(job: Job, module_path: Path) -> TestFile | None:
    """The test file's URI and, if it exists, its text and version; None if impossible."""
    language = job.snapshot.language
    find = language.candidate_test_files if language is not None else None
    for candidate in find(module_path) if find is not None else ():
        uri = candidate.as_uri()
        found = job.read_file(uri)
        if found is not None:
            return uri, found
    if not job.can_create_files:
        return None
    return new_test_file(module_path).as_uri(), None
