"""Fast, flat tenant schemas: record the migrations' SQL once, replay it per tenant.

Stock django-tenants runs every migration (planning, introspection, signals)
for each new schema, which costs more than a second. Here a template schema is
migrated once per migration state while every statement it executes is
recorded. A new tenant's schema is then one round trip replaying that script,
its migrations recorded as applied, and a catalog check that the result is
identical to the template. Everything runs inside the caller's transaction, so
a failure leaves nothing behind.

The blueprint is keyed by the set of migrations on disk: new migrations give a
new key, and ``blueprint_current`` rebuilds the template from scratch, so the
template can never fall behind the migrations.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any

from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_tenant_base_migrate_command_class

from linli.db.access import compose_sql, tenant_db
from linli.errors import LinliError
from linli.registry.models import SchemaBlueprint

TEMPLATE_SCHEMA = "_linli_template"
# Blueprints kept: the current migration state's and the previous ones (old versions).
BLUEPRINTS_KEPT = 3
# Session-level advisory lock held while a blueprint is (re)built.
_BUILD_LOCK_KEY = 0x4C494E4C49  # "LINLI"

_SKIPPED_HEADS = {"SELECT", "SHOW", "SAVEPOINT", "RELEASE"}
_MIGRATIONS_WRITE = re.compile(
    r'^\s*(INSERT\s+INTO|DELETE\s+FROM|UPDATE)\s+"?django_migrations"?\b', re.I
)
_CONCURRENTLY = re.compile(r"\b(INDEX)\s+CONCURRENTLY\b", re.I)


class ProvisioningError(LinliError):
    code = "provisioning_failed"
    status = 500


@dataclass(frozen=True)
class Blueprint:
    state_key: str
    script: str
    migrations: tuple[tuple[str, str], ...]
    fingerprint: tuple[str, ...]

    @functools.cached_property
    def relation_names(self) -> list[str]:
        return sorted(line.split(" ", 2)[1] for line in self.fingerprint if line.startswith("rel "))


# --- Migration state -------------------------------------------------------------


@functools.cache
def migration_state_key() -> str:
    """A digest of every migration on disk; it changes when a migration is added."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    nodes = sorted(f"{app}.{name}" for app, name in loader.graph.nodes)
    return hashlib.sha256("\n".join(nodes).encode()).hexdigest()


_cached: Blueprint | None = None


def blueprint_current() -> Blueprint:
    """The blueprint for the migrations on disk, building the template if needed."""
    global _cached
    key = migration_state_key()
    if _cached is not None and _cached.state_key == key:
        return _cached
    row = SchemaBlueprint.objects.filter(state_key=key).first()
    if row is None:
        if connection.in_atomic_block:
            raise ProvisioningError(
                _("The tenant schema template is out of date; run `linli migrate` first."),
                code="template_out_of_date",
            )
        row = blueprint_build()
    _cached = _from_row(row)
    return _cached


def _from_row(row: SchemaBlueprint) -> Blueprint:
    return Blueprint(
        state_key=row.state_key,
        script=row.script,
        migrations=tuple((app, name) for app, name in row.migrations),
        fingerprint=tuple(row.fingerprint),
    )


def blueprint_build(*, force: bool = False) -> SchemaBlueprint:
    """Migrate the template schema from scratch, recording the SQL it runs.

    Holds an advisory lock so concurrent builders wait for one another.
    """
    key = migration_state_key()
    tenant_db().set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_BUILD_LOCK_KEY])
    try:
        existing = SchemaBlueprint.objects.filter(state_key=key).first()
        if existing is not None and not force:
            return existing
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{TEMPLATE_SCHEMA}" CASCADE')
            cursor.execute(f'CREATE SCHEMA "{TEMPLATE_SCHEMA}"')
        recorder = StatementRecorder()
        with connection.execute_wrapper(recorder):
            migrate_schema(TEMPLATE_SCHEMA)
        if recorder.saw_rollback:
            raise ProvisioningError(
                _(
                    "A migration rolled back part of its work while the tenant template was "
                    "recorded, so it cannot be replayed."
                ),
                code="template_unreplayable",
            )
        fingerprint = schema_fingerprint(TEMPLATE_SCHEMA)
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT app, name FROM "{TEMPLATE_SCHEMA}".django_migrations ORDER BY id'
            )
            migrations = [[app, name] for app, name in cursor.fetchall()]
        row, _created = SchemaBlueprint.objects.update_or_create(
            state_key=key,
            defaults={
                "script": ";\n".join(recorder.statements),
                "migrations": migrations,
                "fingerprint": list(fingerprint),
            },
        )
        blueprints_prune(current=key)
        return row
    finally:
        tenant_db().set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_BUILD_LOCK_KEY])


def blueprints_prune(*, current: str) -> int:
    """Drop old blueprints, keeping the current state's and the newest few others.

    During an upgrade the previous version still serves, and provisions tenants, from
    its own blueprint until it is rolled; deleting that one would make it rebuild the
    template at its old state (and fail its readiness check) in the meantime.
    """
    newest = SchemaBlueprint.objects.order_by("-created_at", "-id").values_list("id", flat=True)
    deleted, _by_model = (
        SchemaBlueprint.objects.exclude(pk__in=list(newest[:BLUEPRINTS_KEPT]))
        .exclude(state_key=current)
        .delete()
    )
    return deleted


