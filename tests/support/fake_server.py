"""Runs the real codels server over stdio with a fake engine (for fast server tests).

With arguments other than ``--stdio`` it is the real ``codels`` command (``models list``, ...).

Environment: CODELS_FAKE_RESPONSE (the answer to every request), CODELS_FAKE_CHAT_RESPONSE (the
answer to instruction prompts, default the same), CODELS_FAKE_ALTERNATIVES (a JSON list: the
answers to sampled requests, one per attempt of the alternatives' seeds in turn),
CODELS_FAKE_TOKEN_DELAY and CODELS_FAKE_LOAD_DELAY (seconds), CODELS_FAKE_RUNS_FILE (a file
that gets one line per generation the engine runs, so that a test in an editor that cannot ask
the server can count them).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

# The server of the checkout these tests belong to, not whichever codels is installed: the
# clients start this script with an environment of their own (no PYTHONPATH of the caller).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server"))

from fake_engine import FakeEngine

from codels.completion.alternatives import FIRST_SEED, SEED_STEP
from codels.engines.base import GenerationRequest
from codels.lsp.server import create_server

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
logging.getLogger("pygls").setLevel(logging.WARNING)

ANSWER = os.environ.get("CODELS_FAKE_RESPONSE", " return 42\n")
CHAT_ANSWER = os.environ.get("CODELS_FAKE_CHAT_RESPONSE", ANSWER)
ALTERNATIVES: list[str] = json.loads(os.environ.get("CODELS_FAKE_ALTERNATIVES", "[]"))
RUNS_FILE = os.environ.get("CODELS_FAKE_RUNS_FILE")


def respond(request: GenerationRequest) -> str:
    if RUNS_FILE:
        with open(RUNS_FILE, "a", encoding="utf-8") as runs:
            runs.write(json.dumps({"temperature": request.temperature}) + "\n")
    if request.chat is not None:
        return CHAT_ANSWER
    if request.temperature > 0 and request.seed is not None and ALTERNATIVES:
        attempt = (request.seed - FIRST_SEED) // SEED_STEP
        return ALTERNATIVES[attempt % len(ALTERNATIVES)]
    return ANSWER


if len(sys.argv) > 1 and sys.argv[1:] != ["--stdio"]:
    # A command (`models list`, ...): the real command line, as editors run it beside the server.
    from codels.tools.cli import main

    sys.exit(main(sys.argv[1:]))

engine = FakeEngine(
    respond,
    token_delay=float(os.environ.get("CODELS_FAKE_TOKEN_DELAY", "0")),
    load_delay=float(os.environ.get("CODELS_FAKE_LOAD_DELAY", "0")),
)
create_server(engine=engine).start_io(sys.stdin.buffer, sys.stdout.buffer)
