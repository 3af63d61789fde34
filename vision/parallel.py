"""Image work run side by side, within the thread budget OpenCV is given.

OpenCV and numpy release the GIL while they decode, resize, transform and encode, so threads
speed up per-picture work without the cost of processes. The budget is OpenCV's own
(`cv2.setNumThreads`): a process that keeps its vision work to one core, as the ingest worker
does so that serving keeps its latency, gets it done one picture at a time.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

import cv2

T = TypeVar("T")
R = TypeVar("R")


def side_by_side(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`work` applied to every item, in as many threads as OpenCV may use; results in order."""
    workers = min(len(items), cv2.getNumThreads())
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vision") as pool:
        return list(pool.map(work, items))
