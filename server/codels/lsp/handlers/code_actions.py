"""Code action handlers: ``textDocument/codeAction`` lists at once, ``codeAction/resolve`` runs.

Listing finds the sites that apply (tree-sitter only, no model); resolving finds its site again
from the action's ``data`` and runs the model with work-done progress. Both pass the shared
document check; files on disk are read in a worker thread, never on the event loop. This
module imports pygls's errors, lsprotocol, :mod:`codels.lsp.model`, actions, documents,
languages, positions and privacy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcContentModified, JsonRpcInvalidParams

from codels.actions.errors import ActionError
from codels.actions.job import ReadFile
from codels.actions.runner import read_from_disk
from codels.actions.sites import ActionKind, Problem, Site, action_for_command, find_sites
from codels.documents import DocumentSnapshot
from codels.languages.base import Language
from codels.lsp.model import ModelState
from codels.positions import LineIndex, PositionEncoding, PositionError
from codels.privacy import path_of

if TYPE_CHECKING:
    from codels.lsp.server import CodelsLanguageServer

log = logging.getLogger(__name__)

ACTION_KINDS = [
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.QuickFix,
    *(kind.lsp_kind for kind in ActionKind),
]
"""The code action kinds codels offers."""

Found = tuple[DocumentSnapshot, int, int, list[Problem], list[Site]]
"""A listing's snapshot, range (code points), the request's problems and the sites found."""


async def text_document_code_action(
    ls: CodelsLanguageServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    """List codels's actions at once; the model runs only in ``codeAction/resolve``.

    A client that cannot resolve gets the edits computed here, when the person asked for
    the actions (never for an automatic request, such as a light bulb on cursor moves).
    """
    found = await action_sites(ls, params)
    if found is None:
        return []
    snapshot, start, end, problems, sites = found
    actions = [_listed(site, snapshot, start, end, problems, params) for site in sites]
    if ls.client.code_action_resolve or not actions:
        return actions
    if params.context.trigger_kind == types.CodeActionTriggerKind.Automatic:
        log.info("client cannot resolve code actions: none offered on an automatic request")
        return []
    resolved = []
    for action, site in zip(actions, sites, strict=True):
        edit = await run_action(ls, snapshot, site)
        if edit is not None:
            action.edit = edit
            action.data = None
            resolved.append(action)
    return resolved


async def code_action_resolve(
    ls: CodelsLanguageServer, params: types.CodeAction
) -> types.CodeAction:
    """Run the model for an action listed earlier and attach its workspace edit."""
    snapshot, site = _site_of(ls, params.data)
    edit = await run_action(ls, snapshot, site)
    params.edit = edit
    return params


def _listed(
    site: Site,
    snapshot: DocumentSnapshot,
    start: int,
    end: int,
    problems: list[Problem],
    params: types.CodeActionParams,
) -> types.CodeAction:
    """The unresolved action for ``site``; its ``data`` is what resolving needs to find it."""
    data = {
        "command": site.action.command,
        "uri": snapshot.uri,
        "version": snapshot.version,
        "start": start,
        "end": end,
        "anchor": site.start,
        "problems": [[p.start, p.end, p.message, p.source, p.code] for p in problems],
    }
    return types.CodeAction(
        title=site.title,
        kind=site.action.lsp_kind,
        data=data,
        diagnostics=list(params.context.diagnostics) if site.diagnostics else None,
    )


async def action_sites(ls: CodelsLanguageServer, params: types.CodeActionParams) -> Found | None:
    """The actions that apply to a ``textDocument/codeAction`` request (no model)."""
    uri = params.text_document.uri
    document, _ = await ls.workable_document(uri)
    if document is None:
        return None
    encoding = ls.client.position_encoding
    lines = document.lines
    try:
        start = lines.offset_at(params.range.start.line, params.range.start.character, encoding)
        end = lines.offset_at(params.range.end.line, params.range.end.character, encoding)
    except PositionError as exc:
        raise JsonRpcInvalidParams(
            f"codels: the code action range lies outside {uri} ({exc}); the editor and "
            "codels may be out of sync: reopen the file"
        ) from exc
    problems = _problems(lines, params.context.diagnostics, encoding, uri)
    snapshot = document.snapshot(around=start)
    sites = find_sites(
        snapshot,
        min(start, end),
        max(start, end),
        problems=problems,
        can_write_tests=await _can_write_tests(ls, uri, snapshot.language),
    )
    only = [str(getattr(kind, "value", kind)) for kind in params.context.only or []]
    if only:
        sites = [site for site in sites if _kind_matches(site.action.lsp_kind, only)]
    return snapshot, min(start, end), max(start, end), problems, sites


def _problems(
    lines: LineIndex,
    diagnostics: Sequence[types.Diagnostic],
    encoding: PositionEncoding,
    uri: str,
) -> list[Problem]:
    """The request's diagnostics of other tools, as problems in code points."""
    problems: list[Problem] = []
    for diagnostic in diagnostics:
        if diagnostic.source == "codels":
            continue
        start, end = diagnostic.range.start, diagnostic.range.end
        try:
            problems.append(
                Problem(
                    lines.offset_at(start.line, start.character, encoding),
                    lines.offset_at(end.line, end.character, encoding),
                    diagnostic.message,
                    diagnostic.source or "",
                    str(diagnostic.code) if diagnostic.code is not None else "",
                )
            )
        except PositionError:
            log.info("ignoring a diagnostic outside %s", uri)
    return problems


