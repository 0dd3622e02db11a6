"""One run at a time per data folder: fetch and harmonize hold ``DATA_DIR/.obsscale.lock``.

Two concurrent runs would otherwise each read the manifest, add their own entries and write it
back, losing the other's. Holding the lock also means that no other run is writing in the
data folder, so any temporary ``.part`` file found there was left by a killed run and is
removed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from filelock import FileLock, Timeout

from obsscale.config import Config
from obsscale.data import store
from obsscale.exceptions import DataLockError

log = logging.getLogger(__name__)

LOCK_NAME = ".obsscale.lock"


@contextlib.contextmanager
def data_lock(config: Config) -> Iterator[None]:
    """Hold the data folder's lock (waiting up to ``network.lock_timeout`` s for another run);
    clean the temporaries of killed runs once it is held."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    path = config.data_dir / LOCK_NAME
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        wait = config.network.lock_timeout
        log.warning("%s is in use by another obsscale run; waiting up to %g s", path, wait)
        try:
            lock.acquire(timeout=wait)
        except Timeout as e:
            raise DataLockError(
                f"{config.data_dir} is in use by another obsscale run (lock {path} held for "
                f"more than {wait:g} s); wait for it to finish, or raise [network] lock_timeout"
            ) from e
    try:
        store.recover_folder(config.processed_dir)  # a harmonize killed mid-swap
        for folder in (config.raw_dir, config.processed_dir):
            store.remove_stale_parts(folder, older_than=0.0)
        yield
    finally:
        lock.release()
