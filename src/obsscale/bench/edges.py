"""The edges of the pipeline: fetch from a loopback mirror (cold and warm) and the report,
timed in a scratch data folder; and how fast a whole fetch gives up under a total outage
(every request answered 503, or every connection refused), with the default network settings
(the target: under 60 s)."""

from __future__ import annotations

import functools
import http.server
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from obsscale.bench.scale import timed
from obsscale.config import default_config


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def run_edges(mirror: str | None, upstream: Path | None) -> dict[str, Any]:
    """Fetch (cold, warm) and report generation timings in a scratch data folder."""
    from obsscale.data.fetch import fetch_all
    from obsscale.data.harmonize import harmonize
    from obsscale.pipeline import fit_and_report

    if mirror is None and (upstream is None or not upstream.is_dir()):
        skipped = "no mirror: pass --mirror URL or keep ../shared/upstream beside"
        return {"skipped": skipped} | run_outage()  # the outage needs no mirror
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(upstream) if upstream is not None and mirror is None else nullcontext(mirror) as url,
    ):
        cfg = default_config(Path(tmp) / "data", url)
        _, cold = timed(lambda: fetch_all(cfg, progress=False))
        _, warm = timed(lambda: fetch_all(cfg, progress=False))
        _, harm = timed(lambda: harmonize(cfg).write(cfg))
        _, rep = timed(lambda: fit_and_report(cfg, Path(tmp) / "reports", progress=False))
    timings = {"fetch_cold_s": cold, "fetch_warm_s": warm, "harmonize_s": harm, "report_s": rep}
    return timings | run_outage()


@contextmanager
def unavailable() -> Iterator[str]:
    """A loopback server that answers every request with 503 Service Unavailable."""

    class Down(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Down)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _refused_url() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def run_outage() -> dict[str, Any]:
    """Seconds for a whole fetch (every source) to give up when the mirror answers 503 to
    everything, refuses every connection, or accepts connections and never answers (the
    slowest: one read timeout); whether every source failed."""
    from obsscale.data.fetch import fetch_all

    out: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        unavailable() as down,
        socket.socket() as silent,
    ):
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # the kernel completes the handshakes; nobody ever answers
        mute = f"http://127.0.0.1:{silent.getsockname()[1]}"
        cases = (("outage_503", down), ("outage_refused", _refused_url()), ("outage_silent", mute))
        for name, url in cases:
            cfg = default_config(Path(tmp) / name, url)
            start = time.monotonic()
            results = fetch_all(cfg, progress=False)
            out[f"{name}_s"] = round(time.monotonic() - start, 2)
            out[f"{name}_all_failed"] = all(r.status == "failed" for r in results)
    return out
