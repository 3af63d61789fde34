"""`artbandit serve` in a child process: started, waited for, and stopped with all it started.

Used by the demo, the end-to-end tests and the API benchmark, which all need the real
production server on 127.0.0.1.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Mapping

import requests

from api.config import environment_with
from api.errors import ServerStartError


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A gunicorn server for `data_dir` on 127.0.0.1, in its own process group."""

    def __init__(self, data_dir: Path, *, settings: Mapping[str, object] | None = None,
                 workers: int = 1, port: int | None = None, output: IO | None = None,
                 timeout: float = 60.0, cwd: Path | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = environment_with(settings or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "--data-dir", str(data_dir), "serve",
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=output or subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=cwd,
        )
        try:
            self._wait_until_up(timeout)
        except BaseException:
            self.stop()  # never leave a server behind, whatever interrupted the wait
            raise

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(f"the server exited at start (code {self.proc.returncode})")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):
                # not listening yet, or listening while its worker still boots
                time.sleep(0.1)
        raise ServerStartError(f"the server did not answer /healthz within {timeout:g} s")

    def stop(self) -> None:
        """Stop the server and every process it started (SIGTERM, then SIGKILL)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
