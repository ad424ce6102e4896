"""Bring every tenant schema up to the migrations on disk, fast.

1. **Who is behind** is one query over every tenant schema's ``django_migrations``
   (a ``UNION ALL`` of one small aggregate per schema): for each schema, how many
   of the wanted migrations it has and a digest of which. Schemas that are up to
   date are skipped without being loaded or planned.
2. **Schemas with the same applied set share one plan.** For each such group, the
   pending migrations are run by Django on one schema (the pilot) while every
   statement is recorded; the script is then replayed on each other schema of the
   group in one round trip, with its ``django_migrations`` rows. Only plain schema
   migrations are replayed this way: when a pending migration runs Python
   (``RunPython``), or the recording saw a rollback, each schema of the group is
   migrated by Django instead.
3. **In parallel, each schema in its own transaction**, on a bounded pool of
   connections (``LINLI_ROLLOUT_WORKERS``; Django's own migrate, for migrations that
   run Python, goes one schema at a time). A schema that fails is rolled back to
   where it was, reported, and retried by the next run (it is still behind).
4. **One rollout at a time**: a PostgreSQL advisory lock; a second run is refused.

Every run is recorded (``linli.ops.models.RolloutRun``) for the ops console.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.db.access import compose_sql, tenant_db
from linli.errors import Conflict
from linli.registry import provisioning
from linli.registry.models import Tenant

_ROLLOUT_LOCK_KEY = 0x4C494E4C4952  # "LINLIR"

Progress = Callable[[str, int, int], None]


class RolloutBusy(Conflict):
    code = "rollout_running"


@dataclass(frozen=True)
class Behind:
    schema: str
    applied: str  # digest of the wanted migrations it already has (the group key)


@dataclass
class RolloutResult:
    behind: int = 0
    migrated: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    replayed: int = 0  # schemas brought up by a recorded script, not by Django
    seconds: float = 0.0


def migrate_public() -> None:
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)


def tenant_schemas() -> list[str]:
    return list(Tenant.objects.order_by("schema_name").values_list("schema_name", flat=True))


def schemas_behind_detail(
    *, migrations: tuple[tuple[str, str], ...], schemas: list[str] | None = None
) -> list[Behind]:
    """Every tenant schema missing any of ``migrations``, in one query over all of them."""
    schemas = tenant_schemas() if schemas is None else schemas
    if not schemas:
        return []
    names = sorted(f"{app}.{name}" for app, name in migrations)
    parts = [
        compose_sql(
            "SELECT %s::text AS schema, count(*) AS done, "
            "md5(coalesce(string_agg(m, ',' ORDER BY m), '')) AS applied "
            f"FROM (SELECT app || '.' || name AS m FROM \"{schema}\".django_migrations) d "
            "WHERE m IN (SELECT m FROM wanted)",
            [schema],
        )
        for schema in schemas
    ]
    sql = "WITH wanted AS (SELECT unnest(%s::text[]) AS m) " + " UNION ALL ".join(parts)
    with connection.cursor() as cursor:
        cursor.execute(sql, [names])
        rows = cursor.fetchall()
    return [
        Behind(schema=schema, applied=applied)
        for schema, done, applied in rows
        if done < len(names)
    ]


def schemas_behind(*, migrations: tuple[tuple[str, str], ...]) -> list[str]:
    """Tenant schemas missing any of ``migrations``, in slug order."""
    return sorted(b.schema for b in schemas_behind_detail(migrations=migrations))


# --- Applying ---------------------------------------------------------------------


def _runs_python(done: set[tuple[str, str]], wanted: tuple[tuple[str, str], ...]) -> bool:
    """Whether any pending migration has an operation that runs Python (not replayable)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for key in wanted:
        if key in done:
            continue
        migration = loader.disk_migrations.get(key)
        if migration is None:
            continue
        if any(isinstance(op, RunPython) for op in migration.operations):
            return True
    return False


