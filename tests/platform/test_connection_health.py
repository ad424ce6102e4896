"""The connection health check: no round trip for a working idle connection, a new
connection once the server has dropped the old one."""

from __future__ import annotations

import select
import time
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture
def own() -> Iterator[BaseDatabaseWrapper]:
    """A connection of its own, in autocommit, outside the test's transaction."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _pid(wrapper: BaseDatabaseWrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _last_statement(pid: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    assert row is not None, "the backend is gone"
    return str(row[0])


def test_an_idle_working_connection_is_usable_without_a_statement(own) -> None:
    pid = _pid(own)
    marker = f"SELECT 'marker {uuid.uuid4().hex}'"
    with own.cursor() as cursor:
        cursor.execute(marker)

    assert own.is_usable() is True

    # The server saw no `SELECT 1`: the last statement of that backend is still the marker.
    assert _last_statement(pid) == marker


def test_a_connection_the_server_dropped_is_replaced_before_the_next_query(own) -> None:
    pid = _pid(own)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the server's goodbye reaches the socket
        if select.select([own.connection.fileno()], [], [], 0.05)[0]:
            break
    else:
        pytest.fail("the terminated backend's socket never became readable")

    assert own.is_usable() is False

    # As at the start of a request: the check runs before the first query, which then
    # goes to a new backend instead of failing.
    own.health_check_done = False
    new_pid = _pid(own)
    assert new_pid != pid
    with own.cursor() as cursor:
        cursor.execute("SELECT 41 + 1")
        assert cursor.fetchone()[0] == 42


def test_a_connection_inside_a_transaction_is_asked(own) -> None:
    pid = _pid(own)
    own.set_autocommit(False)
    try:
        with own.cursor() as cursor:
            cursor.execute("SELECT 'in a transaction'")
        assert own.is_usable() is True
        assert _last_statement(pid) == "SELECT 1"
    finally:
        own.rollback()
        own.set_autocommit(True)


def test_a_closed_connection_is_not_usable(own) -> None:
    own.connection.close()
    assert own.is_usable() is False
