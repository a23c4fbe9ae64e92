"""Records every internet socket a Python process opens, binds or connects (an audit hook).

Put this folder on PYTHONPATH and name a file in CODELS_AUDIT_LOG: each socket event is
appended to it as one line. Used by the privacy test to prove that the server talks to no one.
"""

import os
import socket
import sys

_LOG = os.environ.get("CODELS_AUDIT_LOG")
_EVENTS = {"socket.__new__", "socket.bind", "socket.connect", "socket.getaddrinfo", "socket.sendto"}


def _internet(event: str, args: tuple) -> bool:
    if event == "socket.__new__":  # (socket, family, type, proto): asyncio's own pipes are AF_UNIX
        return args[1] in (socket.AF_INET, socket.AF_INET6)
    if event == "socket.getaddrinfo":
        return True
    return isinstance(args[1], tuple)  # (socket, address): a tuple is an internet address


def _hook(event: str, args: tuple) -> None:
    if event in _EVENTS and _LOG and _internet(event, args):
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{event} {args!r}\n")


if _LOG:
    sys.addaudithook(_hook)