def _applied(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')
        return {(app, name) for app, name in cursor.fetchall()}


def _pilot(schema: str) -> list[str] | None:
    """Migrate ``schema`` with Django in one transaction, recording its statements.

    Returns the script to replay on its siblings, or None when it cannot be replayed.
    """
    recorder = provisioning.StatementRecorder()
    with transaction.atomic(), connection.execute_wrapper(recorder):
        provisioning.migrate_schema(schema)
    tenant_db().search_path_set_schemas = None
    return None if recorder.saw_rollback else recorder.statements


def _replay(schema: str, statements: list[str], rows: list[tuple[str, str]]) -> None:
    now = timezone.now()
    values = ", ".join(compose_sql("(%s, %s, %s)", [app, name, now]) for app, name in rows)
    script = "\n".join(
        [
            compose_sql("SELECT set_config('search_path', %s, true);", [f'"{schema}"']),
            *(statement + ";" for statement in statements),
            f'INSERT INTO "{schema}".django_migrations (app, name, applied) VALUES {values};',
            "SELECT set_config('search_path', 'public', true);",
        ]
    )
    tenant_db().set_schema_to_public()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(script)
    tenant_db().search_path_set_schemas = None


def _django(schema: str) -> None:
    with transaction.atomic():
        provisioning.migrate_schema(schema)


def _in_worker(job: Callable[[], None]) -> None:
    try:
        job()
    finally:
        tenant_db().set_schema_to_public()
        connections.close_all()  # this thread's connection, returned before the pool ends


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:500]


def apply_pending(
    behind: list[Behind],
    *,
    migrations: tuple[tuple[str, str], ...],
    workers: int | None = None,
    on_progress: Progress | None = None,
) -> RolloutResult:
    result = RolloutResult(behind=len(behind))
    workers = max(1, workers or settings.LINLI_ROLLOUT_WORKERS)
    groups: dict[str, list[str]] = {}
    for item in behind:
        groups.setdefault(item.applied, []).append(item.schema)
    finished = 0

    def report(schema: str, error: BaseException | None) -> None:
        nonlocal finished
        finished += 1
        if error is None:
            result.migrated.append(schema)
        else:
            result.failures.append((schema, _error_text(error)))
        if on_progress is not None:
            on_progress(schema, finished, len(behind))

    for schemas in groups.values():
        pending_rows: list[tuple[str, str]] = []
        script: list[str] | None = None
        rest = list(schemas)
        done = _applied(rest[0])
        if not _runs_python(done, migrations):
            # One pilot migrated by Django, recorded; the rest replay its script.
            while rest and script is None:
                pilot = rest.pop(0)
                try:
                    script = _pilot(pilot)
                except Exception as exc:  # reported; the run goes on
                    report(pilot, exc)
                    continue
                report(pilot, None)
                if script is None:
                    break
            pending_rows = [key for key in migrations if key not in done]
        if script is None:
            # Django's migrate is not made to run in several threads at once: one by one.
            for schema in rest:
                try:
                    _django(schema)
                except Exception as exc:  # reported; the run goes on
                    report(schema, exc)
                else:
                    report(schema, None)
                finally:
                    tenant_db().set_schema_to_public()
            continue
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(_in_worker, _bind_replay(schema, script, pending_rows)): schema
                for schema in rest
            }
            for future in as_completed(futures):
                error = future.exception()
                if error is None:
                    result.replayed += 1
                report(futures[future], error)
    result.migrated.sort()
    result.failures.sort()
    return result


def _bind_replay(schema: str, script: list[str], rows: list[tuple[str, str]]) -> Callable[[], None]:
    return lambda: _replay(schema, script, rows)


# --- The whole rollout ------------------------------------------------------------------


def migrate_all(
    *, on_progress: Progress | None = None, workers: int | None = None
) -> RolloutResult:
    """Public schema, then the template, then every tenant that is behind, in parallel."""
    from linli.ops.models import RolloutRun

    tenant_db().set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_ROLLOUT_LOCK_KEY])
        (locked,) = cursor.fetchone()
    if not locked:
        raise RolloutBusy(_("Another rollout is running; wait for it to finish."))
    started = time.perf_counter()
    try:
        migrate_public()
        provisioning.reset_cache()
        blueprint = provisioning.blueprint_current()
        behind = schemas_behind_detail(migrations=blueprint.migrations)
        run = RolloutRun.objects.create(state_key=blueprint.state_key, behind=len(behind))
        result = apply_pending(
            behind, migrations=blueprint.migrations, workers=workers, on_progress=on_progress
        )
        result.seconds = time.perf_counter() - started
        run.done = len(result.migrated)
        run.failures = [{"schema": s, "error": e} for s, e in result.failures]
        run.status = RolloutRun.Status.FAILED if result.failures else RolloutRun.Status.DONE
        run.finished_at = timezone.now()
        run.seconds = result.seconds
        run.save()
        return result
    finally:
        tenant_db().set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_ROLLOUT_LOCK_KEY])
