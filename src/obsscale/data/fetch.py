"""Download the upstream files, check them, and record what was fetched.

Each source is downloaded to a temporary file, checked (HTML error pages, truncation, broken
CSV/JSON, missing columns) and only then renamed over the last good copy; ``raw/manifest.json``
records URL, size, sha256, time and HTTP status for each file. Transient faults (connection
errors, read timeouts, 429 and 5xx) are retried with capped exponential backoff honouring
``Retry-After`` (urllib3's ``Retry``), each retry logged as a warning; other HTTP errors and
unresolvable host names fail at once (pointing to the mirror), and every download has a total
deadline. A source pinned to a commit must match its configured sha256; a new copy of a live
source with far fewer records than the good one is refused unless ``allow_shrink``. The data
folder is locked for the whole run (``lock``), so concurrent runs never lose manifest entries.
One failing source does not stop the others.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from obsscale.config import Config, Source, resolve_url
from obsscale.data import store
from obsscale.data.concurrent import run_concurrently
from obsscale.data.download import FetchState, download, host_of, make_session
from obsscale.data.json_keys import missing_json_keys
from obsscale.data.lock import data_lock
from obsscale.exceptions import FetchError, FormatError, RefusedError

log = logging.getLogger(__name__)

__all__ = ["FetchError", "FetchResult", "FormatError", "RefusedError", "fetch_all", "validate"]


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
    cause: str | None = None  # the error without the source and URL (to group failures)
    host_down: bool = False  # the host failed every retry (down, or not a mirror)


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


def validate(data_path: Path, source: Source, url: str) -> int:
    """Raise FormatError unless the file is a complete, well-formed file of the source's kind;
    return its number of records (CSV rows, JSON entries)."""
    head = data_path.open("rb").read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:200]:
        raise FormatError(source.name, url, f"{source.kind.upper()} file (got an HTML page)")
    text = data_path.read_bytes().decode("utf-8-sig", errors="strict")
    if source.kind == "json":
        return _validate_json(text, source, url)
    return _validate_csv(text, source, url)


def _validate_json(text: str, source: Source, url: str) -> int:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(source.name, url, f"JSON file ({e})") from e
    if not isinstance(obj, (dict, list)) or len(obj) < source.min_rows:
        raise FormatError(
            source.name, url, f"JSON file (expected at least {source.min_rows} entries)"
        )
    missing = missing_json_keys(obj, source.required)
    if missing:
        raise FormatError(
            source.name,
            url,
            f"JSON file (no entry has the keys {missing}; the upstream format changed)",
        )
    return len(obj)


def _validate_csv(text: str, source: Source, url: str) -> int:
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
    return n_rows


def fetch_source(
    source: Source,
    config: Config,
    manifest: dict[str, dict],
    options: FetchOptions,
    state: FetchState,
) -> FetchResult:
    """Fetch one source unless a verified copy exists; never replaces a good copy with a bad
    one; a host that failed every retry for another file is not tried again."""
    url = resolve_url(source.url, config.mirror)
    target = config.raw_path(source)
    known = manifest.get(source.name)
    if (
        not options.refresh
        and known
        and target.exists()
        and store.sha256_file(target) == known.get("sha256")
        and source.sha256 in (None, known.get("sha256"))
    ):
        log.info("%s: cached (%s)", source.name, target)
        return FetchResult(source.name, "cached", ManifestEntry(**known))
    down = state.down.get(host_of(url))
    if down is not None:
        msg = f"{source.name}: {url}: {down} (not tried: that host failed every retry)"
        return FetchResult(source.name, "failed", error=msg, cause=down, host_down=True)
    try:
        with store.atomic_path(target) as tmp:
            session = make_session(config.network, state)
            n, digest, status = download(
                session, source, url, tmp, config.network, options.progress_bytes, state
            )
            records = validate(tmp, source, url)
            _check_integrity(source, url, digest, records, target, config, options.allow_shrink)
    except (FetchError, FormatError, RefusedError, UnicodeDecodeError, OSError) as e:
        return _failed(source, url, e, state)
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


def _failed(source: Source, url: str, e: Exception, state: FetchState) -> FetchResult:
    ours = (FetchError, FormatError, RefusedError)
    msg = str(e) if isinstance(e, ours) else f"{source.name}: {url}: {e}"
    if not state.stop.is_set():
        log.error("%s", msg)
    cause = e.cause if isinstance(e, FetchError) else str(e)
    down = isinstance(e, FetchError) and e.host_down
    if down:
        state.mark_down(host_of(url), cause)
        cause = state.down.get(host_of(url), cause)  # one cause per host, to group by
    return FetchResult(source.name, "failed", error=msg, cause=cause, host_down=down)


def _check_integrity(
    source: Source,
    url: str,
    digest: str,
    records: int,
    target: Path,
    config: Config,
    allow_shrink: bool,
) -> None:
    """A pinned file must be byte-exact; a live one must not shrink below the guard."""
    if source.sha256 is not None:
        if digest != source.sha256:
            raise RefusedError(
                source.name,
                url,
                f"sha256 {digest[:12]}... differs from the pinned {source.sha256[:12]}... of "
                "this commit's file (cut short, altered, or served by a wrong mirror); "
                "the download was discarded",
            )
        return
    if allow_shrink or not target.exists():
        return
    try:
        before = validate(target, source, url)
    except (FormatError, UnicodeDecodeError, OSError):
        return  # the current copy is broken itself: anything well-formed is better
    guard = config.network.shrink_guard
    if records < guard * before:
        raise RefusedError(
            source.name,
            url,
            f"the new copy has {records} records, the current {target} has {before} "
            f"(less than {guard:.0%}); kept the current copy. If the upstream really shrank, "
            "rerun with `obsscale fetch --allow-shrink`",
        )


@dataclass(frozen=True)
class FetchOptions:
    refresh: bool = False
    allow_shrink: bool = False
    progress_bytes: bool = False  # a byte bar per file (besides the files bar)


def fetch_all(
    config: Config,
    only: Iterable[str] | None = None,
    refresh: bool = False,
    progress: bool = True,
    allow_shrink: bool = False,
) -> list[FetchResult]:
    """Fetch every configured source (or those named in ``only``) under the data folder's
    lock, up to ``network.per_host`` at once from each host; each new entry is merged into
    the manifest as it is on disk. Results are in the order of the sources."""
    sources = [config.source(n) for n in only] if only else list(config.sources)
    for source in sources:
        resolve_url(source.url, config.mirror)  # a bad mirror URL fails before any download
    options = FetchOptions(refresh, allow_shrink, progress)
    with data_lock(config):
        manifest = load_manifest(config.manifest_path)

        def record(result: FetchResult) -> None:
            if result.status == "downloaded" and result.entry is not None:
                current = load_manifest(config.manifest_path)
                current[result.source] = asdict(result.entry)
                store.write_json(config.manifest_path, current)

        def one(source: Source, state: FetchState) -> FetchResult:
            return fetch_source(source, config, manifest, options, state)

        try:
            return run_concurrently(sources, one, config, record, progress)
        except BaseException:
            # a download still blocked after the cleanup wait leaves its temporary file: under
            # the lock every one in raw/ is this run's
            store.remove_stale_parts(config.raw_dir, older_than=0.0)
            raise
