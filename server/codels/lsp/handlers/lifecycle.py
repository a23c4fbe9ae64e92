"""Session handlers: ``initialize``, ``initialized``, configuration changes and ``shutdown``.

``initialize`` reads settings (``initializationOptions``) and what the client can do;
``initialized`` shows settings problems, pulls the ``codels`` configuration section where the
client offers it and starts loading the model. This module imports lsprotocol, config and
:mod:`codels.lsp`'s capabilities and inline handlers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from codels.config import read_settings
from codels.lsp.capabilities import ClientFeatures
from codels.lsp.handlers.inline import text_document_completion

if TYPE_CHECKING:
    from codels.lsp.server import CodelsLanguageServer

log = logging.getLogger(__name__)


def initialize(ls: CodelsLanguageServer, params: types.InitializeParams) -> None:
    """Read the client's capabilities and settings; offer completion items if need be."""
    ls.client = ClientFeatures.of(params.capabilities, ls.workspace.position_encoding)
    settings, problems = read_settings(params.initialization_options, ls.settings)
    ls.use_settings(settings)
    ls.pending_problems = problems
    # Completion items only for clients without inline completion: an editor that has both
    # would run the model twice per keystroke.
    if not ls.client.inline_completion:
        ls.feature(
            types.TEXT_DOCUMENT_COMPLETION,
            types.CompletionOptions(resolve_provider=False),
        )(text_document_completion)
    log.info(
        "client %s: inline completion %s, position encoding %s",
        params.client_info.name if params.client_info else "?",
        "yes" if ls.client.inline_completion else "no (completion items instead)",
        ls.client.position_encoding,
    )


async def initialized(ls: CodelsLanguageServer, params: types.InitializedParams) -> None:
    """Show settings problems, pull the configuration, start loading the model."""
    for problem in ls.pending_problems:
        ls.tell(types.MessageType.Warning, problem)
    pulled = await ls.pull_configuration()
    if pulled:
        ls.apply_settings(pulled)
    ls.model.start_loading()


async def workspace_did_change_configuration(
    ls: CodelsLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    """Take the new settings (pulled, where the notification carries none)."""
    raw = params.settings
    if not raw:
        raw = await ls.pull_configuration()
    ls.apply_settings(raw)


def shutdown(ls: CodelsLanguageServer, params: None) -> None:
    """Write the acceptance counts; close the engine (a loaded model, a remote session)."""
    ls.acceptance.flush()
    ls.engine.close()
