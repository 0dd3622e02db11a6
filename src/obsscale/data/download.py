"""HTTP for fetch: a session that retries transient faults (logging each retry) within a
window, fails at once on unresolvable host names (pointing to the mirror), and a streamed
download with a total deadline that covers the headers and the retries.

A dead or hostile upstream must cost seconds, not hours: ``Retry-After`` is capped, no retry
starts after ``retry_window`` s, and a host that failed every retry is remembered in the
``FetchState`` of the run so that its other files are not tried at all (nor retried by
downloads already under way). An interrupted run (Ctrl-C, SIGTERM) sets the state's ``stop``
and shuts the sockets of the downloads under way, so that each removes its temporary file.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from tqdm.auto import tqdm
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from obsscale.config import MIRROR_ENV, NetworkConfig, Source
from obsscale.exceptions import FetchError, RetryStoppedError

log = logging.getLogger("obsscale.data.fetch")

RETRY_STATUSES = (429, 500, 502, 503, 504)


def host_of(url: str) -> str:
    """``host:port`` of a URL: the unit whose outage is shared by all its files."""
    where = requests.utils.urlparse(url)
    return f"{where.hostname}:{where.port or (443 if where.scheme == 'https' else 80)}"


@dataclass
class FetchState:
    """What the downloads of one fetch share: the hosts that failed every retry without
    serving any file in this run (host -> cause; one broken file on a host that serves the
    others does not stop them), the stop flag of an interrupted run, and the responses under
    way (to shut)."""

    down: dict[str, str] = field(default_factory=dict)
    up: set[str] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)
    active: set[Any] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark_down(self, host: str, cause: str) -> None:
        with self.lock:
            if host not in self.up:
                self.down.setdefault(host, cause)

    def mark_up(self, host: str) -> None:
        with self.lock:
            self.up.add(host)

    def interrupt(self) -> None:
        """Stop every download under way: no more retries, sockets shut."""
        self.stop.set()
        with self.lock:
            active = list(self.active)
        for resp in active:
            _shut(resp)


class LoggedRetry(Retry):
    """urllib3's ``Retry`` that logs each retry as a warning, never retries a host name that
    does not resolve (offline: retrying would only delay the error by a minute), waits at
    most ``max_retry_after`` s for a ``Retry-After``, and stops retrying once the window
    since the first request has passed, the host is known to be down, or the run stops."""

    started: float = 0.0
    net: NetworkConfig = NetworkConfig()
    state: FetchState | None = None

    def new(self, **kw: Any) -> LoggedRetry:
        new = super().new(**kw)
        new.started, new.net, new.state = self.started, self.net, self.state
        return new

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.net.max_retry_after)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, **kw):  # type: ignore[override]
        if isinstance(error, NameResolutionError):
            raise MaxRetryError(_pool, url or "", error) from error
        new = super().increment(method, url, response, error, _pool, **kw)
        wait = (new.get_retry_after(response) if response is not None else None) or 0.0
        wait = max(wait, new.get_backoff_time())
        reason = self._stop_reason(time.monotonic() + wait - self.started, _pool)
        if reason is not None:
            raise MaxRetryError(_pool, url or "", RetryStoppedError(reason))
        if response is not None:  # urllib3 itself warns of retried connection errors
            where = f"{_pool.scheme}://{_pool.host}:{_pool.port}" if _pool is not None else ""
            log.warning(
                "retrying %s%s after HTTP %d (retry %d of %d)",
                where,
                url or "",
                response.status,
                len(new.history),
                len(new.history) + (new.status if new.status is not None else 0),
            )
        return new

    def _stop_reason(self, at: float, pool: Any) -> str | None:
        if self.state is not None and self.state.stop.is_set():
            return "interrupted"
        host = f"{pool.host}:{pool.port}" if pool is not None else ""
        if self.state is not None and host in self.state.down:
            return f"{host} is down ({self.state.down[host]})"
        if at > self.net.deadline:
            return f"the next try would pass the deadline of {self.net.deadline:g} s"
        if at > self.net.retry_window:
            return f"no retry after {self.net.retry_window:g} s ([network] retry_window)"
        return None


def make_session(
    net: NetworkConfig, state: FetchState | None = None, started: float | None = None
) -> requests.Session:
    """A session whose adapter retries transient faults (each retry logged as a warning),
    within ``net.retry_window`` s of ``started`` (now by default)."""
    retry = LoggedRetry(
        total=net.retries,
        connect=net.retries,
        read=net.retries,
        status=net.retries,
        other=0,
        backoff_factor=net.backoff_factor,
        backoff_max=net.backoff_max,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    retry.started = time.monotonic() if started is None else started
    retry.net, retry.state = net, state
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "obsscale (+https://github.com/ryoungj/ObsScaling)"
    return session


def download(
    session: requests.Session,
    source: Source,
    url: str,
    target: Path,
    net: NetworkConfig,
    progress: bool,
    state: FetchState | None = None,
) -> tuple[int, str, int]:
    """Stream ``url`` to ``target`` within ``net.deadline`` s of the first request (headers
    and retries included); return (bytes, sha256, status)."""
    state = state or FetchState()
    holder: list[requests.Response] = []
    expired = threading.Event()
    watchdog = threading.Timer(net.deadline, _expire, (holder, expired))
    watchdog.daemon = True
    watchdog.start()
    try:
        return _get_and_stream(session, source, url, target, net, progress, state, holder)
    except (FetchError, requests.RequestException, OSError) as e:
        if not expired.is_set():
            if isinstance(e, FetchError):
                raise
            raise FetchError(source.name, url, f"{type(e).__name__}: {e}") from e
        raise FetchError(
            source.name,
            url,
            f"download took longer than the deadline of {net.deadline:g} s (the server "
            "answers or sends too slowly); retry later or raise [network] deadline",
        ) from e
    finally:
        watchdog.cancel()
        with state.lock:
            state.active.difference_update(holder)


def _get_and_stream(
    session: requests.Session,
    source: Source,
    url: str,
    target: Path,
    net: NetworkConfig,
    progress: bool,
    state: FetchState,
    holder: list[requests.Response],
) -> tuple[int, str, int]:
    wait = min(net.timeout, net.deadline)  # bounds each wait for the headers, too
    try:
        resp = session.get(url, stream=True, timeout=(wait, wait))
    except requests.RequestException as e:
        raise FetchError(source.name, url, _request_failure(e, url), host_down=True) from e
    with state.lock:
        holder.append(resp)
        state.active.add(resp)
    if state.stop.is_set():
        _shut(resp)
    with resp:
        return _stream(resp, source, url, target, net, progress, state)


def _expire(holder: list[requests.Response], expired: threading.Event) -> None:
    """Past the deadline: shut the socket down so that a blocked read returns at once."""
    expired.set()
    for resp in list(holder):
        _shut(resp)


def _shut(resp: requests.Response) -> None:
    # the socket is the connection's until the response takes it over (http.client's fp)
    fp = getattr(getattr(resp.raw, "_fp", None), "fp", None)
    socks = (
        getattr(getattr(resp.raw, "connection", None), "sock", None),
        getattr(getattr(fp, "raw", None), "_sock", None),
    )
    for sock in (s for s in socks if s is not None):
        with contextlib.suppress(OSError, AttributeError):
            sock.shutdown(socket.SHUT_RDWR)


def _request_failure(e: requests.RequestException, url: str) -> str:
    """The cause of a failed request in words (never urllib3's text); a host that does not
    resolve points to the mirror."""
    host = host_of(url)
    cause: BaseException | None = e
    while cause is not None:
        reason = getattr(cause, "reason", None)
        for err in (cause, reason):
            words = _in_words(err, host)
            if words is not None:
                return words
        cause = (
            cause.args[0]
            if cause.args and isinstance(cause.args[0], BaseException)
            else (cause.__cause__ or cause.__context__)
        )
    return f"request to {host} failed ({type(e).__name__})"


def _in_words(err: object, host: str) -> str | None:
    if isinstance(err, RetryStoppedError):
        return f"{host}: gave up: {err}"
    if isinstance(err, NameResolutionError):
        return (
            f"cannot resolve host {host.rsplit(':', 1)[0]!r} (offline?); fetch from a mirror "
            f"instead: `obsscale fetch --mirror http://HOST:PORT` or set {MIRROR_ENV}"
        )
    if isinstance(err, NewConnectionError):
        return (
            f"cannot connect to {host} (connection refused or unreachable); if it is a "
            "mirror, is it running (`make mirror`)?"
        )
    if isinstance(err, ConnectTimeoutError):  # after NewConnectionError, its subclass
        return f"cannot connect to {host}: timed out (host down or unreachable?)"
    if isinstance(err, (ReadTimeoutError, requests.exceptions.ReadTimeout)):
        return f"{host} accepted the connection but sent no answer: read timed out"
    if isinstance(err, (ProtocolError, ConnectionResetError)):
        return f"{host} closed or reset the connection before answering"
    return None


class _NoBar:
    """A quiet progress bar. No tqdm object at all: tqdm before 4.70 leaves a half-built bar
    when a signal (SIGTERM, Ctrl-C) interrupts its construction, and its ``__del__`` then
    prints an AttributeError after the one-line "terminated" message."""

    def update(self, n: int) -> None:
        """Nothing to draw."""

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:
        """Nothing to draw."""


def progress_bar(progress: bool, **kw: Any) -> contextlib.AbstractContextManager[Any]:
    """A tqdm bar (``kw`` its options) when ``progress``, else a bar that draws nothing."""
    if not progress:
        return contextlib.nullcontext(_NoBar())
    return tqdm(**kw)


def _stream(
    resp: requests.Response,
    source: Source,
    url: str,
    target: Path,
    net: NetworkConfig,
    progress: bool,
    state: FetchState,
) -> tuple[int, str, int]:
    if resp.status_code != 200:
        down = resp.status_code in RETRY_STATUSES
        after = f" from {host_of(url)}" if down else ""
        cause = f"HTTP {resp.status_code} {resp.reason}{after}"
        raise FetchError(source.name, url, cause, host_down=down)
    state.mark_up(host_of(url))
    total = int(resp.headers.get("Content-Length") or 0) or None
    h, n = hashlib.sha256(), 0
    try:
        with (
            target.open("wb") as f,
            progress_bar(
                progress, total=total, unit="B", unit_scale=True, desc=source.name, leave=False
            ) as bar,
        ):
            for chunk in resp.iter_content(net.chunk_size):
                if state.stop.is_set():
                    raise FetchError(source.name, url, f"interrupted after {n} bytes")
                f.write(chunk)
                h.update(chunk)
                n += len(chunk)
                bar.update(len(chunk))
    except requests.RequestException as e:
        raise FetchError(
            source.name,
            url,
            f"download cut short after {n} bytes (the connection closed early, "
            f"{type(e).__name__}); retry later",
        ) from e
    # Content-Length counts the bytes on the wire, which differ from the decoded ones
    # when the server compresses (Content-Encoding: gzip)
    wire = resp.raw.tell() if resp.headers.get("Content-Encoding") else n
    if total is not None and wire != total:
        raise FetchError(source.name, url, f"truncated body: {wire} of {total} bytes")
    return n, h.hexdigest(), resp.status_code
