"""Per-tenant usage, counted cheaply: in memory per process, written in batches.

Every request served for a tenant adds to a counter keyed by (tenant, UTC day,
module); nothing is written per request. The counts are added to the
``ops_usage`` rows with one upsert statement per batch (of at most
``FLUSH_ROWS`` keys) when ``LINLI_USAGE_FLUSH_SECONDS`` have passed or
``LINLI_USAGE_FLUSH_REQUESTS`` requests were counted since the last write, and
when the process exits. A process killed without warning loses at most that much.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

logger = logging.getLogger(__name__)

# Keys written per statement: bounds the statement's size whatever the number of tenants.
FLUSH_ROWS = 1000
READS = frozenset({"GET", "HEAD", "OPTIONS"})
_SEGMENT = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

Key = tuple[int, date, str]


@dataclass
class Counts:
    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    writes: int = 0
    last_at: datetime | None = None

    def add(self, other: Counts) -> None:
        self.requests += other.requests
        self.client_errors += other.client_errors
        self.server_errors += other.server_errors
        self.writes += other.writes
        if other.last_at is not None and (self.last_at is None or other.last_at > self.last_at):
            self.last_at = other.last_at


UPSERT = """
INSERT INTO "public"."ops_usage" AS usage
    (tenant_id, day, module, requests, client_errors, server_errors, writes, last_at)
SELECT v.tenant_id, v.day, v.module, v.requests, v.client_errors, v.server_errors, v.writes,
       v.last_at
FROM (VALUES {values})
    AS v (tenant_id, day, module, requests, client_errors, server_errors, writes, last_at)
-- a tenant deleted since its requests were counted has nothing to keep
WHERE EXISTS (SELECT 1 FROM "public"."registry_tenant" t WHERE t.id = v.tenant_id)
ON CONFLICT (tenant_id, day, module) DO UPDATE SET
    requests = usage.requests + EXCLUDED.requests,
    client_errors = usage.client_errors + EXCLUDED.client_errors,
    server_errors = usage.server_errors + EXCLUDED.server_errors,
    writes = usage.writes + EXCLUDED.writes,
    last_at = GREATEST(usage.last_at, EXCLUDED.last_at)
"""
ROW = (
    "(%s::bigint, %s::date, %s::varchar, %s::bigint, %s::bigint, %s::bigint, %s::bigint,"
    " %s::timestamptz)"
)


def usage_write(pending: dict[Key, Counts]) -> int:
    """Add ``pending`` to the usage rows: one statement per ``FLUSH_ROWS`` keys.

    Schema-qualified, so it lands in ``public`` whatever tenant the connection serves.
    """
    items = sorted(pending.items(), key=lambda item: item[0])  # one lock order for all writers
    for start in range(0, len(items), FLUSH_ROWS):
        chunk = items[start : start + FLUSH_ROWS]
        params: list[Any] = []
        for (tenant_id, day, module), counts in chunk:
            params += [tenant_id, day, module, counts.requests, counts.client_errors]
            params += [counts.server_errors, counts.writes, counts.last_at]
        with connection.cursor() as cursor:
            cursor.execute(UPSERT.format(values=", ".join([ROW] * len(chunk))), params)
    return len(items)


class UsageCounter:
    """Thread-safe counts of one process, not yet written."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[Key, Counts] = {}
        self._requests = 0
        self._since = time.monotonic()
        # The database the counts were made against: tenant ids mean nothing in another.
        self._database: str | None = None

    def record(
        self, *, tenant_id: int, module: str, status: int, write: bool, at: datetime
    ) -> bool:
        """Count one request; True when the counts are due to be written."""
        key = (tenant_id, at.date(), module)
        with self._lock:
            counts = self._pending.get(key)
            if counts is None:
                counts = self._pending[key] = Counts()
            if self._database is None:
                self._database = _database()
            counts.requests += 1
            counts.client_errors += 400 <= status < 500
            counts.server_errors += status >= 500
            counts.writes += write
            if counts.last_at is None or at > counts.last_at:
                counts.last_at = at
            self._requests += 1
            return self._due()

    def _due(self) -> bool:
        if self._requests >= settings.LINLI_USAGE_FLUSH_REQUESTS:
            return True
        return time.monotonic() - self._since >= settings.LINLI_USAGE_FLUSH_SECONDS

    def take(self) -> dict[Key, Counts]:
        """Everything counted so far, leaving the counter empty (one swap under the lock)."""
        with self._lock:
            pending, self._pending = self._pending, {}
            database, self._database = self._database, None
            self._requests = 0
            self._since = time.monotonic()
        if pending and database is not None and database != _database():
            # e.g. a test run's counts at exit, once settings point back at another database;
            # dropped without a log line, as logging may already be shut down by then
            return {}
        return pending

    def put_back(self, pending: dict[Key, Counts]) -> None:
        """Counts a failed write could not keep: merged into whatever came in meanwhile."""
        with self._lock:
            if self._database is None:
                self._database = _database()
            for key, counts in pending.items():
                self._pending.setdefault(key, Counts()).add(counts)
                self._requests += counts.requests

    def peek(self) -> dict[Key, Counts]:
        with self._lock:
            return {key: Counts(**vars(counts)) for key, counts in self._pending.items()}

    def flush(self) -> int:
        """Write what was counted; returns the number of rows touched. A failed write keeps
        the counts for the next attempt instead of losing them."""
        pending = self.take()
        if not pending:
            return 0
        try:
            return usage_write(pending)
        except DatabaseError:
            logger.exception("usage counts not written; kept for the next flush")
            self.put_back(pending)
            return 0

    def clear(self) -> None:
        self.take()


