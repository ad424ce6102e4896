"""Liveness and readiness, answered on any host without touching tenant data.

``liveness`` needs nothing but the process. ``readiness`` opens its own short
connection (a connect timeout and a statement timeout, so a hung database
cannot hang the probe) and checks, in a handful of cheap statements on the
public schema:

- ``database``: the server answers;
- ``public_migrations``: every migration of the platform's apps on disk is
  recorded in ``public.django_migrations``;
- ``tenant_migrations``: the tenant schema template (``linli.registry.provisioning``)
  was recorded at the migrations on disk, i.e. ``linli migrate`` ran with this
  code (bringing each tenant schema up is the rollout's work, reported in the ops
  console, not a reason to take the web out of service);
- ``worker``: a job worker's heartbeat (procrastinate's ``procrastinate_workers``)
  is recent, unless ``LINLI_READY_REQUIRES_WORKER`` is off.

The result is kept for ``LINLI_READY_CACHE_SECONDS`` so frequent probes stay cheap.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

OK = "ok"


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(result == OK for result in self.checks.values())

    @property
    def failing(self) -> list[str]:
        return sorted(name for name, result in self.checks.items() if result != OK)


# SQLSTATE classes that mean "the server is not there for us right now": connection
# exceptions, the server shutting down or starting up, too many connections.
_UNAVAILABLE_STATES = ("08", "57P", "53")


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) is the database being out of reach: a refused or
    broken connection, a server shutting down or starting, no connection to be had. A
    deadlock, a timeout or a refused value is not: those are the request's own trouble."""
    from django.db import InterfaceError as DjangoInterfaceError
    from django.db import OperationalError as DjangoOperationalError

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, psycopg.InterfaceError):
            return True
        if isinstance(exc, psycopg.OperationalError):
            state = exc.sqlstate
            return state is None or state.startswith(_UNAVAILABLE_STATES)
        if isinstance(exc, DjangoInterfaceError | DjangoOperationalError) and not (
            exc.__cause__ or exc.__context__
        ):
            return True  # raised by Django itself (a closed or unusable connection)
        exc = exc.__cause__ or exc.__context__
    return False


def liveness() -> dict[str, str]:
    return {"status": "ok"}


@functools.cache
def _platform_migrations_on_disk() -> frozenset[tuple[str, str]]:
    from django.db.migrations.loader import MigrationLoader

    from linli.registry.provisioning import migration_state_key

    migration_state_key()  # warms the same loader cache the provisioning uses
    loader = MigrationLoader(None, ignore_no_migrations=True)
    shared = {
        config.label
        for config in _app_configs()
        if config.name in settings.SHARED_APPS or _config_path(config) in settings.SHARED_APPS
    }
    return frozenset(node for node in loader.graph.nodes if node[0] in shared)


def _app_configs() -> list[Any]:
    from django.apps import apps

    return list(apps.get_app_configs())


def _config_path(config: Any) -> str:
    return f"{type(config).__module__}.{type(config).__name__}"


def database_params() -> dict[str, Any]:
    """Connection parameters of the default database, as Django would connect."""
    params = dict(connections["default"].get_connection_params())
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params


def _connect(params: dict[str, Any]) -> psycopg.Connection[Any]:
    timeout_ms = int(settings.LINLI_READY_TIMEOUT_SECONDS * 1000)
    options = f"{params.get('options', '')} -c statement_timeout={timeout_ms}".strip()
    return psycopg.connect(
        **{**params, "options": options},
        connect_timeout=max(1, round(settings.LINLI_READY_TIMEOUT_SECONDS)),
        autocommit=True,
    )


def _check(params: dict[str, Any]) -> Readiness:
    from linli.registry.models import SchemaBlueprint
    from linli.registry.provisioning import migration_state_key

    checks: dict[str, str] = {}
    try:
        conn = _connect(params)
    except psycopg.Error as exc:
        logger.warning("readiness: database unreachable: %s", exc)
        return Readiness({"database": "unreachable"})
    with conn:
        try:
            conn.execute("SELECT 1")
            checks["database"] = OK
            applied = set(conn.execute("SELECT app, name FROM public.django_migrations"))
            missing = _platform_migrations_on_disk() - applied
            checks["public_migrations"] = OK if not missing else f"{len(missing)} not applied"
            table = SchemaBlueprint._meta.db_table
            current = conn.execute(
                f'SELECT 1 FROM public."{table}" WHERE state_key = %s', [migration_state_key()]
            ).fetchone()
            checks["tenant_migrations"] = OK if current else "template behind the code"
            if settings.LINLI_READY_REQUIRES_WORKER:
                checks["worker"] = _worker_check(conn)
        except psycopg.Error as exc:
            logger.warning("readiness: a check failed: %s", exc)
            checks["database"] = "failed"
    return Readiness(checks)


def _worker_check(conn: psycopg.Connection[Any]) -> str:
    stale = settings.LINLI_READY_WORKER_STALE_SECONDS
    row = conn.execute(
        "SELECT count(*) FROM public.procrastinate_workers "
        "WHERE last_heartbeat > now() - make_interval(secs => %s)",
        [stale],
    ).fetchone()
    return OK if row and row[0] else f"no heartbeat in {stale} s"


_cached: tuple[float, Readiness] | None = None


def readiness(*, params: dict[str, Any] | None = None) -> Readiness:
    """Whether this process should receive traffic (cached for a few seconds)."""
    global _cached
    now = time.monotonic()
    fresh = _cached is not None and now - _cached[0] < settings.LINLI_READY_CACHE_SECONDS
    if params is None and fresh and _cached is not None:
        return _cached[1]
    result = _check(params if params is not None else database_params())
    if params is None:
        _cached = (now, result)
    return result


def readiness_cache_clear() -> None:
    global _cached
    _cached = None
