"""Shared fixtures: a scriptable HTTP server on loopback, the upstream mirror, synthetic tables."""

from __future__ import annotations

import gzip
import http.server
import socket
import struct
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SHARED_UPSTREAM = Path(__file__).resolve().parents[2] / "shared" / "upstream"

Step = Callable[[http.server.BaseHTTPRequestHandler], None]


def ok(body: bytes, content_type: str = "text/csv") -> Step:
    def step(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return step


def gzipped(body: bytes, keep: int | None = None) -> Step:
    """Serve the body gzip-compressed, as GitHub does when asked (optionally cut short)."""
    packed = gzip.compress(body)

    def step(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/csv")
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(packed)))
        h.end_headers()
        h.wfile.write(packed[:keep])
        h.wfile.flush()
        h.close_connection = True

    return step


def status(code: int, headers: dict[str, str] | None = None) -> Step:
    def step(h: http.server.BaseHTTPRequestHandler) -> None:
        body = f"error {code}".encode()
        h.send_response(code)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return step


def reset() -> Step:
    """Abort the connection with a TCP RST before any response."""

    def step(h: http.server.BaseHTTPRequestHandler) -> None:
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()
        h.close_connection = True

    return step


def slow(seconds: float, then: Step) -> Step:
    def step(h: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        then(h)

    return step


def truncated(body: bytes, keep: int) -> Step:
    """Announce the full length, send only ``keep`` bytes, then close."""

    def step(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/csv")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[:keep])
        h.wfile.flush()
        h.close_connection = True

    return step


class QuietServer(http.server.ThreadingHTTPServer):
    """A client that hangs up mid-response (as the fault tests' clients do) is expected: its
    handler thread's BrokenPipe must not print a traceback into a later test's stderr."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class ScriptedServer:
    """Serves, per path, a list of steps: request i gets step i (the last one repeats)."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Step]] = {}
        self.hits: dict[str, int] = defaultdict(int)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                n = server.hits[self.path]
                server.hits[self.path] += 1
                script = server.scripts.get(self.path) or [status(404)]
                script[min(n, len(script) - 1)](self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # a short poll: shutdown() waits up to one poll interval (0.5 s by default, per test)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def set(self, path: str, *steps: Step) -> None:
        self.scripts[path] = list(steps)
        self.hits[path] = 0


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


@pytest.fixture(scope="session")
def upstream() -> Path:
    if not SHARED_UPSTREAM.is_dir():
        pytest.skip(f"upstream mirror not found at {SHARED_UPSTREAM}")
    return SHARED_UPSTREAM


@pytest.fixture(scope="session")
def mirror_url(upstream: Path) -> Iterator[str]:
    """Serve ../shared/upstream on loopback for the whole session."""
    from obsscale.bench.edges import serve

    with serve(upstream) as url:
        yield url


@pytest.fixture(scope="session")
def mirror_data(mirror_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real fetch + harmonize of the mirror, shared by the tests that read its outputs."""
    from obsscale.cli import main

    data = tmp_path_factory.mktemp("mirror") / "data"
    assert main(["fetch", "--data-dir", str(data), "--mirror", mirror_url, "-q"]) == 0
    return data
