"""How much to do at once: two CPUs let independent work (the report's figures, the frontier
analysis beside the back-tests) run in forked processes, which inherit the imported modules
and the data and so start in milliseconds. Results are the same either way (seeded work)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def available_workers() -> int:
    """Processes to use: ``$OBSSCALE_WORKERS`` if set, else two where two CPUs and fork are
    available, else one."""
    if os.environ.get("OBSSCALE_WORKERS", "").isdigit():
        return max(1, int(os.environ["OBSSCALE_WORKERS"]))
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return min(2, cpus) if "fork" in mp.get_all_start_methods() else 1


@contextmanager
def in_background(fn: Callable[..., Any], *args: Any) -> Iterator[Callable[[], Any]]:
    """``fn(*args)`` in a forked process while the caller goes on; yields a function that
    returns its result (or raises its error). If the caller fails, the process is stopped
    rather than waited for. With one worker, ``fn`` runs when asked."""
    if available_workers() < 2:
        yield lambda: fn(*args)
        return
    pool = mp.get_context("fork").Pool(1, initializer=end_with_parent, initargs=(os.getpid(),))
    pending = pool.apply_async(fn, args)
    try:
        yield pending.get
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def end_with_parent(parent: int) -> None:
    """In a worker: SIGTERM ends it at once (not the parent's handler, which would raise in
    the worker and print a traceback), and on Linux the kernel sends it SIGTERM when the
    parent dies, however it dies (even SIGKILL), so that no worker computes on orphaned."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops the pool
    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
