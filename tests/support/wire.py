"""A raw LSP client over stdio: frames any bytes, reads every answer (for fuzz and storm tests).

pytest-lsp's client only sends well-formed messages; these tests also need to send what no
client should, and to watch exactly what comes back.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


class WireClient:
    """Starts a server command and speaks JSON-RPC to it, frame by frame."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.answers: dict[Any, dict[str, Any]] = {}
        self.notifications: queue.Queue[dict[str, Any]] = queue.Queue()
        self.unreadable_answers = 0
        self._lock = threading.Condition()
        self._next_id = 0
        self.sent = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            assert length is not None, "the server sent a frame without Content-Length"
            message = json.loads(stream.read(length))
            with self._lock:
                if "id" in message and "method" not in message:
                    if message["id"] is None:
                        self.unreadable_answers += 1
                    self.answers[message["id"]] = message
                elif "id" not in message or message.get("id") is None:
                    if "method" in message:
                        self.notifications.put(message)
                    else:
                        self.unreadable_answers += 1  # an error for id null
                else:
                    # A request from the server (progress tokens, configuration): answer it.
                    self._write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": None}))
                self._lock.notify_all()

    def _write(self, body: str | bytes) -> None:
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.process.stdin.flush()
        self.sent += 1

    def new_id(self) -> int:
        """A request id not used before."""
        self._next_id += 1
        return self._next_id

    def request(self, method: str, params: Any = None, msg_id: int | None = None) -> int:
        """Send a request (without waiting); returns its id."""
        msg_id = self.new_id() if msg_id is None else msg_id
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id

    def notify(self, method: str, params: Any = None) -> None:
        """Send a notification."""
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def send(self, message: Any) -> None:
        """Send any JSON value (lone surrogates escaped, as JSON allows)."""
        with self._lock:
            self._write(json.dumps(message))

    def send_raw(self, body: bytes) -> None:
        """Send any bytes as one frame's body."""
        with self._lock:
            self._write(body)

    def wait_for(self, ids: list[int], timeout: float) -> list[int]:
        """Wait until every id is answered; returns the ids still unanswered at the timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                missing = [i for i in ids if i not in self.answers]
                left = deadline - time.monotonic()
                if not missing or left <= 0 or self.process.poll() is not None:
                    return missing
                self._lock.wait(min(left, 0.5))

    def call(self, method: str, params: Any = None, timeout: float = 60) -> dict[str, Any]:
        """Send a request and wait for its answer."""
        msg_id = self.request(method, params)
        missing = self.wait_for([msg_id], timeout)
        assert not missing, f"{method} got no answer in {timeout} s"
        return self.answers[msg_id]

    def initialize(self, options: Any = None, capabilities: Any = None) -> dict[str, Any]:
        """The initialize handshake."""
        answer = self.call(
            "initialize",
            {
                "processId": None,
                "rootUri": None,
                "capabilities": capabilities
                or {"textDocument": {"inlineCompletion": {"dynamicRegistration": False}}},
                "initializationOptions": options,
            },
        )
        self.notify("initialized", {})
        return answer

    def close(self) -> None:
        """Shut the server down (or kill it)."""
        if self.process.poll() is None:
            try:
                self.call("shutdown", None, timeout=10)
                self.notify("exit")
                self.process.wait(timeout=10)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


SUPPORT = Path(__file__).resolve().parent


def start_fake_server(**env: str) -> WireClient:
    """The real server with the fake engine (tests/support/fake_server.py), initialized.

    ``env`` sets the fake engine's CODELS_FAKE_* variables.
    """
    client = WireClient(
        [sys.executable, str(SUPPORT / "fake_server.py")],
        {**os.environ, "PYTHONPATH": str(SUPPORT), **env},
    )
    client.initialize()
    return client
