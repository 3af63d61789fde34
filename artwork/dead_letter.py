"""The dead-letter file: journal lines that ingest refused, each with the reason, kept for a person.

A refused line never reaches the decisions table; it is appended here (one JSON object per
line: when, which journal file, why, and the line itself) and ingest goes on with the rest.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Sequence

import orjson

DEAD_LETTER_DIR = "dead-letter"
DEAD_LETTER_FILE = "decisions.jsonl"
# Counting reads the file in blocks of this size, from where the last count stopped.
_COUNT_BLOCK = 1 << 20


class DeadLetterFile:
    """Appends refused journal lines with their reasons, and counts them (all processes' lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._counted = (0, 0)  # (bytes counted, lines in them)

    def append(self, source: str, refused: Sequence[tuple[bytes, str]]) -> None:
        """Append each (line, reason) refused in journal file `source`; OSError on failure."""
        now = time.time()
        data = b"".join(
            orjson.dumps({"time": now, "file": source, "reason": reason,
                          "line": line.decode("utf-8", "replace")}) + b"\n"
            for line, reason in refused)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            view, written = memoryview(data), 0
            while written < len(data):
                written += os.write(fd, view[written:])
        finally:
            os.close(fd)

    def count(self) -> int:
        """How many lines the file holds (counting only what was appended since the last call)."""
        with self._lock:
            done, lines = self._counted
            try:
                with open(self.path, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    if size < done:  # replaced or emptied by a person: count afresh
                        done, lines = 0, 0
                    f.seek(done)
                    while block := f.read(_COUNT_BLOCK):
                        lines += block.count(b"\n")
                        done += len(block)
            except FileNotFoundError:
                done, lines = 0, 0
            self._counted = (done, lines)
            return lines
