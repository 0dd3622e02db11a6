"""Skip re-harmonizing when nothing it reads has changed.

``processed/`` is derived data: a function of the raw files, the harmonize settings and the
code. ``harmonize_key`` hashes all three (sha256 of every raw file, the settings harmonize
reads, the corrections file in use, and obsscale's version plus the source of the ``data``
package, which holds the parsers and the curated rules); ``processed/harmonize.json`` records
the key of the last build with the sha256 of each file it wrote (it is written in the same
folder swap as the tables, so it always describes them). ``fetch`` rebuilds only when the key
differs or an output is missing or was edited, so a warm ``obsscale fetch`` with nothing new
costs hashing ~7 MB instead of parsing and merging every source (3 s). Every stage that reads
a processed table first compares it with its recorded sha256 (``verify_output``): a table cut
short or edited by hand is refused, or used with ``--trust-edited`` if the edit was meant.

Kept free of pandas and numpy: the check runs before either is imported.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

from obsscale import __version__
from obsscale.config import Config
from obsscale.data import store

log = logging.getLogger(__name__)

RECORD = "harmonize.json"
OUTPUTS = ("models.csv", "provenance.csv", "quality.csv")
FORMAT = "obsscale.harmonize-cache/1"


def _code_hash() -> str:
    """obsscale's version and the bytes of the data package (parsers, rules, curated files)."""
    h = hashlib.sha256(__version__.encode())
    root = resources.files("obsscale.data")
    files = sorted(
        (p for p in Path(str(root)).rglob("*") if p.suffix in {".py", ".toml", ".csv"}),
        key=lambda p: p.relative_to(str(root)).as_posix(),
    )
    for path in files:
        h.update(path.relative_to(str(root)).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def _settings(config: Config) -> dict[str, Any]:
    """What harmonize reads from the configuration (not the network, model or report parts)."""
    corrections = config.corrections_file or config.data_dir / "corrections.csv"
    return {
        "data_dir": str(config.data_dir),
        "sources": [asdict(s) for s in config.sources],
        "audit": asdict(config.audit),
        "include_flagged": config.include_flagged,
        "include_merged": config.include_merged,
        "precedence": config.precedence,
        "apply_corrections": config.apply_corrections,
        "corrections_file": str(corrections),
        "corrections_sha256": store.sha256_file(corrections) if corrections.exists() else None,
    }


def harmonize_key(config: Config) -> str:
    """sha256 of the raw files, the harmonize settings and the code that reads them."""
    raw = {
        s.name: store.sha256_file(path) if (path := config.raw_path(s)).exists() else None
        for s in config.sources
    }
    payload = {"raw": raw, "settings": _settings(config), "code": _code_hash()}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def up_to_date(config: Config, key: str) -> dict[str, Any] | None:
    """The record of the last build if it had this key and its outputs are unchanged."""
    path = config.processed_dir / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("format") != FORMAT or record.get("key") != key:
        return None
    for name in OUTPUTS:
        out = config.processed_dir / name
        if not out.exists() or store.sha256_file(out) != record["outputs"].get(name):
            log.info("%s changed since it was built: harmonizing again", out)
            return None
    return record


def record_build(folder: Path, key: str | None, summary: dict[str, Any]) -> None:
    """Write, beside the tables just written to ``folder``, the key of the build (None when
    built without one: never up to date), the hashes of the tables and their summary."""
    outputs = {n: store.sha256_file(folder / n) for n in OUTPUTS}
    record = {"format": FORMAT, "key": key, "outputs": outputs, "summary": summary}
    store.write_text(folder / RECORD, json.dumps(record, indent=2, sort_keys=True))


def verify_output(config: Config, name: str) -> bool:
    """Refuse a processed table whose bytes differ from what harmonize recorded (cut short
    by a full disk or a kill, or edited by hand), unless ``config.trust_edited``. A folder
    without a record holds tables built by hand: nothing to compare with. Returns whether
    harmonize recorded the table (so that its values must keep the parsers' rules)."""
    from obsscale.exceptions import HarmonizeError

    path = config.processed_dir / name
    try:
        record = json.loads((config.processed_dir / RECORD).read_text(encoding="utf-8"))
        want = record["outputs"][name]
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise HarmonizeError(
            f"{config.processed_dir / RECORD}: unreadable ({type(e).__name__}); rebuild the "
            "tables with `obsscale harmonize`"
        ) from e
    got = store.sha256_file(path)
    if got == want:
        return True
    if config.trust_edited:
        log.warning("%s: edited since `obsscale harmonize` wrote it; used as edited", path)
        return True
    raise HarmonizeError(
        f"{path}: not the table `obsscale harmonize` wrote (sha256 {got[:12]}, recorded "
        f"{str(want)[:12]} in {RECORD}: cut short or edited); rebuild it with "
        "`obsscale harmonize`, or pass --trust-edited to use it as edited"
    )
