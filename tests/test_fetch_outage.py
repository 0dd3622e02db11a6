"""Issue 23, a dead or hostile upstream: capped waits, a total time per file that includes the
headers, hosts that failed given up for their other files, downloads side by side within a
per-host limit, messages in words, JSON sources that declare their keys, and SIGTERM."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import ScriptedServer, ok, reset, slow, status
from upstream_fakes import EVALPLUS, write_fakes

from obsscale.cli import main
from obsscale.config import Config, NetworkConfig, Source, default_config
from obsscale.data.fetch import fetch_all

CSV = b"Model,score\n" + b"".join(f"org/m{i},0.{i}\n".encode() for i in range(1, 9))
FAST = NetworkConfig(timeout=0.5, retries=2, backoff_factor=0.01, backoff_max=0.05)


def table(name: str) -> Source:
    return Source(name, f"https://ex.org/{name}.csv", "obsscaling", required=("Model",), min_rows=2)


def config(tmp_path: Path, server: ScriptedServer, *sources: Source, **net: float) -> Config:
    network = NetworkConfig(**{**FAST.__dict__, **net})
    return Config(data_dir=tmp_path / "d", mirror=server.url, sources=sources, network=network)


def test_retry_after_is_capped(
    tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib3.util.retry as retry

    waits: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", waits.append)  # urllib3's own sleep, recorded
    server.set("/ex.org/t.csv", status(503, {"Retry-After": "3600"}), ok(CSV))
    cfg = config(tmp_path, server, table("t"), max_retry_after=2.0)
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "downloaded"
    assert waits and max(waits) <= 2.0


def test_retries_stop_at_the_retry_window(
    tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.set("/ex.org/t.csv", status(503, {"Retry-After": "1"}))
    cfg = config(tmp_path, server, table("t"), retries=50, retry_window=1.5)
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "failed" and "HTTP 503 Service Unavailable" in result.error
    assert server.hits["/ex.org/t.csv"] <= 3  # not 51


def test_the_deadline_covers_a_server_that_never_answers(
    tmp_path: Path, server: ScriptedServer
) -> None:
    server.set("/ex.org/t.csv", slow(3.0, ok(CSV)))  # accepts, then sends nothing for 3 s
    cfg = config(tmp_path, server, table("t"), timeout=0.4, retries=10, deadline=0.6)
    [result] = fetch_all(cfg, progress=False)
    assert result.status == "failed"
    assert "deadline of 0.6 s" in result.error or "sent no answer" in result.error
    assert server.hits["/ex.org/t.csv"] <= 2  # the deadline stopped the retries


def test_a_host_that_failed_every_retry_is_not_tried_for_its_other_files(
    tmp_path: Path, server: ScriptedServer
) -> None:
    sources = [table(f"t{i}") for i in range(12)]
    for s in sources:
        server.set(f"/ex.org/{s.name}.csv", status(503))
    cfg = config(tmp_path, server, *sources, retries=3, per_host=2)
    results = fetch_all(cfg, progress=False)
    assert all(r.status == "failed" and r.host_down for r in results)
    assert sum(server.hits.values()) <= 2 * 4 + 2  # two files' retries (not 12 x 4 = 48)
    assert len({r.cause for r in results}) == 1  # one cause for the host: one line
    assert sum("not tried" in r.error for r in results) >= 8


def test_one_broken_file_does_not_stop_a_host_that_serves_the_others(
    tmp_path: Path, server: ScriptedServer
) -> None:
    sources = [table(f"t{i}") for i in range(6)]
    for s in sources:
        server.set(f"/ex.org/{s.name}.csv", slow(0.2, ok(CSV)))
    server.set("/ex.org/t4.csv", status(500))
    results = fetch_all(config(tmp_path, server, *sources, per_host=1), progress=False)
    assert [r.status for r in results] == ["downloaded"] * 4 + ["failed", "downloaded"]


def test_downloads_run_side_by_side_within_the_per_host_limit(
    tmp_path: Path, server: ScriptedServer
) -> None:
    lock, now, peak = threading.Lock(), [0], [0]

    def counted(h: http.server.BaseHTTPRequestHandler) -> None:
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        time.sleep(0.3)
        with lock:
            now[0] -= 1
        ok(CSV)(h)

    sources = [table(f"t{i}") for i in range(8)]
    for s in sources:
        server.set(f"/ex.org/{s.name}.csv", counted)
    results = fetch_all(config(tmp_path, server, *sources, per_host=3), progress=False)
    assert all(r.status == "downloaded" for r in results)
    assert peak[0] == 3
    manifest = json.loads(config(tmp_path, server).manifest_path.read_text())
    assert sorted(manifest) == sorted(s.name for s in sources)  # no entry lost


def test_a_total_outage_gives_one_line_per_host_and_a_hint(
    tmp_path: Path, server: ScriptedServer, capsys: pytest.CaptureFixture
) -> None:
    server.httpd.handle_error = lambda *a: None  # type: ignore[method-assign]  # client hung up
    data = tmp_path / "data"
    for source in default_config().sources:  # every file of every host: 503
        server.set("/" + source.url.removeprefix("https://"), status(503))
    toml = tmp_path / "o.toml"
    toml.write_text("[network]\nretries = 2\nbackoff_factor = 0.01\n")
    args = ["fetch", "--data-dir", str(data), "--mirror", server.url, "-q", "--config", str(toml)]
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    host = server.url.removeprefix("http://")
    said = ("  HTTP", "  hint", "  cannot", "  127.0.0.1")  # not the server's own tracebacks
    lines = [line for line in err.splitlines() if line.startswith(said)]
    assert lines[0].startswith(f"  HTTP 503 Service Unavailable from {host} (")
    assert len(lines) == 2 and "retry later" in lines[1] and "--mirror" in lines[1]
    assert "urllib3" not in err and "HTTPConnectionPool" not in err
    assert not list(data.rglob("*.part"))


def test_failures_are_said_in_words_not_urllib3_text(
    tmp_path: Path, server: ScriptedServer
) -> None:
    server.set("/ex.org/a.csv", reset())
    # a timeout well above a loaded machine's scheduling delay: the reset must come first
    server.set("/ex.org/b.csv", slow(4.0, ok(CSV)))
    cfg = config(tmp_path, server, table("a"), table("b"), retries=0, timeout=1.5)
    a, b = fetch_all(cfg, progress=False)
    assert "closed or reset the connection before answering" in a.error
    assert "accepted the connection but sent no answer" in b.error
    assert a.cause == b.cause  # grouped under the host's first cause: one line
    for r in (a, b):
        assert "urllib3" not in r.error and "Pool" not in r.error and "object at" not in r.error


def test_a_renamed_json_key_fails_loudly_at_fetch_and_at_harmonize(
    tmp_path: Path, server: ScriptedServer, capsys: pytest.CaptureFixture
) -> None:
    renamed = {
        k: {
            **v,
            "pass@1": {("humaneval_plus" if b == "humaneval+" else b): x for b, x in p.items()},
        }
        if isinstance(p := v.get("pass@1"), dict)
        else v
        for k, v in EVALPLUS.items()
    }
    body = json.dumps({**renamed, **{f"x{i}": renamed["GPT-4"] for i in range(10)}}).encode()
    server.set("/evalplus.github.io/results.json", ok(body, "application/json"))
    data = tmp_path / "data"
    args = ["fetch", "--data-dir", str(data), "--mirror", server.url, "-q", "--no-harmonize"]
    assert main([*args, "--only", "evalplus"]) == 1
    err = capsys.readouterr().err
    assert "no entry has the keys ['pass@1.humaneval+']; the upstream format changed" in err
    cfg = default_config(data)
    write_fakes(cfg)
    cfg.raw_path(cfg.source("evalplus")).write_bytes(body)  # an old or hand-placed copy
    assert main(["harmonize", "--data-dir", str(data)]) == 1
    assert "no entry has the keys ['pass@1.humaneval+']" in capsys.readouterr().err


def test_sigterm_during_fetch_exits_143_with_one_line_and_no_part(
    tmp_path: Path, server: ScriptedServer
) -> None:
    def dripping(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(CSV) * 100))
        h.end_headers()
        try:
            for _ in range(600):
                h.wfile.write(CSV[:8])
                h.wfile.flush()
                time.sleep(0.05)
        except OSError:  # the client is gone: what this test wants
            h.close_connection = True

    server.set("/epoch.ai/data/notable_ai_models.csv", dripping)
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "obsscale", "fetch", "--data-dir", str(data)]
    cmd += ["--mirror", server.url, "-q", "--no-harmonize", "--only", "epoch"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    until = time.monotonic() + 30
    while not list(data.rglob("*.part")) and time.monotonic() < until:
        time.sleep(0.05)
    assert list(data.rglob("*.part")), "the download never started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert err.strip().splitlines()[-1] == "obsscale fetch: terminated (SIGTERM)", err
    assert "Traceback" not in err
    assert not list(data.rglob("*.part"))


def test_a_worker_process_ends_with_its_parent(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    script = textwrap.dedent(
        f"""
        import os, time
        os.environ["OBSSCALE_WORKERS"] = "2"
        from obsscale.workers import run_all

        def work():
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(60)

        list(run_all([work, lambda: None]))
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    until = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < until:
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    parent.kill()  # SIGKILL: no cleanup of its own runs
    parent.wait(timeout=10)
    until = time.monotonic() + 20
    while _alive(worker) and time.monotonic() < until:
        time.sleep(0.05)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")