def _kind_matches(kind: str, only: list[str]) -> bool:
    return any(kind == wanted or kind.startswith(wanted + ".") for wanted in only if wanted)


def _site_of(ls: CodelsLanguageServer, data: Any) -> tuple[DocumentSnapshot, Site]:
    """Find again the site an action's ``data`` describes; LSP errors for what does not fit."""
    if not isinstance(data, dict) or action_for_command(str(data.get("command"))) is None:
        raise JsonRpcInvalidParams(
            "codels: this code action is not one of codels's (unknown command or no data)"
        )
    action = action_for_command(str(data["command"]))
    uri = str(data.get("uri", ""))
    document = ls.documents.get(uri)
    if document is None:
        raise JsonRpcInvalidParams(f"codels: {uri or 'the document'} is not open")
    if data.get("version") != document.version:
        raise JsonRpcContentModified(
            "codels: the document changed since the action was offered; ask for it again"
        )
    try:
        start, end, anchor = int(data["start"]), int(data["end"]), int(data["anchor"])
        problems = [
            Problem(int(p[0]), int(p[1]), str(p[2]), str(p[3]), str(p[4]))
            for p in data.get("problems", [])
        ]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise JsonRpcInvalidParams(f"codels: malformed code action data ({exc})") from exc
    snapshot = document.snapshot(around=start)
    sites = find_sites(snapshot, start, end, problems=problems)
    site = next((s for s in sites if s.action is action and s.start == anchor), None)
    if site is None:
        raise JsonRpcContentModified(
            "codels: the action no longer applies here; ask for code actions again"
        )
    return snapshot, site


async def run_action(
    ls: CodelsLanguageServer, snapshot: DocumentSnapshot, site: Site
) -> types.WorkspaceEdit | None:
    """Run the model for ``site`` with progress; None (and a message) if it failed."""
    if ls.model.state is not ModelState.READY:
        ls.tell(
            types.MessageType.Warning,
            f"codels: the model is {ls.model.state.value}; try again once it is ready",
        )
        return None
    token = await ls.begin_progress(f"codels: {site.title}")
    loop = asyncio.get_running_loop()

    def progress(message: str) -> None:
        if token is not None:
            report = types.WorkDoneProgressReport(message=message)
            loop.call_soon(ls.work_done_progress.report, token, report)

    message = "done"
    try:
        outcome = await ls.actions.run(
            snapshot,
            site,
            ls.settings,
            progress=progress,
            read_file=await _file_reader(ls, snapshot, site),
            can_create_files=ls.client.create_files,
        )
        if outcome.examples is not None:
            message = f"done; {outcome.examples.summary()}"
            if outcome.examples.no_sandbox:
                problem = f"the docstring's examples were not run: {outcome.examples.problem}"
                ls.tell_once("sandbox", types.MessageType.Warning, problem)
            if outcome.examples.failing:
                ls.tell(
                    types.MessageType.Info, f"codels: {site.title}: {outcome.examples.summary()}"
                )
    except ActionError as exc:
        message = "failed"
        log.warning("%s: %s", site.title, exc)
        ls.tell(types.MessageType.Warning, str(exc))
        return None
    except asyncio.CancelledError:
        message = "cancelled"
        log.info("%s cancelled: generation stopped", site.title)
        raise
    finally:
        if token is not None:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
    current = ls.documents.get(snapshot.uri)
    if current is None or current.version != snapshot.version:
        ls.tell(
            types.MessageType.Warning,
            f"codels: {snapshot.uri.rsplit('/', 1)[-1]} changed while codels was writing; "
            "nothing was applied: run the action again",
        )
        return None
    return ls.workspace_edit(outcome.edit)


def _test_files(language: Language | None) -> Callable[[Path], list[Path]] | None:
    """Where ``language`` says a module's tests may live; None: it knows no test files."""
    return language.candidate_test_files if language is not None else None


async def _can_write_tests(ls: CodelsLanguageServer, uri: str, language: Language | None) -> bool:
    """Whether there is somewhere to put tests for the module at ``uri`` (in ``language``)."""
    path = path_of(uri)
    test_files = _test_files(language)
    if path is None or test_files is None:
        return False
    if ls.client.create_files:
        return True
    candidates = [candidate.as_uri() for candidate in test_files(path)]
    if any(ls.documents.get(candidate) is not None for candidate in candidates):
        return True
    return await asyncio.to_thread(
        lambda: any(read_from_disk(candidate) is not None for candidate in candidates)
    )


async def _file_reader(
    ls: CodelsLanguageServer, snapshot: DocumentSnapshot, site: Site
) -> ReadFile:
    """How the action reads other files: open documents as they stand, else the disk.

    The runner reads synchronously, so the files it may read (writing tests reads the module's
    test files, and nothing else reads any) are read from disk here, in a worker thread.
    """
    path = path_of(snapshot.uri)
    test_files = _test_files(snapshot.language)
    on_disk: dict[str, tuple[str, int | None] | None] = {}
    if site.action is ActionKind.TESTS and path is not None and test_files is not None:
        uris = [candidate.as_uri() for candidate in test_files(path)]
        on_disk = await asyncio.to_thread(lambda: {uri: read_from_disk(uri) for uri in uris})

    def read_file(uri: str) -> tuple[str, int | None] | None:
        document = ls.documents.get(uri)
        if document is not None:
            return document.text, document.version
        if uri in on_disk:
            return on_disk[uri]
        return read_from_disk(uri)  # a file no action reads today: read where asked

    return read_file
