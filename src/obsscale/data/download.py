"""HTTP for fetch: a session that retries transient faults (logging each retry), fails at once
on unresolvable host names (pointing to the mirror), and a streamed download with a total
deadline."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import threading
import time
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from tqdm.auto import tqdm
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError
from urllib3.util.retry import Retry

from obsscale.config import MIRROR_ENV, NetworkConfig, Source
from obsscale.exceptions import FetchError

log = logging.getLogger("obsscale.data.fetch")

RETRY_STATUSES = (429, 500, 502, 503, 504)


class LoggedRetry(Retry):
    """urllib3's ``Retry`` that logs each retry as a warning and never retries a host name
    that does not resolve (offline: retrying would only delay the error by a minute)."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, **kw):  # type: ignore[override]
        if isinstance(error, NameResolutionError):
            raise MaxRetryError(_pool, url or "", error) from error
        new = super().increment(method, url, response, error, _pool, **kw)
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


def make_session(net: NetworkConfig) -> requests.Session:
    """A session whose adapter retries transient faults (each retry logged as a warning)."""
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
) -> tuple[int, str, int]:
    """Stream ``url`` to ``target`` within ``net.deadline`` s; return (bytes, sha256, status)."""
    start = time.monotonic()
    try:
        resp = session.get(url, stream=True, timeout=(net.timeout, net.timeout))
    except requests.RequestException as e:
        raise FetchError(source.name, url, _request_failure(e, url)) from e
    expired = threading.Event()
    watchdog = threading.Timer(
        max(net.deadline - (time.monotonic() - start), 0.0), _abort, (resp, expired)
    )
    watchdog.daemon = True
    watchdog.start()
    try:
        with resp:
            result = _stream(resp, source, url, target, net, progress)
    except (FetchError, requests.RequestException, OSError) as e:
        if not expired.is_set():
            if isinstance(e, FetchError):
                raise
            raise FetchError(source.name, url, f"{type(e).__name__}: {e}") from e
    finally:
        watchdog.cancel()
    if not expired.is_set():
        return result
    raise FetchError(
        source.name,
        url,
        f"download took longer than the deadline of {net.deadline:g} s (the server sends too "
        "slowly); retry later or raise [network] deadline",
    )


def _abort(resp: requests.Response, expired: threading.Event) -> None:
    """Past the deadline: shut the socket down so that a blocked read returns at once."""
    expired.set()
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
    """The cause of a failed request; a host that does not resolve points to the mirror."""
    cause: BaseException | None = e
    while cause is not None:
        reason = getattr(cause, "reason", None)
        if isinstance(cause, NameResolutionError) or isinstance(reason, NameResolutionError):
            host = requests.utils.urlparse(url).hostname
            return (
                f"cannot resolve host {host!r} (offline?); fetch from a mirror instead: "
                f"`obsscale fetch --mirror http://HOST:PORT` or set {MIRROR_ENV}"
            )
        if isinstance(cause, NewConnectionError) or isinstance(reason, NewConnectionError):
            where = requests.utils.urlparse(url)
            return (
                f"cannot connect to {where.hostname}:{where.port or 443} (connection refused "
                "or unreachable); if it is a mirror, is it running (`make mirror`)?"
            )
        cause = (
            cause.args[0]
            if cause.args and isinstance(cause.args[0], BaseException)
            else (cause.__cause__ or cause.__context__)
        )
    return f"{type(e).__name__}: {e}"


def _stream(
    resp: requests.Response,
    source: Source,
    url: str,
    target: Path,
    net: NetworkConfig,
    progress: bool,
) -> tuple[int, str, int]:
    if resp.status_code != 200:
        raise FetchError(source.name, url, f"HTTP {resp.status_code} {resp.reason}")
    total = int(resp.headers.get("Content-Length") or 0) or None
    h, n = hashlib.sha256(), 0
    try:
        with (
            target.open("wb") as f,
            tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=source.name,
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            for chunk in resp.iter_content(net.chunk_size):
                f.write(chunk)
                h.update(chunk)
                n += len(chunk)
                bar.update(len(chunk))
    except requests.RequestException as e:
        raise FetchError(
            source.name, url, f"download interrupted after {n} bytes ({type(e).__name__}: {e})"
        ) from e
    # Content-Length counts the bytes on the wire, which differ from the decoded ones
    # when the server compresses (Content-Encoding: gzip)
    wire = resp.raw.tell() if resp.headers.get("Content-Encoding") else n
    if total is not None and wire != total:
        raise FetchError(source.name, url, f"truncated body: {wire} of {total} bytes")
    return n, h.hexdigest(), resp.status_code
