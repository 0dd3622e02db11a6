"""Downloads side by side: up to ``network.per_host`` at once from each host.

One daemon thread per file, each waiting for its host's semaphore; results come back to the
calling thread, which alone writes the manifest and draws the progress bar (files done, and
how many are downloading now). An interruption (Ctrl-C, SIGTERM, or an interrupt raised in a
download) stops every download under way and waits briefly for each to remove its temporary
file before it propagates; daemon threads never hold the process open.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from obsscale.config import Config, Source, resolve_url
from obsscale.data.download import FetchState, host_of, progress_bar

CLEANUP_WAIT = 3.0  # s for interrupted downloads to remove their temporary files


def run_concurrently(
    sources: Sequence[Source],
    fn: Callable[[Source, FetchState], Any],
    config: Config,
    on_done: Callable[[Any], None],
    progress: bool,
) -> list[Any]:
    """``fn(source, state)`` for every source, ``per_host`` at a time per host; ``on_done``
    is called in this thread with each result as it arrives. Results in source order."""
    state = FetchState()
    limits = {
        h: threading.Semaphore(config.network.per_host)
        for h in {host_of(resolve_url(s.url, config.mirror)) for s in sources}
    }
    events: queue.Queue[tuple[str, int, Any]] = queue.Queue()
    threads = [
        threading.Thread(
            target=_worker,
            args=(i, s, fn, state, limits[host_of(resolve_url(s.url, config.mirror))], events),
            daemon=True,
        )
        for i, s in enumerate(sources)
    ]
    results: list[Any] = [None] * len(sources)
    # The bar exists before any download starts: an interrupt cannot land in its construction
    bar = progress_bar(progress, total=len(sources), desc="fetch", unit="file")
    try:
        with bar as shown:
            for t in threads:
                t.start()
            _collect(events, results, on_done, shown)
    except BaseException:
        state.interrupt()
        until = time.monotonic() + CLEANUP_WAIT
        for t in threads:
            if t.is_alive():
                t.join(timeout=max(until - time.monotonic(), 0.0))
        raise
    return results


def _worker(
    i: int,
    source: Source,
    fn: Callable[[Source, FetchState], Any],
    state: FetchState,
    limit: threading.Semaphore,
    events: queue.Queue[tuple[str, int, Any]],
) -> None:
    with limit:
        if state.stop.is_set():
            return
        events.put(("start", i, None))
        try:
            events.put(("done", i, fn(source, state)))
        except BaseException as e:  # handed to the calling thread, which raises it
            events.put(("error", i, e))


def _collect(
    events: queue.Queue[tuple[str, int, Any]],
    results: list[Any],
    on_done: Callable[[Any], None],
    bar: Any,
) -> None:
    pending, active = len(results), 0
    while pending:
        try:
            kind, i, value = events.get(timeout=0.2)  # a timeout: signals get through
        except queue.Empty:
            continue
        if kind == "error":
            raise value
        active += 1 if kind == "start" else -1
        bar.set_postfix_str(f"{active} downloading", refresh=False)
        if kind == "done":
            results[i] = value
            pending -= 1
            on_done(value)
            bar.update(1)
