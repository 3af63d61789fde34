"""Image work side by side, within OpenCV's thread budget."""
from __future__ import annotations

import threading
import time

import cv2
import pytest

from vision.parallel import in_order, side_by_side


@pytest.fixture
def opencv_threads():
    """Set OpenCV's thread budget for a test, and put it back."""
    before = cv2.getNumThreads()
    yield cv2.setNumThreads
    cv2.setNumThreads(before)


def _where(item: int) -> tuple[int, str]:
    return item * item, threading.current_thread().name


def test_results_come_back_in_order_from_threads_within_the_budget(opencv_threads):
    opencv_threads(2)
    out = side_by_side(_where, list(range(40)))
    assert [r for r, _ in out] == [i * i for i in range(40)]
    assert {name for _, name in out} <= {f"vision_{i}" for i in range(2)}


def test_a_budget_of_one_thread_keeps_the_work_in_the_calling_thread(opencv_threads):
    opencv_threads(1)  # as the ingest worker runs, so that serving keeps its latency
    out = side_by_side(_where, list(range(5)))
    assert [r for r, _ in out] == [i * i for i in range(5)]
    assert {name for _, name in out} == {threading.current_thread().name}
    assert side_by_side(_where, []) == []


def test_each_result_is_handed_over_while_later_items_are_worked_on(opencv_threads):
    opencv_threads(2)
    release = threading.Event()

    def work(item: int) -> int:
        if item == 3:
            assert release.wait(10)  # held until the caller has used the first results
        return item * 10

    results = in_order(work, list(range(6)))
    assert [next(results) for _ in range(3)] == [0, 10, 20]
    release.set()
    assert list(results) == [30, 40, 50]


def test_leaving_early_drops_the_items_not_yet_started(opencv_threads):
    opencv_threads(2)
    done = []

    def work(item: int) -> int:
        time.sleep(0.002)
        done.append(item)
        return item

    results = in_order(work, list(range(1000)))  # two seconds of work at least
    assert next(results) == 0
    results.close()
    assert len(done) < 1000
