"""Bring every tenant schema up to the migrations on disk.

Which schemas are behind is read with one query per batch of schemas over
their ``django_migrations`` tables; schemas already up to date are skipped
without loading anything, and only the rest are migrated.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.management import call_command
from django.db import connection

from linli.registry import provisioning
from linli.registry.models import Tenant

BATCH = 500


def migrate_public() -> None:
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)


def schemas_behind(*, migrations: tuple[tuple[str, str], ...]) -> list[str]:
    """Tenant schemas missing any of ``migrations``, in slug order."""
    schemas = list(Tenant.objects.order_by("schema_name").values_list("schema_name", flat=True))
    names = [f"{app}.{name}" for app, name in migrations]
    behind: list[str] = []
    for start in range(0, len(schemas), BATCH):
        batch = schemas[start : start + BATCH]
        parts = [
            f"SELECT %s AS schema, count(*) FILTER (WHERE app || '.' || name = ANY(%s)) AS done "
            f'FROM "{schema}".django_migrations'
            for schema in batch
        ]
        params: list[str | list[str]] = []
        for schema in batch:
            params += [schema, names]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            done = dict(cursor.fetchall())
        behind += [schema for schema in batch if done.get(schema, 0) < len(names)]
    return behind


def migrate_all(*, on_progress: Callable[[str, int, int], None] | None = None) -> list[str]:
    """Public schema, then the template, then every tenant that is behind."""
    migrate_public()
    provisioning.reset_cache()
    blueprint = provisioning.blueprint_current()
    behind = schemas_behind(migrations=blueprint.migrations)
    for index, schema in enumerate(behind, start=1):
        provisioning.migrate_schema(schema)
        if on_progress is not None:
            on_progress(schema, index, len(behind))
    return behind
