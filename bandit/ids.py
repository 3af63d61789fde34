"""Event ids: unique, time-ordered, cheap to make."""
from __future__ import annotations

import os
import threading
import time


class _RandomPool:
    """Bytes from os.urandom, fetched 4 KiB at a time (a system call per id costs more than
    the rest of making it); a forked child starts with an empty pool of its own."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._data, self._pos = b"", 0

    def take(self, n: int) -> bytes:
        with self._lock:
            if self._pos + n > len(self._data):
                self._data, self._pos = os.urandom(4096), 0
            self._pos += n
            return self._data[self._pos - n:self._pos]


_POOL = _RandomPool()


def new_event_id() -> str:
    """A fresh unique event id, 32 hex digits in the layout of a UUIDv7 (RFC 9562).

    Milliseconds since the epoch come first, so new decisions land at the end of a decision
    log's primary-key index instead of on a random page of it; 74 random bits keep ids unique.
    """
    rand = int.from_bytes(_POOL.take(10), "big")
    value = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64
    value |= 0x2 << 62 | rand & 0x3FFF_FFFF_FFFF_FFFF
    return f"{value:032x}"
