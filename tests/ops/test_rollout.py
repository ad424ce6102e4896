"""The tenant schema rollout: who is behind in one query, a recorded script replayed in
parallel, each schema in its own transaction, a broken schema left as it was and retried,
and never two rollouts at once.

The rollout commits (its workers use their own connections), so these tests run on
committed data and put every schema back as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from linli.cli import main
from linli.db.access import tenant_db
from linli.ops.models import RolloutRun
from linli.registry import provisioning
from linli.registry.rollout import (
    RolloutBusy,
    migrate_all,
    schemas_behind,
    schemas_behind_detail,
)
from linli.registry.services import tenant_create, tenant_delete

MIGRATION = ("community", "0002_staff")
# Migrations after MIGRATION are put back too, so the history stays consistent.
LATER = {
    (
        "community",
        "0003_resident_birth_year",
    ): 'ALTER TABLE "{schema}".community_resident DROP COLUMN IF EXISTS birth_year'
}
TABLES = [
    "community_staffdeactivation",
    "community_staffdeactivation_ended_roles",
    "community_staffinvitation",
]
SCHEMAS = ["alpha", "beta", "gamma", "delta"]


def _sql(statement: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def _has_migration(schema: str) -> bool:
    rows = _sql(
        f'SELECT count(*) FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
        list(MIGRATION),
    )
    return rows[0][0] == 1


def _has_table(schema: str, table: str) -> bool:
    return bool(_sql("SELECT to_regclass(%s)", [f'"{schema}"."{table}"'])[0][0])


def _unapply(schema: str) -> None:
    """Put ``schema`` back to before the migration: its tables and its record gone."""
    for (app, name), undo in LATER.items():
        _sql(undo.format(schema=schema))
        _sql(f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name])
    for table in TABLES:
        _sql(f'DROP TABLE IF EXISTS "{schema}"."{table}" CASCADE')
    _sql(
        f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
        list(MIGRATION),
    )


@pytest.fixture
def fleet(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """alpha and beta plus two committed tenants, all one migration behind."""
    with django_db_blocker.unblock():
        tenant_db().set_schema_to_public()
        tenant_create(slug="gamma", name="Gamma")
        tenant_create(slug="delta", name="Delta")
        try:
            for schema in SCHEMAS:
                _unapply(schema)
            yield
        finally:
            tenant_db().set_schema_to_public()
            for schema in SCHEMAS:
                if not _has_migration(schema):
                    _unapply(schema)
                    provisioning.migrate_schema(schema)
            tenant_delete(slug="gamma")
            tenant_delete(slug="delta")
            RolloutRun.objects.all().delete()
            connections.close_all()


def test_behind_schemas_are_found_in_one_query(fleet: None) -> None:
    blueprint = provisioning.blueprint_current()
    with CaptureQueriesContext(connection) as queries:
        behind = schemas_behind_detail(migrations=blueprint.migrations)
    assert len(queries) == 2  # the tenant list, then one query over every schema
    assert sorted(b.schema for b in behind) == sorted(SCHEMAS)
    assert len({b.applied for b in behind}) == 1  # one plan serves them all


def test_rollout_replays_one_recorded_script_and_reports_a_broken_schema(
    fleet: None, capsys: Any
) -> None:
    # beta is broken on purpose: a table stands where the migration creates one.
    _sql('CREATE TABLE "beta"."community_staffinvitation" (id int)')

    assert main(["migrate", "--workers", "2"]) == 1
    captured = capsys.readouterr()
    assert "and 3 tenant schema(s)" in captured.out
    assert "beta" in captured.err and "community_staffinvitation" in captured.err

    for schema in ["alpha", "gamma", "delta"]:
        assert _has_migration(schema), schema
        assert all(_has_table(schema, table) for table in TABLES), schema
    # beta is exactly as it was: no record, no new table, its own table untouched.
    assert not _has_migration("beta")
    assert not _has_table("beta", "community_staffdeactivation")
    columns = _sql(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'beta' AND table_name = 'community_staffinvitation'"
    )
    assert columns == [("id",)]
    run = RolloutRun.objects.get()
    assert (run.status, run.behind, run.done) == ("failed", 4, 3)
    assert [f["schema"] for f in run.failures] == ["beta"]

    # Fixed, the next run retries beta only.
    _sql('DROP TABLE "beta"."community_staffinvitation"')
    result = migrate_all(workers=2)
    assert (result.behind, result.migrated, result.failures) == (1, ["beta"], [])
    assert _has_migration("beta") and _has_table("beta", "community_staffdeactivation")
    blueprint = provisioning.blueprint_current()
    assert schemas_behind(migrations=blueprint.migrations) == []


def test_the_replayed_schemas_equal_the_template(fleet: None) -> None:
    result = migrate_all(workers=3)
    assert sorted(result.migrated) == sorted(SCHEMAS) and result.failures == []
    assert result.replayed == 3  # one pilot migrated by Django, three replayed
    blueprint = provisioning.blueprint_current()
    for schema in SCHEMAS:
        assert (
            provisioning.schema_fingerprint(schema, relation_names=blueprint.relation_names)
            == blueprint.fingerprint
        ), schema


def test_nothing_to_apply_touches_nothing(fleet: None) -> None:
    migrate_all(workers=2)
    again = migrate_all(workers=2)
    assert (again.behind, again.migrated, again.failures) == (0, [], [])
    last = RolloutRun.objects.order_by("id").last()
    assert last is not None and last.status == "done"


def test_two_rollouts_never_run_at_once(fleet: None, capsys: Any) -> None:
    from linli.registry.rollout import _ROLLOUT_LOCK_KEY

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_ROLLOUT_LOCK_KEY])
        with pytest.raises(RolloutBusy) as busy:
            migrate_all(workers=2)
        assert busy.value.code == "rollout_running"
        assert main(["migrate"]) == 1
        assert "Another rollout is running" in capsys.readouterr().err
        assert not _has_migration("alpha")  # nothing was applied
        assert not RolloutRun.objects.exists()
    finally:
        # Unlock explicitly: a closed session's locks go only when its backend has exited.
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_ROLLOUT_LOCK_KEY])
        other.close()
    assert migrate_all(workers=2).failures == []
