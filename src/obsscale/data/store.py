"""File output: every file obsscale writes appears whole or not at all, JSON always valid.

A reader (or a rerun after a crash) must never see a half-written table, so outputs are
written to a process-unique temporary file in the destination folder and renamed over the
target only once complete; the temporary file is removed on any failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from obsscale.exceptions import WriteError

if TYPE_CHECKING:
    import pandas as pd


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp's 0600 would hide reports from others
        os.replace(tmp_path, target)
    except OSError as e:
        if e.errno is None:
            raise
        # "No space left on device" alone names no file: name the one being written
        name = str(target) if e.filename in (None, str(tmp_path)) else e.filename
        raise WriteError(e.errno, e.strerror, name) from e
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def folder_unit(target: str | Path) -> Iterator[Path]:
    """Yield a fresh folder beside ``target``; if the block succeeds, it replaces ``target``
    whole. Files that belong together (the processed tables and their record) are then never
    seen half old, half new: until the swap the previous folder is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(target)
    new = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".new"))
    try:
        yield new
        old = target.parent / f".{target.name}.{os.getpid()}.old"
        with signals_deferred():  # Ctrl-C or SIGTERM between the renames: after them
            if target.exists():
                os.rename(target, old)
            os.rename(new, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(new, ignore_errors=True)


def recover_folder(target: str | Path) -> None:
    """Undo what a run killed outright (SIGKILL, power loss) left of ``folder_unit``: the
    previous folder put back if the new one never arrived, leftovers removed. Call it where
    no other run writes (under the data lock)."""
    target = Path(target)
    olds = sorted(target.parent.glob(f".{target.name}.*.old"))
    if olds and not target.exists():
        logging.getLogger(__name__).warning("%s: restored the previous copy", target)
        os.rename(olds[-1], target)
    for path in [*olds, *target.parent.glob(f".{target.name}.*.new")]:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for a few renames that must happen together; a signal
    that arrives meanwhile is delivered right after."""
    main = threading.current_thread() is threading.main_thread()
    main = main and hasattr(signal, "pthread_sigmask")  # POSIX
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held) if main else None
    try:
        yield
    finally:
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def remove_stale_parts(folder: str | Path, older_than: float = 3600.0) -> list[Path]:
    """Remove the temporaries of ``atomic_path`` that a killed run left in ``folder`` (and
    below), older than ``older_than`` seconds; return what was removed."""
    folder, now = Path(folder), time.time()
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in folder.rglob(".*.part"):
        try:
            if now - path.stat().st_mtime >= older_than:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # removed meanwhile by its own run
            continue
    if removed:
        log = logging.getLogger(__name__)
        log.info("removed %d stale temporary file(s) in %s", len(removed), folder)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in blocks (the manifest's and fit.json's input hash)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_text(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(target: str | Path, data: bytes) -> None:
    """``write_text`` for text already encoded (orjson's output: no decode and re-encode)."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def jsonable(obj: Any) -> Any:
    """A JSON-safe copy: DataFrames as records, numpy scalars and arrays as Python values,
    tuples as lists, NaN/NA as null (strict JSON has no NaN)."""
    import numpy as np  # here: fetch imports this module and needs neither (0.5 s)
    import pandas as pd

    return _jsonable(obj, np, pd)


def _jsonable(obj: Any, np: Any, pd: Any) -> Any:
    if isinstance(obj, pd.DataFrame):
        return [_jsonable(r, np, pd) for r in obj.to_dict(orient="records")]
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, np, pd) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_jsonable(v, np, pd) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is pd.NA or obj is pd.NaT or (isinstance(obj, float) and not math.isfinite(obj)):
        return None
    return obj


def dumps(obj: Any) -> str:
    """Deterministic JSON (sorted keys, fixed indentation) so equal inputs give equal bytes."""
    return json.dumps(jsonable(obj), indent=2, sort_keys=True, allow_nan=False)


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """A JSON file obsscale wrote, or an ``ArtifactError`` naming the file and the cause."""
    from obsscale.exceptions import ArtifactError

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ArtifactError(f"{path} not found: no {what}") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArtifactError(f"{path}: not a readable {what} ({e})") from e


def write_json(target: str | Path, obj: Any) -> None:
    write_text(target, dumps(obj) + "\n")


def write_csv(target: str | Path, frame: pd.DataFrame, **kwargs: Any) -> None:
    """CSV with floats at 12 significant digits: exact for every upstream value's meaning,
    and free of binary noise such as 83999999999999991611392.0 for 8.4e22."""
    kwargs.setdefault("float_format", "%.12g")
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n", **kwargs)
