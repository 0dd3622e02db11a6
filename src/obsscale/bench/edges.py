"""The edges of the pipeline: fetch from a loopback mirror (cold and warm) and the report,
timed in a scratch data folder."""

from __future__ import annotations

import functools
import http.server
import tempfile
import threading
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
        return {"skipped": "no mirror: pass --mirror URL or keep ../shared/upstream beside"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(upstream) if upstream is not None and mirror is None else nullcontext(mirror) as url,
    ):
        cfg = default_config(Path(tmp) / "data", url)
        _, cold = timed(lambda: fetch_all(cfg, progress=False))
        _, warm = timed(lambda: fetch_all(cfg, progress=False))
        _, harm = timed(lambda: harmonize(cfg).write(cfg))
        _, rep = timed(lambda: fit_and_report(cfg, Path(tmp) / "reports", progress=False))
    return {"fetch_cold_s": cold, "fetch_warm_s": warm, "harmonize_s": harm, "report_s": rep}
