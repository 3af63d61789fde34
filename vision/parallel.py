"""Image work run side by side, within the thread budget OpenCV is given.

OpenCV and numpy release the GIL while they decode, resize, transform and encode, so threads
speed up per-picture work without the cost of processes. The budget is OpenCV's own
(`cv2.setNumThreads`): a process that keeps its vision work to one core, as the ingest worker
does so that serving keeps its latency, gets it done one picture at a time.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Sequence, TypeVar

import cv2

T = TypeVar("T")
R = TypeVar("R")


def side_by_side(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`work` applied to every item, in as many threads as OpenCV may use; results in order."""
    return list(in_order(work, items))


def in_order(work: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
    """`work`'s results for the items, in order, each as soon as it is ready while the later
    items are still worked on side by side (as in `side_by_side`); the caller can use each
    one meanwhile (write it out, say). Leaving early cancels the items not yet started."""
    workers = min(len(items), cv2.getNumThreads())
    if workers <= 1:
        yield from (work(item) for item in items)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vision")
    try:
        yield from pool.map(work, items)
    finally:
        pool.shutdown(cancel_futures=True)
