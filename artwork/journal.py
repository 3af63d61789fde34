"""The decision journal: append-only files, one per serving process, that the store ingests.

Committing each decision to SQLite on the request path costs a write lock, a WAL commit and,
with several worker processes, a cold page cache (every other process's commit invalidates
it). Appending one line to a file of the process's own costs a single `write`. The line is
then as durable as a SQLite commit with `synchronous = NORMAL`: it survives the process
dying, not the machine losing power. The store moves journal lines into the decisions table
in batches (one transaction each, with the file offset reached), so each line is ingested
exactly once.

A file's writer holds a shared `flock` on it while it lives; an ingester that can take an
exclusive one knows the writer is gone, and removes the file once it has all been ingested.
"""
from __future__ import annotations

import fcntl
import os
import secrets
import threading
from pathlib import Path

from artwork.errors import JournalError


JOURNAL_DIR = "journal"
SUFFIX = ".jsonl"
# How much of one file a single ingest transaction takes, so a backlog is moved in steps.
READ_CHUNK = 4 << 20
# A writer starts a new file past this size: a closed file is removed once ingested, so a
# long-running worker's journal does not grow without end.
ROTATE_BYTES = 32 << 20
# The file naming this journal folder's host, on a database several hosts share.
HOST_ID_FILE = "host-id"


class JournalWriter:
    """Appends records to this process's journal file (thread-safe; a fork gets a new file)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._fd, self._pid, self._size = -1, 0, 0
        self.path: Path | None = None

    def append(self, data: bytes) -> None:
        """Append complete lines; either all of `data` is in the file or none of it is."""
        with self._lock:
            if self._size >= ROTATE_BYTES and self._pid == os.getpid():
                self._close_file()  # releases its lock: an ingester may now remove it
            fd = self._file()
            view, written = memoryview(data), 0
            try:
                while written < len(data):
                    written += os.write(fd, view[written:])
            except OSError as exc:
                # Take a partly written record back out, so that the next one starts a line.
                try:
                    os.ftruncate(fd, self._size)
                except OSError:
                    pass
                raise JournalError(
                    f"could not append to the decision journal: {exc.strerror}"
                ) from None
            self._size += len(data)

    def size(self) -> int:
        """Bytes this process has appended to its current file."""
        return self._size if self._pid == os.getpid() else 0

    def close(self) -> None:
        """Close the file (releasing its lock); the next append opens a new one."""
        with self._lock:
            self._close_file()

    def _close_file(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._pid, self._size, self.path = -1, 0, 0, None

    def _file(self) -> int:
        pid = os.getpid()
        if self._pid == pid:
            return self._fd
        if self._fd >= 0:
            # Inherited across fork: the parent's file is the parent's to write.
            os.close(self._fd)
        path = self.folder / f"{pid}-{secrets.token_hex(4)}{SUFFIX}"
        # Made under another name and renamed once locked: an ingester that saw the file
        # before its lock would take its writer for gone and remove it.
        making = path.with_suffix(".new")
        fd = -1
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(making, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                         0o644)
            fcntl.flock(fd, fcntl.LOCK_SH)  # marks the writer as alive (see writer_gone)
            os.rename(making, path)
        except OSError as exc:
            if fd >= 0:
                os.close(fd)
            raise JournalError(
                f"could not create a decision journal file: {exc.strerror}"
            ) from None
        self._fd, self._pid, self._size, self.path = fd, pid, 0, path
        return fd


def host_scope(folder: Path) -> str:
    """The prefix naming this journal folder's files in a database several hosts share.

    A random id, made once and kept in the folder (HOST_ID_FILE), ending in "/".
    """
    path = folder / HOST_ID_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        scope = path.read_text().strip()
        if scope:
            return scope
        # Made by a process that died before writing it: written again below.
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    except OSError as exc:
        raise JournalError(f"could not make the journal's host id: {exc.strerror}") from None
    scope = f"{secrets.token_hex(8)}/"
    try:
        os.write(fd, scope.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return scope


def journal_sizes(folder: Path) -> dict[str, int]:
    """Each journal file in `folder` with its size in bytes (none when `folder` does not exist)."""
    sizes = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith(SUFFIX):
                    try:
                        sizes[entry.name] = entry.stat().st_size
                    except FileNotFoundError:  # removed by an ingester meanwhile
                        pass
    except (FileNotFoundError, NotADirectoryError):
        pass
    return sizes


def read_lines(path: Path, start: int, limit: int = READ_CHUNK) -> tuple[list[bytes], int]:
    """Complete lines from byte `start` on (about `limit` bytes), and the offset after them."""
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(limit)
        if len(data) == limit:
            # A line longer than the chunk: read on to its end.
            while not data.endswith(b"\n"):
                more = f.read(limit)
                if not more:
                    break
                data += more
    end = data.rfind(b"\n") + 1
    return data[:end].splitlines(), start + end


def writer_gone(path: Path) -> bool:
    """True when no process holds the file open for writing (its writer exited)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also releases the lock if it was taken
    return True
