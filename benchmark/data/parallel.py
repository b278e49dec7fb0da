"""One way to spread per-mammogram work over every core, shared by preparation and its
benchmark (so a ratio between the two compares the work, not the plumbing).

Workers are forked where the platform can (cheap: nothing to import or pickle) and
receive the shared state once, not with every task. OpenCV runs single-threaded while they work (the processes
already fill the cores). It is set so in *this* process, before forking, and restored
afterwards: a forked child must never reconfigure OpenCV's thread pool itself, since
the pool's threads did not survive the fork and the call would wait on them forever.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import cv2

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int, int], None]

_state: Any = None


def worker_state() -> Any:
    """What :func:`run_parallel` handed this process as ``state``."""
    return _state


def _init(state: Any, forked: bool) -> None:
    global _state
    _state = state
    if not forked:  # a fresh interpreter (no fork on this platform): its pool is its own
        cv2.setNumThreads(1)
    # A progress display in the parent may have redirected these through its own locks.
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


@contextmanager
def _opencv_single_threaded() -> Iterator[None]:
    saved = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(saved)


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_parallel(
    fn: Callable[[T], R],
    items: Sequence[T],
    state: Any,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[R]:
    """``[fn(item) for item in items]`` over ``workers`` processes, in order; ``fn`` reads
    ``state`` through :func:`worker_state`."""
    global _state
    workers = max(1, min(workers or default_workers(), len(items)))
    results: list[R] = []
    with _opencv_single_threaded():
        if workers == 1:
            saved, _state = _state, state
            try:
                for done, item in enumerate(items, 1):
                    results.append(fn(item))
                    if progress:
                        progress(done, len(items))
            finally:
                _state = saved
            return results
        forked = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if forked else None)
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(state, forked)) as pool:
            for done, result in enumerate(pool.map(fn, items), 1):
                results.append(result)
                if progress:
                    progress(done, len(items))
    return results
