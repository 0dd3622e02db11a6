"""Issue 13, data stage: pinned hashes, the shrink guard, the data lock, missing raw files,
stale temporaries, the download deadline, offline name resolution and visible retries."""

from __future__ import annotations

import hashlib
import http.server
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import ScriptedServer, ok, slow, status
from upstream_fakes import write_fakes

from obsscale.cli import main
from obsscale.config import Config, NetworkConfig, Source, default_config
from obsscale.data.fetch import fetch_all

FAST = NetworkConfig(timeout=0.5, retries=2, backoff_factor=0.01, backoff_max=0.05)
COMMIT = "0123456789abcdef0123456789abcdef01234567"
ROWS = [f"org/m{i},0.{i % 10}\n".encode() for i in range(1, 41)]
CSV = b"Model,score\n" + b"".join(ROWS)


def table(name: str = "t", pinned: bool = False, sha: str | None = None) -> Source:
    url = f"https://example.org/o/r/{COMMIT}/{name}.csv" if pinned else f"https://ex.org/{name}.csv"
    return Source(name, url, "obsscaling", required=("Model", "score"), min_rows=2, sha256=sha)


def cfg_for(tmp_path: Path, server: ScriptedServer, *sources: Source, **net: float) -> Config:
    network = NetworkConfig(**{**FAST.__dict__, **net})
    return Config(data_dir=tmp_path / "d", mirror=server.url, sources=sources, network=network)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ------------------------------------------------------------------ 1. truncation at a boundary


def test_pinned_source_needs_a_sha256() -> None:
    with pytest.raises(ValueError, match="pinned to a commit, so it needs the file's sha256"):
        table(pinned=True)


def test_pinned_copy_cut_at_a_record_boundary_is_refused(
    tmp_path: Path, server: ScriptedServer
) -> None:
    src = table(pinned=True, sha=hashlib.sha256(CSV).hexdigest())
    cut = b"Model,score\n" + b"".join(ROWS[:30])  # well-formed, ends with a line break
    server.set(f"/example.org/o/r/{COMMIT}/t.csv", ok(CSV), ok(cut))
    cfg = cfg_for(tmp_path, server, src)
    [first] = fetch_all(cfg, progress=False)
    assert first.status == "downloaded"
    before = snapshot(cfg.data_dir)
    [second] = fetch_all(cfg, refresh=True, progress=False)
    assert second.status == "failed"
    assert "differs from the pinned" in second.error
    assert snapshot(cfg.data_dir) == before


def test_cli_refuses_a_pinned_upstream_file_cut_short(
    tmp_path: Path, server: ScriptedServer, upstream: Path, capsys: pytest.CaptureFixture
) -> None:
    source = default_config().source("obsscaling_base")
    path = source.url.removeprefix("https:/")
    good = (upstream / path.lstrip("/")).read_bytes()
    lines = good.splitlines(keepends=True)
    server.set(path, ok(good), ok(b"".join(lines[: len(lines) - 5])))
    data = tmp_path / "data"
    args = ["fetch", "--data-dir", str(data), "--mirror", server.url, "-q", "--no-harmonize"]
    assert main([*args, "--only", "obsscaling_base"]) == 0
    before = snapshot(data)
    capsys.readouterr()
    assert main([*args, "--only", "obsscaling_base", "--refresh"]) == 1
    err = capsys.readouterr().err
    assert "obsscale fetch: error: 1 source(s) failed:\n  obsscaling_base" in err
    assert "differs from the pinned" in err
    assert snapshot(data) == before


def epoch_csv(n: int) -> bytes:
    head = "Model,Publication date,Parameters,Training compute (FLOP)\n"
    return (head + "".join(f"M{i},2023-01-01,{1e9 * (i + 1)},{1e21}\n" for i in range(n))).encode()


def test_live_source_shrinking_by_half_is_refused_unless_allowed(
    tmp_path: Path, server: ScriptedServer, capsys: pytest.CaptureFixture
) -> None:
    server.set("/epoch.ai/data/notable_ai_models.csv", ok(epoch_csv(300)), ok(epoch_csv(120)))
    data = tmp_path / "data"
    args = ["fetch", "--data-dir", str(data), "--mirror", server.url, "-q", "--no-harmonize"]
    assert main([*args, "--only", "epoch"]) == 0
    before = snapshot(data)
    capsys.readouterr()
    assert main([*args, "--only", "epoch", "--refresh"]) == 1
    err = capsys.readouterr().err
    assert "the new copy has 120 records" in err and "has 300" in err
    assert "--allow-shrink" in err
    assert snapshot(data) == before
    assert main([*args, "--only", "epoch", "--refresh", "--allow-shrink"]) == 0
    assert (data / "raw" / "epoch" / "notable_ai_models.csv").read_bytes() == epoch_csv(120)


# ------------------------------------------------------------------------- 2. concurrent runs


def test_concurrent_runs_keep_every_manifest_entry(tmp_path: Path, server: ScriptedServer) -> None:
    a, b = table("a"), table("b")
    server.set("/ex.org/a.csv", slow(0.4, ok(CSV)))
    server.set("/ex.org/b.csv", slow(0.4, ok(CSV)))
    cfg = cfg_for(tmp_path, server, a, b)
    runs = [
        threading.Thread(target=fetch_all, args=(cfg, [n]), kwargs={"progress": False})
        for n in ("a", "b")
    ]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    assert sorted(json.loads(cfg.manifest_path.read_text())) == ["a", "b"]


