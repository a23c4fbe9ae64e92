"""What the person did with a suggestion: ``codels.accepted`` and ``codels.acceptedPart``.

Every inline item carries ``codels.accepted`` with its id as its command, which editors run when
the whole item is accepted; an editor that accepts part of one (a word, a line) sends
``codels.acceptedPart`` itself with the id and the characters kept. A partial accept makes that
suggestion the one whose rest is served as the person goes on (it may be one of several offered
for cycling). Both count into the local acceptance statistics. This module imports lsprotocol and
:mod:`codels.completion.acceptance`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from codels.completion.acceptance import Offered

if TYPE_CHECKING:
    from codels.lsp.server import CodelsLanguageServer

log = logging.getLogger(__name__)

ACCEPTED = "codels.accepted"
"""Command: the suggestion with the id in its argument was accepted whole."""
ACCEPTED_PART = "codels.acceptedPart"
"""Command: part of the suggestion with this id was accepted (``{"id", "chars"}``)."""
COMMANDS = (ACCEPTED, ACCEPTED_PART)


def accepted_command(suggestion_id: str) -> types.Command:
    """The command an inline item carries, for the editor to run on accept."""
    return types.Command(
        title="codels: accepted", command=ACCEPTED, arguments=[{"id": suggestion_id}]
    )


def _argument(args: tuple[Any, ...]) -> dict[str, Any]:
    first = args[0] if args else None
    return first if isinstance(first, dict) else {}


def _offered(ls: CodelsLanguageServer, argument: dict[str, Any]) -> Offered | None:
    offered = ls.offered.get(argument.get("id"))
    if offered is None:
        log.info("an accept for a suggestion no longer remembered (%r)", argument.get("id"))
    return offered


def codels_accepted(ls: CodelsLanguageServer, *args: Any) -> bool:
    """``codels.accepted``: the whole suggestion went into the document.

    Answers whether the suggestion was one this server remembers (and so was counted), which
    the bench reads for its "suggestions accepted" figure.
    """
    offered = _offered(ls, _argument(args))
    if offered is None:
        return False
    log.debug("accepted %s suggestion (%d chars)", offered.kind, len(offered.text))
    ls.acceptance.accepted(ls.offered.root(offered))
    return True


def codels_accepted_part(ls: CodelsLanguageServer, *args: Any) -> None:
    """``codels.acceptedPart``: the first ``chars`` characters of the suggestion went in."""
    argument = _argument(args)
    offered = _offered(ls, argument)
    if offered is None:
        return
    ls.completions.shown.prefer(offered.uri, offered.text)
    chars = argument.get("chars")
    log.debug("accepted %r chars of a %s suggestion", chars, offered.kind)
    if isinstance(chars, int) and not isinstance(chars, bool):
        ls.acceptance.accepted_part(ls.offered.root(offered), chars)