def migrate_schema(schema: str, *, verbosity: int = 0) -> None:
    """Run the tenant migrations on one schema, as django-tenants does per tenant."""
    tenant_db().set_schema(schema, include_public=False)
    MigrationRecorder(connection).ensure_schema()
    tenant_db().set_schema(schema)
    command = get_tenant_base_migrate_command_class()(stdout=io.StringIO(), stderr=io.StringIO())
    try:
        call_command(command, interactive=False, verbosity=verbosity, skip_checks=True)
    finally:
        tenant_db().set_schema_to_public()


class StatementRecorder:
    """An execute wrapper that keeps every statement that changed the schema or its data."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.saw_rollback = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        self._keep(sql, params, many, context["connection"])
        return result

    def _keep(self, sql: str, params: Any, many: bool, conn: Any) -> None:
        words = sql.lstrip().split(None, 2)
        head = words[0].upper() if words else ""
        if head == "ROLLBACK":
            self.saw_rollback = True
            return
        if head in _SKIPPED_HEADS or _MIGRATIONS_WRITE.match(sql):
            return
        if head == "SET" and "search_path" in sql.lower():
            return
        sql = _CONCURRENTLY.sub(r"\1", sql)
        if many:
            texts = [conn.ops.compose_sql(sql, p) for p in params]
        elif params is None:
            texts = [sql]
        else:
            texts = [conn.ops.compose_sql(sql, params)]
        self.statements.extend(text.strip().rstrip(";") for text in texts)


# --- Building and checking a tenant schema -------------------------------------


def schema_build(*, schema: str, blueprint: Blueprint) -> None:
    """Create ``schema`` from the blueprint; the caller holds the transaction."""
    if not connection.in_atomic_block:
        raise ProvisioningError(_("A tenant schema must be built inside a transaction."))
    now = timezone.now()
    values = ", ".join(
        compose_sql("(%s, %s, %s)", [app, name, now]) for app, name in blueprint.migrations
    )
    script = "\n".join(
        [
            f'CREATE SCHEMA "{schema}";',
            compose_sql("SELECT set_config('search_path', %s, true);", [f'"{schema}"']),
            blueprint.script + ";",
            f'INSERT INTO "{schema}".django_migrations (app, name, applied) VALUES {values};',
            "SELECT set_config('search_path', 'public', true);",
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(script)
    # The script moved the search path; make the connection set it again.
    tenant_db().search_path_set_schemas = None
    found = schema_fingerprint(schema, relation_names=blueprint.relation_names)
    if found != blueprint.fingerprint:
        missing = sorted(set(blueprint.fingerprint) - set(found))[:5]
        extra = sorted(set(found) - set(blueprint.fingerprint))[:5]
        raise ProvisioningError(
            _("The new schema does not match the template (missing %(missing)s; extra %(extra)s).")
            % {"missing": missing, "extra": extra},
            code="schema_mismatch",
        )


_FINGERPRINT_SQL = """
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s),
rels AS (
    SELECT c.oid, c.relname, c.relkind, c.relpersistence FROM pg_class c
    WHERE c.relnamespace = (SELECT oid FROM ns) {relation_filter}
)
SELECT 'rel ' || r.relname || ' ' || r.relkind::text || r.relpersistence::text FROM rels r
UNION ALL
SELECT 'col ' || r.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM rels r
JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
SELECT 'con ' || r.relname || '.' || c.conname || ' ' || pg_get_constraintdef(c.oid)
FROM rels r JOIN pg_constraint c ON c.conrelid = r.oid
UNION ALL
SELECT 'idx ' || pg_get_indexdef(i.indexrelid) FROM rels r JOIN pg_index i ON i.indrelid = r.oid
UNION ALL
SELECT 'trg ' || pg_get_triggerdef(t.oid)
FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
UNION ALL
SELECT 'fn ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
       || md5(coalesce(p.prosrc, ''))
FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)
"""


def schema_fingerprint(schema: str, *, relation_names: list[str] | None = None) -> tuple[str, ...]:
    """The schema's tables, columns, constraints, indexes, triggers and functions.

    With ``relation_names`` the catalog is read through its (name, namespace)
    index, so the cost does not grow with the number of tenants.
    """
    relation_filter = "AND c.relname = ANY(%(names)s)" if relation_names is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            _FINGERPRINT_SQL.format(relation_filter=relation_filter),
            {"schema": schema, "names": relation_names},
        )
        lines = [row[0] for row in cursor.fetchall()]
    qualified = re.compile(rf'(?<![\w"])"?{re.escape(schema)}"?\.')
    return tuple(sorted(qualified.sub("", line) for line in lines))


def schema_drop(*, schema: str) -> None:
    with connection.cursor() as cursor:
        # Fire deferred foreign-key checks first: PostgreSQL refuses to drop a table
        # with pending trigger events (a schema created earlier in this transaction).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def reset_cache() -> None:
    """Forget the in-process blueprint (tests and ``linli migrate`` use this)."""
    global _cached
    _cached = None
