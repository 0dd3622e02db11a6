"""Fetch against a real HTTP server on loopback, with the faults the network really produces."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from conftest import ScriptedServer, gzipped, ok, reset, slow, status, truncated

from obsscale.config import Config, NetworkConfig, Source, resolve_url
from obsscale.data.fetch import fetch_all, validate
from obsscale.exceptions import FormatError

CSV = b"Model,score\n" + b"".join(f"org/m{i},0.{i}\n".encode() for i in range(1, 9))
JSON = json.dumps({f"m{i}": {"pass@1": {"humaneval": i}} for i in range(3)}).encode()
FAST = NetworkConfig(timeout=0.5, retries=2, backoff_factor=0.01, backoff_max=0.05)


def make_config(
    tmp_path: Path, server: ScriptedServer, *sources: Source, net: NetworkConfig = FAST
) -> Config:
    return Config(data_dir=tmp_path / "data", mirror=server.url, sources=sources, network=net)


def csv_source(name: str = "table", path: str = "example.org/t.csv") -> Source:
    return Source(name, f"https://{path}", "obsscaling", required=("Model", "score"), min_rows=2)


def test_resolve_url_rewrites_host_and_path() -> None:
    assert (
        resolve_url("https://h.org/a/b.csv", "http://127.0.0.1:9/")
        == "http://127.0.0.1:9/h.org/a/b.csv"
    )
    assert resolve_url("https://h.org/a.csv", None) == "https://h.org/a.csv"
    with pytest.raises(ValueError, match="non-HTTP"):
        resolve_url("ftp://h/a", "http://m")


def test_download_writes_file_and_manifest(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", ok(CSV))
    cfg = make_config(tmp_path, server, csv_source())
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "downloaded"
    path = cfg.raw_path(cfg.sources[0])
    assert path.read_bytes() == CSV
    manifest = json.loads(cfg.manifest_path.read_text())
    entry = manifest["table"]
    assert entry["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert entry["bytes"] == len(CSV)
    assert entry["url"] == f"{server.url}/example.org/t.csv"
    assert entry["http_status"] == 200
    assert entry["fetched_at"].endswith("+00:00")


def test_500_then_200_is_retried(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", status(500), status(503), ok(CSV))
    [result] = fetch_all(make_config(tmp_path, server, csv_source()), progress=False)
    assert result.status == "downloaded"
    assert server.hits["/example.org/t.csv"] == 3


def test_429_honours_retry_after(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", status(429, {"Retry-After": "1"}), ok(CSV))
    start = time.monotonic()
    [result] = fetch_all(make_config(tmp_path, server, csv_source()), progress=False)
    assert result.status == "downloaded"
    assert time.monotonic() - start >= 0.95  # backoff alone would be ~0.01 s


def test_connection_reset_is_retried(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", reset(), ok(CSV))
    [result] = fetch_all(make_config(tmp_path, server, csv_source()), progress=False)
    assert result.status == "downloaded"
    assert server.hits["/example.org/t.csv"] == 2


def test_persistent_reset_fails_with_url(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", reset())
    cfg = make_config(tmp_path, server, csv_source())
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "failed"
    assert f"{server.url}/example.org/t.csv" in result.error
    assert not cfg.raw_path(cfg.sources[0]).exists()


def test_slow_response_times_out(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", slow(1.5, ok(CSV)))
    net = NetworkConfig(timeout=0.3, retries=1, backoff_factor=0.01)
    cfg = make_config(tmp_path, server, csv_source(), net=net)
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "failed"
    assert "timed out" in result.error.lower()
    assert server.hits["/example.org/t.csv"] == 2  # first try + one retry


def test_slow_then_fast_succeeds(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", slow(1.5, ok(CSV)), ok(CSV))
    net = NetworkConfig(timeout=0.3, retries=2, backoff_factor=0.01)
    [result] = fetch_all(make_config(tmp_path, server, csv_source(), net=net), progress=False)
    assert result.status == "downloaded"


def test_truncated_body_is_rejected(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", truncated(CSV, 30))
    net = NetworkConfig(timeout=0.5, retries=0)
    cfg = make_config(tmp_path, server, csv_source(), net=net)
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "failed"
    assert "example.org/t.csv" in result.error
    raw_dir = cfg.raw_path(cfg.sources[0]).parent
    assert not raw_dir.exists() or list(raw_dir.iterdir()) == []  # no partial, no temp file


def test_gzip_encoded_body_is_decoded_and_complete(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", gzipped(CSV))
    cfg = make_config(tmp_path, server, csv_source())
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "downloaded", result.error
    assert cfg.raw_path(cfg.sources[0]).read_bytes() == CSV
    assert result.entry.sha256 == hashlib.sha256(CSV).hexdigest()


def test_truncated_gzip_body_is_rejected(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", gzipped(CSV * 50, keep=40))
    net = NetworkConfig(timeout=0.5, retries=0)
    [result] = fetch_all(make_config(tmp_path, server, csv_source(), net=net), progress=False)
    assert result.status == "failed"


def test_html_error_page_with_200_is_rejected(tmp_path: Path, server: ScriptedServer) -> None:
    page = b"<!DOCTYPE html><html><body>Rate limited</body></html>"
    server.set("/example.org/t.csv", ok(page, "text/html"))
    [result] = fetch_all(make_config(tmp_path, server, csv_source()), progress=False)
    assert result.status == "failed"
    assert "HTML page" in result.error


def test_404_is_not_retried(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", status(404))
    [result] = fetch_all(make_config(tmp_path, server, csv_source()), progress=False)
    assert result.status == "failed"
    assert "HTTP 404" in result.error
    assert server.hits["/example.org/t.csv"] == 1


def test_bad_download_never_replaces_good_copy(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", ok(CSV))
    cfg = make_config(tmp_path, server, csv_source())
    fetch_all(cfg, progress=False)
    manifest_before = cfg.manifest_path.read_text()
    server.set("/example.org/t.csv", ok(CSV[:-12]))  # cut mid-record, Content-Length agrees
    [result] = fetch_all(cfg, refresh=True, progress=False)
    assert result.status == "failed"
    assert "truncated" in result.error
    assert cfg.raw_path(cfg.sources[0]).read_bytes() == CSV
    assert cfg.manifest_path.read_text() == manifest_before


def test_rerun_after_failure_resumes(tmp_path: Path, server: ScriptedServer) -> None:
    good, bad = csv_source("good", "a.org/g.csv"), csv_source("bad", "b.org/b.csv")
    server.set("/a.org/g.csv", ok(CSV))
    server.set("/b.org/b.csv", status(500))
    cfg = make_config(tmp_path, server, good, bad)
    first = {r.source: r.status for r in fetch_all(cfg, progress=False)}
    assert first == {"good": "downloaded", "bad": "failed"}
    server.set("/b.org/b.csv", ok(CSV))
    hits_good = server.hits["/a.org/g.csv"]
    second = {r.source: r.status for r in fetch_all(cfg, progress=False)}
    assert second == {"good": "cached", "bad": "downloaded"}
    assert server.hits["/a.org/g.csv"] == hits_good  # not downloaded again
    assert set(json.loads(cfg.manifest_path.read_text())) == {"good", "bad"}


def test_tampered_copy_is_fetched_again(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", ok(CSV))
    cfg = make_config(tmp_path, server, csv_source())
    fetch_all(cfg, progress=False)
    cfg.raw_path(cfg.sources[0]).write_bytes(b"Model,score\n")
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "downloaded"
    assert cfg.raw_path(cfg.sources[0]).read_bytes() == CSV


def test_malformed_manifest_entry_is_refetched(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/example.org/t.csv", ok(CSV))
    cfg = make_config(tmp_path, server, csv_source())
    fetch_all(cfg, progress=False)
    manifest = json.loads(cfg.manifest_path.read_text())
    manifest["table"]["etag"] = "x"  # a field this version does not know
    cfg.manifest_path.write_text(json.dumps(manifest))
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "downloaded"
    assert "etag" not in json.loads(cfg.manifest_path.read_text())["table"]


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"Model,other\n" + b"a,1\n" * 5)
    with pytest.raises(FormatError, match=r"missing columns \['score'\]"):
        validate(path, csv_source(), "https://x/f.csv")


def test_unterminated_quote_is_truncation(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(CSV + b'org/x,"0.5\n')
    with pytest.raises(FormatError, match="truncated"):
        validate(path, csv_source(), "https://x/f.csv")


def test_json_is_parsed(tmp_path: Path, server: ScriptedServer) -> None:
    src = Source("plus", "https://e.io/r.json", "evalplus", kind="json", min_rows=2)
    server.set("/e.io/r.json", ok(JSON[:-5], "application/json"))
    cfg = make_config(tmp_path, server, src)
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "failed"
    assert "not a valid JSON file" in result.error
    server.set("/e.io/r.json", ok(JSON, "application/json"))
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "downloaded"


def test_unknown_source_name_is_listed() -> None:
    with pytest.raises(KeyError, match=r"known sources: .*epoch"):
        Config().source("nope")


def test_source_names_must_be_safe_paths() -> None:
    with pytest.raises(ValueError, match="must match"):
        Source("../evil", "https://x/y.csv", "obsscaling")