def test_lock_held_too_long_is_a_clear_error(tmp_path: Path, server: ScriptedServer) -> None:
    from filelock import FileLock

    from obsscale.exceptions import DataLockError

    cfg = cfg_for(tmp_path, server, table(), lock_timeout=0.2)
    cfg.data_dir.mkdir(parents=True)
    with (
        FileLock(cfg.data_dir / ".obsscale.lock"),
        pytest.raises(DataLockError, match="in use by another obsscale run"),
    ):
        fetch_all(cfg, progress=False)


# --------------------------------------------------------------------- 3. a deleted raw file


def test_harmonize_refuses_a_deleted_raw_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "data"
    cfg = default_config(data)
    write_fakes(cfg)
    assert main(["harmonize", "--data-dir", str(data)]) == 0
    before = snapshot(cfg.processed_dir)
    cfg.raw_path(cfg.source("openllm_v2")).unlink()
    assert main(["harmonize", "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert "openllm_v2: raw file" in err and "huggingface_v2.csv is missing" in err
    assert "obsscale fetch --only openllm_v2" in err
    assert snapshot(cfg.processed_dir) == before
    assert main(["harmonize", "--data-dir", str(data), "--exclude-source", "openllm_v2"]) == 0
    assert main(["harmonize", "--data-dir", str(data), "--exclude-source", "nosuch"]) == 1
    assert "unknown source 'nosuch'" in capsys.readouterr().err


# ---------------------------------------------------------------------------- weak: the rest


def test_stale_part_files_are_removed_under_the_lock(
    tmp_path: Path, server: ScriptedServer
) -> None:
    server.set("/ex.org/t.csv", ok(CSV))
    cfg = cfg_for(tmp_path, server, table())
    stale = cfg.raw_dir / "t" / ".t.csv.abc123.part"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"Model,sco")
    fetch_all(cfg, progress=False)
    assert not stale.exists()
    assert (cfg.raw_dir / "t" / "t.csv").read_bytes() == CSV


def trickle(h: http.server.BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", str(len(CSV)))
    h.end_headers()
    for byte in CSV:
        h.wfile.write(bytes([byte]))
        h.wfile.flush()
        time.sleep(0.1)


def test_download_has_a_total_deadline(tmp_path: Path, server: ScriptedServer) -> None:
    server.set("/ex.org/t.csv", trickle)
    cfg = cfg_for(tmp_path, server, table(), timeout=2.0, deadline=1.0)
    start = time.monotonic()
    [result] = fetch_all(cfg, progress=False)
    assert time.monotonic() - start < 5
    assert result.status == "failed"
    assert "longer than the deadline of 1 s" in result.error
    assert not cfg.raw_path(cfg.sources[0]).exists()
    assert not list(cfg.data_dir.rglob("*.part"))


def test_unresolvable_host_fails_fast_and_points_to_the_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    net = NetworkConfig(retries=4, backoff_factor=0.5)
    cfg = Config(data_dir=tmp_path / "d", sources=(table(),), network=net)
    start = time.monotonic()
    [result] = fetch_all(cfg, progress=False)
    assert time.monotonic() - start < 1.0
    assert "cannot resolve host 'ex.org'" in result.error
    assert "--mirror" in result.error and "OBSSCALE_MIRROR" in result.error


def test_each_retry_is_logged_at_the_default_level(
    tmp_path: Path, server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.set("/ex.org/t.csv", status(503), ok(CSV))
    with caplog.at_level(logging.WARNING):
        [result] = fetch_all(cfg_for(tmp_path, server, table()), progress=False)
    assert result.status == "downloaded"
    assert any("retrying" in r.message and "HTTP 503" in r.message for r in caplog.records)


@pytest.mark.parametrize("mirror", ["127.0.0.1:8765", "ftp://h/x", "http//h"])
def test_mirror_without_a_scheme_says_what_a_mirror_url_looks_like(
    tmp_path: Path, mirror: str, capsys: pytest.CaptureFixture
) -> None:
    rc = main(["fetch", "--data-dir", str(tmp_path / "d"), "--mirror", mirror, "-q"])
    assert rc == 1
    assert "a mirror URL looks like http://HOST[:PORT][/PATH]" in capsys.readouterr().err
    assert not (tmp_path / "d" / "raw").exists()


def test_ctrl_c_during_download_exits_130_and_leaves_nothing_half_written(
    tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from obsscale.data import fetch

    data = tmp_path / "data"
    server.set("/epoch.ai/data/notable_ai_models.csv", ok(epoch_csv(300)))
    args = ["fetch", "--data-dir", str(data), "--mirror", server.url, "-q", "--no-harmonize"]
    assert main([*args, "--only", "epoch"]) == 0
    before = snapshot(data)

    def interrupted(session, source, url, target, *rest):  # type: ignore[no-untyped-def]
        Path(target).write_bytes(b"Model,Publ")
        raise KeyboardInterrupt

    monkeypatch.setattr(fetch, "download", interrupted)
    capsys.readouterr()
    assert main([*args, "--only", "epoch", "--refresh"]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["obsscale fetch: interrupted"]
    assert snapshot(data) == before
    assert os.listdir(data / "raw" / "epoch") == ["notable_ai_models.csv"]


def test_a_dead_mirror_gives_one_short_line_per_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = Config(
        data_dir=tmp_path / "d",
        mirror=f"http://127.0.0.1:{port}",
        sources=tuple(table(f"t{i}") for i in range(7)),
        network=NetworkConfig(retries=0),
    )
    results = fetch_all(cfg, progress=False)
    assert all(f"cannot connect to 127.0.0.1:{port}" in r.error for r in results)
    assert all("make mirror" in r.cause and "urllib3" not in r.cause for r in results)
    from obsscale.cli.commands import _failures

    line = _failures(results)
    assert line.count("cannot connect") == 1 and "t0, t1, t2, t3, t4 and 2 more" in line
