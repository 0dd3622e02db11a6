"""How much to do at once: two CPUs let independent work (the report's figures; the fit's
back-tests, forecasts and frontier analysis) run in forked processes, which inherit the
imported modules and the data and so start in milliseconds. Results are the same either way
(seeded work)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


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


def run_all(jobs: Sequence[Callable[[], T]], workers: int | None = None) -> Iterator[T]:
    """The results of ``jobs`` (callables without arguments), in their order, as each is
    ready: run by ``workers`` forked processes (default: ``available_workers()``), each job
    taken by the first worker free, so that jobs given longest first balance the workers.
    With one worker they run here, one after another. The workers inherit the jobs (only a
    job's index and its result are pickled); if the caller stops early or fails, they are
    stopped rather than waited for."""
    global _JOBS
    workers = available_workers() if workers is None else workers
    if workers < 2 or len(jobs) < 2:
        yield from (job() for job in jobs)
        return
    if _JOBS:
        raise RuntimeError("run_all is not reentrant: its workers read one list of jobs")
    _JOBS = list(jobs)
    try:
        with mp.get_context("fork").Pool(
            min(workers, len(jobs)), initializer=end_with_parent, initargs=(os.getpid(),)
        ) as pool:
            yield from pool.imap(_run_job, range(len(jobs)), chunksize=1)
    finally:
        _JOBS = []


#: the jobs of the ``run_all`` in progress, read by its forked workers
_JOBS: list[Callable[[], Any]] = []


def _run_job(i: int) -> Any:
    return _JOBS[i]()


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
