"""One process per job and data directory: a lock file that holds the owner's pid."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Callable


def hold_lock(path: Path, busy: Callable[[str], Exception]) -> int:
    """Take the lock at `path` (its descriptor, held until closed), or raise `busy(holder)`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise busy(holder) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd
