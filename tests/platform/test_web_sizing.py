"""`linli web` sizes its workers for the CPUs it may use, a container's CPU limit included."""

from __future__ import annotations

import argparse
import os

import pytest

from linli import cli


@pytest.fixture
def cpus() -> int:
    return len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("max 100000\n", None),  # no quota: every CPU it may run on
        ("100000 100000\n", 1),  # one CPU
        ("150000 100000\n", 2),  # one and a half, rounded up
        ("5000 100000\n", 1),  # a twentieth: still one
        ("6400000 100000\n", None),  # more than the machine has
        ("garbage\n", None),  # unreadable: what it may run on
    ],
)
def test_a_containers_cpu_limit_counts(tmp_path, monkeypatch, cpus, cpu_max, expected) -> None:
    limit = tmp_path / "cpu.max"
    limit.write_text(cpu_max)
    monkeypatch.setattr(cli, "CGROUP_CPU_MAX", limit)

    assert cli.available_cpus() == (cpus if expected is None else min(expected, cpus))


def test_without_a_control_group_file_every_allowed_cpu_counts(tmp_path, monkeypatch, cpus):
    monkeypatch.setattr(cli, "CGROUP_CPU_MAX", tmp_path / "absent")
    assert cli.available_cpus() == cpus


def test_the_default_workers_follow_the_cpus(tmp_path, monkeypatch) -> None:
    limit = tmp_path / "cpu.max"
    limit.write_text("100000 100000\n")
    monkeypatch.setattr(cli, "CGROUP_CPU_MAX", limit)
    monkeypatch.delenv("LINLI_WEB_WORKERS", raising=False)

    options = cli._web_options(argparse.Namespace(bind="127.0.0.1:0"))

    assert options["workers"] == 3  # two per CPU and one more
    monkeypatch.setenv("LINLI_WEB_WORKERS", "7")
    assert cli._web_options(argparse.Namespace(bind="127.0.0.1:0"))["workers"] == 7


def test_the_workers_stay_within_bounds() -> None:
    assert cli.web_workers_default(1) == 3
    assert cli.web_workers_default(64) == cli.WEB_WORKERS_MAX
