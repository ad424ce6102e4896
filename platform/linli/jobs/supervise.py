"""A child process kept running: `linli up` runs its job worker this way.

The child is started at once and started again whenever it exits (after 1 s, doubling up
to 30 s while it keeps failing quickly); ``stop`` asks it to stop with SIGTERM, waits for
it, and kills it if it will not go.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Sequence

logger = logging.getLogger("linli.jobs")

RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0
STEADY_SECONDS = 60.0  # a child that ran this long failed afresh: back to the first delay


class Supervised:
    def __init__(self, command: Sequence[str], *, name: str) -> None:
        self.command = list(command)
        self.name = name
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name=f"supervise {name}", daemon=True)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> Supervised:
        self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            if not self._stopping.is_set():
                self._process = subprocess.Popen(self.command)  # noqa: S603 - our own command

    def _watch(self) -> None:
        delay = 0.0
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            started = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > STEADY_SECONDS:
                delay = 0.0
            delay = min(max(RESTART_FIRST_SECONDS, delay * 2), RESTART_MAX_SECONDS)
            logger.warning(
                "the %s exited (status %s); starting it again in %.0f s", self.name, code, delay
            )
            if self._stopping.wait(delay):
                return
            self.restarts += 1
            self._spawn()

    def stop(self, *, timeout: float = 15.0) -> int | None:
        """Stop the child (SIGTERM, then SIGKILL after ``timeout``); its exit status."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(timeout)
        return process.returncode
