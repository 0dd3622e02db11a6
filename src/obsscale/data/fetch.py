"""Download the upstream files, check them, and record what was fetched.

Each source is downloaded to a temporary file, checked (HTML error pages, truncation, broken
CSV/JSON, missing columns) and only then renamed over the last good copy; ``raw/manifest.json``
records URL, size, sha256, time and HTTP status for each file. Transient faults (connection
errors, read timeouts, 429 and 5xx) are retried with capped exponential backoff honouring
``Retry-After`` (urllib3's ``Retry``); other HTTP errors fail at once. One failing source does
not stop the others.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from tqdm.auto import tqdm
from urllib3.util.retry import Retry

from obsscale.config import Config, NetworkConfig, Source, resolve_url
from obsscale.data import store

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)


class FetchError(ConnectionError):
    """A source could not be downloaded; names the URL and the cause."""

    def __init__(self, source: str, url: str, cause: str) -> None:
        super().__init__(f"{source}: {url}: {cause}")
        self.source, self.url, self.cause = source, url, cause


class FormatError(ValueError):
    """A downloaded file is not what the source should serve (HTML page, truncated, bad JSON)."""

    def __init__(self, source: str, url: str, cause: str) -> None:
        super().__init__(f"{source}: {url}: not a valid {cause}")
        self.source, self.url, self.cause = source, url, cause


@dataclass(frozen=True)
class ManifestEntry:
    source: str
    url: str
    path: str
    bytes: int
    sha256: str
    fetched_at: str
    http_status: int


@dataclass(frozen=True)
class FetchResult:
    source: str
    status: str  # "downloaded", "cached" or "failed"
    entry: ManifestEntry | None = None
    error: str | None = None


def make_session(net: NetworkConfig) -> requests.Session:
    """A session whose adapter retries transient faults (and logs each retry via urllib3)."""
    retry = Retry(
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


def load_manifest(path: Path) -> dict[str, dict]:
    """The manifest as a dict; unreadable entries are dropped (their files are re-fetched)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        log.warning("ignoring unreadable manifest %s (%s); files will be re-fetched", path, e)
        return {}
    if not isinstance(data, dict):
        log.warning("ignoring manifest %s: not a JSON object", path)
        return {}
    fields = set(ManifestEntry.__dataclass_fields__)
    good = {k: v for k, v in data.items() if isinstance(v, dict) and set(v) == fields}
    for k in sorted(set(data) - set(good)):
        log.warning("manifest %s: entry %r is malformed; that source will be re-fetched", path, k)
    return good


def validate(data_path: Path, source: Source, url: str) -> None:
    """Raise FormatError unless the file is a complete, well-formed file of the source's kind."""
    head = data_path.open("rb").read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:200]:
        raise FormatError(source.name, url, f"{source.kind.upper()} file (got an HTML page)")
    text = data_path.read_bytes().decode("utf-8-sig", errors="strict")
    if source.kind == "json":
        _validate_json(text, source, url)
    else:
        _validate_csv(text, source, url)


def _validate_json(text: str, source: Source, url: str) -> None:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(source.name, url, f"JSON file ({e})") from e
    if not isinstance(obj, (dict, list)) or len(obj) < source.min_rows:
        raise FormatError(
            source.name, url, f"JSON file (expected at least {source.min_rows} entries)"
        )


def _validate_csv(text: str, source: Source, url: str) -> None:
    # Every source's CSV ends its last record with a line break; a body cut at a record or
    # field boundary is otherwise indistinguishable from a complete file.
    if source.terminated and text and not text.endswith(("\n", "\r")):
        raise FormatError(source.name, url, "CSV file (no final line break: truncated?)")
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = next(reader)
        n_rows = 0
        for lineno, row in enumerate(reader, start=2):
            if row and len(row) != len(header):
                raise FormatError(
                    source.name,
                    url,
                    f"CSV file (record ending on line {lineno} "
                    f"has {len(row)} fields, header has {len(header)}: truncated?)",
                )
            n_rows += bool(row)
    except csv.Error as e:
        raise FormatError(source.name, url, f"CSV file ({e}: truncated?)") from e
    except StopIteration:
        raise FormatError(source.name, url, "CSV file (empty)") from None
    missing = [c for c in source.required if c not in header]
    if missing:
        raise FormatError(
            source.name, url, f"CSV file (missing columns {missing}; the upstream format changed)"
        )
    if n_rows < source.min_rows:
        raise FormatError(
            source.name, url, f"CSV file ({n_rows} rows, expected at least {source.min_rows})"
        )


def _download(
    session: requests.Session,
    source: Source,
    url: str,
    target: Path,
    net: NetworkConfig,
    progress: bool,
) -> tuple[int, str, int]:
    """Stream ``url`` to ``target``; return (bytes, sha256, http status)."""
    try:
        resp = session.get(url, stream=True, timeout=(net.timeout, net.timeout))
    except requests.RequestException as e:
        raise FetchError(source.name, url, f"{type(e).__name__}: {e}") from e
    with resp:
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


def fetch_source(
    session: requests.Session,
    source: Source,
    config: Config,
    manifest: dict[str, dict],
    refresh: bool = False,
    progress: bool = True,
) -> FetchResult:
    """Fetch one source unless a verified copy exists; never replaces a good copy with a bad one."""
    url = resolve_url(source.url, config.mirror)
    target = config.raw_path(source)
    known = manifest.get(source.name)
    if (
        not refresh
        and known
        and target.exists()
        and store.sha256_file(target) == known.get("sha256")
    ):
        log.info("%s: cached (%s)", source.name, target)
        return FetchResult(source.name, "cached", ManifestEntry(**known))
    try:
        with store.atomic_path(target) as tmp:
            n, digest, status = _download(session, source, url, tmp, config.network, progress)
            validate(tmp, source, url)
    except (FetchError, FormatError, UnicodeDecodeError, OSError) as e:
        msg = str(e) if isinstance(e, (FetchError, FormatError)) else f"{source.name}: {url}: {e}"
        log.error("%s", msg)
        return FetchResult(source.name, "failed", error=msg)
    entry = ManifestEntry(
        source=source.name,
        url=url,
        path=str(target.relative_to(config.data_dir)),
        bytes=n,
        sha256=digest,
        fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
        http_status=status,
    )
    log.info("%s: downloaded %d bytes from %s", source.name, n, url)
    return FetchResult(source.name, "downloaded", entry)


def fetch_all(
    config: Config, only: Iterable[str] | None = None, refresh: bool = False, progress: bool = True
) -> list[FetchResult]:
    """Fetch every configured source (or those named in ``only``); update the manifest."""
    sources = [config.source(n) for n in only] if only else list(config.sources)
    manifest = load_manifest(config.manifest_path)
    results = []
    with make_session(config.network) as session:
        for source in tqdm(sources, desc="fetch", unit="file", disable=not progress):
            result = fetch_source(session, source, config, manifest, refresh, progress)
            results.append(result)
            if result.status == "downloaded" and result.entry is not None:
                manifest[source.name] = asdict(result.entry)
                store.write_json(config.manifest_path, manifest)
    return results
