"""One way to spread per-mammogram work over every core, shared by preparation and its
benchmark (so a ratio between the two compares the work, not the plumbing).

Each worker process receives the shared state once (its initializer), not with every
task, and runs OpenCV single-threaded: the processes already fill the cores, and
OpenCV's own threads on top would only contend with them.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence, TypeVar

import cv2

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int, int], None]

_state: Any = None


def worker_state() -> Any:
    """What :func:`run_parallel` handed this process as ``state``."""
    return _state


def _init(state: Any) -> None:
    global _state
    _state = state
    cv2.setNumThreads(1)


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_parallel(fn: Callable[[T], R], items: Sequence[T], state: Any, *, workers: int | None = None,
                 progress: Progress | None = None) -> list[R]:
    """``[fn(item) for item in items]`` over ``workers`` processes, in order; ``fn`` reads
    ``state`` through :func:`worker_state`."""
    workers = max(1, min(workers or default_workers(), len(items)))
    results: list[R] = []
    if workers == 1:
        global _state
        saved_state, saved_threads = _state, cv2.getNumThreads()
        _init(state)
        try:
            for done, item in enumerate(items, 1):
                results.append(fn(item))
                if progress:
                    progress(done, len(items))
        finally:
            _state = saved_state
            cv2.setNumThreads(saved_threads)
        return results
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(state,)) as pool:
        for done, result in enumerate(pool.map(fn, items), 1):
            results.append(result)
            if progress:
                progress(done, len(items))
    return results
