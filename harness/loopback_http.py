"""A loopback HTTP server that answers every call alike: what stands at a wrong address."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer


class _Answer(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        # Read the request first, so the client sees the answer and not a reset connection.
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.seen.append(self.path)
        self.send_response(self.server.status)
        self.send_header("Content-Type", self.server.content_type)
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # stderr belongs to the command under test


class _Server(ThreadingHTTPServer):
    def __init__(self, status: int, body: bytes, content_type: str, seen: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.status, self.body, self.content_type = status, body, content_type
        self.seen = seen


@contextmanager
def serving(
    status: int, body: bytes, content_type: str = "text/html", seen: list[str] | None = None
) -> Iterator[str]:
    """The URL of a loopback server answering every POST with ``status`` and ``body``;
    ``seen`` gets the target of each request (the whole URL when it serves as a proxy)."""
    with in_thread(_Server(status, body, content_type, [] if seen is None else seen)) as url:
        yield url


@contextmanager
def in_thread(server: HTTPServer) -> Iterator[str]:
    """``server`` (bound to 127.0.0.1) serving from a thread of its own: its base URL."""
    with server:
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            thread.join()
