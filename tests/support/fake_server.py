"""Runs the real codels server over stdio with a fake engine (for fast server tests).

Environment: CODELS_FAKE_RESPONSE (the answer to every request), CODELS_FAKE_CHAT_RESPONSE (the
answer to instruction prompts, default the same), CODELS_FAKE_TOKEN_DELAY and
CODELS_FAKE_LOAD_DELAY (seconds).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

# The server of the checkout these tests belong to, not whichever codels is installed: the
# clients start this script with an environment of their own (no PYTHONPATH of the caller).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server"))

from fake_engine import FakeEngine

from codels.engines.base import GenerationRequest
from codels.lsp.server import create_server

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
logging.getLogger("pygls").setLevel(logging.WARNING)

ANSWER = os.environ.get("CODELS_FAKE_RESPONSE", " return 42\n")
CHAT_ANSWER = os.environ.get("CODELS_FAKE_CHAT_RESPONSE", ANSWER)


def respond(request: GenerationRequest) -> str:
    return CHAT_ANSWER if request.chat is not None else ANSWER


engine = FakeEngine(
    respond,
    token_delay=float(os.environ.get("CODELS_FAKE_TOKEN_DELAY", "0")),
    load_delay=float(os.environ.get("CODELS_FAKE_LOAD_DELAY", "0")),
)
create_server(engine=engine).start_io(sys.stdin.buffer, sys.stdout.buffer)
