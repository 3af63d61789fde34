"""Image work run side by side on the machine's cores.

OpenCV and numpy release the GIL while they decode, resize, transform and encode, so threads
speed up per-picture work without the cost of processes.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def side_by_side(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`work` applied to every item, in threads (one per core at most); results in order."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vision") as pool:
        return list(pool.map(work, items))