def _database() -> str:
    return str(connection.settings_dict["NAME"])


def inside_transaction() -> bool:
    return connection.in_atomic_block


counter = UsageCounter()


def _flush_at_exit() -> None:
    try:
        counter.flush()
    except Exception:
        logger.exception("usage counts lost at exit")


atexit.register(_flush_at_exit)
# A worker forked from a process that already counted must not write those counts again.
os.register_at_fork(after_in_child=counter.clear)


# --- Which module a request belongs to --------------------------------------------------


@functools.cache
def api_sections() -> frozenset[str]:
    """The first path segments of the tenant API (``/api/v1/<section>/...``)."""
    from django.urls import URLResolver, get_resolver

    for entry in get_resolver(settings.ROOT_URLCONF).url_patterns:
        if isinstance(entry, URLResolver) and str(entry.pattern) == "api/v1/":
            firsts = (str(p.pattern).split("/", 1)[0] for p in entry.url_patterns)
            return frozenset(s for s in firsts if _SEGMENT.match(s))
    return frozenset()


@functools.cache
def admin_apps() -> frozenset[str]:
    """App labels with pages in the tenant admin (``/admin/<app>/...``)."""
    from django.contrib import admin

    return frozenset(model._meta.app_label for model in admin.site._registry)


def module_of(path: str) -> str:
    """``/api/v1/shop/orders`` → shop, ``/admin/community/resident/`` → community,
    ``/r/...`` → pages; anything else under the API or the admin counts for the API or
    the admin as a whole, and the rest is "other", so odd paths never add rows."""
    parts = path.lstrip("/").split("/")
    if parts[0] == "api":
        section = parts[2] if len(parts) > 2 and parts[1] == "v1" else ""
        return section if section in api_sections() else "api"
    if parts[0] == "admin":
        app = parts[1] if len(parts) > 1 else ""
        return app if app in admin_apps() else "admin"
    if parts[0] == "r":
        return "pages"
    return "other"


class UsageMiddleware:
    """Counts each request a tenant's host served (after TenantMiddleware routed it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            due = counter.record(
                tenant_id=tenant.pk,
                module=module_of(request.path_info),
                status=response.status_code,
                write=request.method not in READS,
                at=timezone.now(),
            )
            # Never inside someone else's transaction: its rollback would lose the counts,
            # and it would hold the usage rows' locks until it ends.
            if due and not inside_transaction():
                counter.flush()
        return response
