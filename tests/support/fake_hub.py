"""A loopback HTTP server that answers like the Hugging Face hub's file endpoint.

``HEAD``/``GET /{owner}/{repo}/resolve/{revision}/{file}`` with the headers huggingface_hub reads
(``X-Repo-Commit``, ``ETag`` with the file's sha256 as the hub gives for LFS files,
``Content-Length``) and HTTP range requests. Faults a real hub cannot be made to produce on cue:
drop the connection after some bytes, serve slowly, answer 401, or serve bytes that do not match
the ETag.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class HubFile:
    """One file the fake hub serves."""

    content: bytes
    etag: str = ""
    """Defaults to the content's sha256 (what the hub sends for LFS files)."""

    def __post_init__(self) -> None:
        self.etag = self.etag or hashlib.sha256(self.content).hexdigest()


@dataclass
class FakeHub:
    """The server's files, faults and the requests it saw."""

    files: dict[str, HubFile] = field(default_factory=dict)
    """Path ``owner/repo/resolve/revision/file`` -> file."""
    drop_after: int | None = None
    """Close the connection after this many body bytes, once (then serve normally)."""
    delay_per_chunk: float = 0.0
    """Seconds to sleep between 64 KiB chunks (a slow network)."""
    status: int | None = None
    """Answer every request with this status (401, 404, ...)."""
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    """(method, path, Range header) of each request."""

    def start(self) -> str:
        """Serve on a free loopback port in a daemon thread; returns the base URL."""
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                path = self.path.split("?")[0].lstrip("/")
                hub.requests.append((self.command, path, self.headers.get("Range", "")))
                if hub.status is not None:
                    self.send_response(hub.status)
                    self.send_header("Content-Length", "0")
                    self.send_header("X-Error-Code", "RepoNotFound" if hub.status == 404 else "")
                    self.end_headers()
                    return
                served = hub.files.get(path)
                if served is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = served.content
                start = 0
                ranged = self.headers.get("Range", "")
                if ranged.startswith("bytes=") and body:
                    start = int(ranged[6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("ETag", f'"{served.etag}"')
                self.send_header("X-Repo-Commit", "a" * 40)
                self.end_headers()
                if not body:
                    return
                sent = 0
                for offset in range(start, len(data), 65536):
                    chunk = data[offset : offset + 65536]
                    if hub.drop_after is not None and sent + len(chunk) > hub.drop_after:
                        self.wfile.write(chunk[: hub.drop_after - sent])
                        self.wfile.flush()
                        hub.drop_after = None
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    if hub.delay_per_chunk:
                        time.sleep(hub.delay_per_chunk)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
