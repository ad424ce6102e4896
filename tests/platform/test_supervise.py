"""`linli up` runs a job worker beside its server: a child process started again when it
exits and stopped with `linli up`, and says so."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from types import SimpleNamespace

from linli import cli
from linli.jobs import supervise
from linli.jobs.supervise import Supervised

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def wait_for(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_child_that_dies_is_started_again_and_stopped_with_its_supervisor(monkeypatch):
    monkeypatch.setattr(supervise, "RESTART_FIRST_SECONDS", 0.05)
    child = Supervised(SLEEPER, name="sleeper").start()
    try:
        first = child.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)  # the worker is killed
        assert wait_for(lambda: child.pid != first and child.pid is not None)
        assert child.restarts == 1
        second = child.pid
        assert second is not None and alive(second)
    finally:
        status = child.stop(timeout=5)
    assert status == -signal.SIGTERM  # asked to stop, and it did
    assert not wait_for(lambda: child.pid != second, timeout=0.5)  # not started again
    assert wait_for(lambda: not alive(second))


def test_a_child_that_ignores_sigterm_is_killed():
    stubborn = [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)",
    ]
    child = Supervised(stubborn, name="stubborn").start()
    time.sleep(0.3)  # let it install its handler
    assert child.stop(timeout=0.5) == -signal.SIGKILL


def test_linli_up_runs_a_worker_says_so_and_stops_it(monkeypatch, capsys):
    started: list[Supervised] = []

    class Sleeper(Supervised):
        def __init__(self, command, *, name):
            assert command[-1] == "worker"  # `linli worker`, as a child process
            super().__init__(SLEEPER, name=name)
            started.append(self)

    monkeypatch.setattr(supervise, "Supervised", Sleeper)
    monkeypatch.setattr(cli, "cmd_migrate", lambda args: 0)
    demo = SimpleNamespace(slug="cenxi")
    monkeypatch.setattr("linli.registry.demo.demo_tenant_ensure", lambda: (demo, False))
    monkeypatch.setattr("linli.registry.demo.demo_platform_admin_ensure", lambda: "ops")
    monkeypatch.setattr("django.core.management.call_command", lambda *a, **k: None)
    assert cli.cmd_up(argparse.Namespace(port=8000, bind="127.0.0.1")) == 0
    [worker] = started
    printed = capsys.readouterr().out
    assert f"job worker          running (process {worker.pid})" in printed
    assert "http://localhost:8000/admin/\n                      login ops / linli-demo" in printed
    assert worker.pid is not None and wait_for(lambda: not alive(worker.pid))
