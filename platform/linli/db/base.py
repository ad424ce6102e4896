"""The database backend: django-tenants' schema switching, made cheap when nothing changes.

Stock django-tenants forgets the search path and clears the content-type cache
on every ``set_tenant`` call, even when the tenant is the one already active,
so every request pays for a ``SET search_path``. Here switching to the active
schema is a no-op; switching to another one behaves as before.

Django's connection health check (``CONN_HEALTH_CHECKS``) sends ``SELECT 1``
before the first query of every request, a round trip of its own. Here an idle
connection is asked only when the server has said something since: see
``is_usable``.
"""

from __future__ import annotations

import select
from typing import Any

from django_tenants.postgresql_backend import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        if (
            self.schema_name == tenant.schema_name
            and self.include_public_schema == include_public
            and self.search_path_set_schemas is not None
        ):
            self.tenant = tenant
            return
        super().set_tenant(tenant, include_public)

    def is_usable(self) -> bool:
        """Whether the open connection still works, without a round trip when it plainly does.

        A server that restarts, fails over, times the session out or terminates the backend
        sends its last message and closes the socket, so the idle connection has something
        to read. Nothing to read on an idle connection: it works. Anything to read, or a
        connection that is not idle, is checked with ``SELECT 1`` as Django does.
        """
        raw = self.connection
        if raw is None or raw.closed or raw.broken:
            return False
        if raw.info.transaction_status != TransactionStatus.IDLE:
            return bool(super().is_usable())
        try:
            readable, _, _ = select.select([raw.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(super().is_usable()) if readable else True
