"""Typed access to the tenant-aware connection (django.db.connection is typed as the base class)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import connection

from linli.db.base import DatabaseWrapper


def tenant_db() -> DatabaseWrapper:
    """The current thread's default connection, with its schema-switching methods."""
    return cast(DatabaseWrapper, connection)


def compose_sql(sql: str, params: Sequence[Any]) -> str:
    """``sql`` with ``params`` bound client-side, as PostgreSQL will read it."""
    return str(cast(Any, connection.ops).compose_sql(sql, params))
