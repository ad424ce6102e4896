"""Provisioning builds a schema identical to migrating, in one transaction, or nothing."""

from __future__ import annotations

import dataclasses

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import tenant_context

from linli.errors import Conflict, ValidationFailed
from linli.registry import provisioning
from linli.registry.models import Domain, Tenant
from linli.registry.services import tenant_create, tenant_delete


def _schema_count(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone()[0]


def _nothing_left(slug: str) -> None:
    assert _schema_count(slug) == 0
    assert not Tenant.objects.filter(schema_name=slug).exists()
    assert not Domain.objects.filter(domain__startswith=f"{slug}.").exists()


def test_new_tenant_has_schema_domain_admin_and_recorded_migrations(db):
    # when
    tenant = tenant_create(
        slug="xuefu_no1",
        name="學府一號",
        locale="zh-hant",
        admin_username="secretary",
        admin_email="secretary@example.org",
        admin_password_hash=make_password("s3cret-pass"),
    )
    # then
    assert tenant.status == Tenant.Status.TRIAL
    assert list(tenant.domains.values_list("domain", "is_primary")) == [
        ("xuefu-no1.localhost", True)
    ]
    with tenant_context(tenant):
        admin = get_user_model().objects.get()
        assert (admin.username, admin.is_superuser, admin.is_staff) == ("secretary", True, True)
        assert admin.check_password("s3cret-pass")
        with connection.cursor() as cursor:
            cursor.execute("SELECT app, name FROM xuefu_no1.django_migrations")
            recorded = set(cursor.fetchall())
    on_disk = set(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)
    assert recorded == on_disk


def test_new_schema_is_identical_to_one_built_by_running_the_migrations(db):
    # given: a reference schema built the stock way, by running every migration
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "ref_migrated"')
    provisioning.migrate_schema("ref_migrated")
    # when
    tenant_create(slug="fresh", name="Fresh")
    # then: tables, columns, defaults, constraints, indexes, triggers and functions agree
    reference = provisioning.schema_fingerprint("ref_migrated")
    fresh = provisioning.schema_fingerprint("fresh")
    assert fresh == reference
    assert any(line.startswith("idx CREATE UNIQUE INDEX auth_user_username_key") for line in fresh)
    assert any(line.startswith("con auth_user_groups.auth_user_groups_user_id_") for line in fresh)
    # and the seeded rows (content types, permissions) agree too
    with connection.cursor() as cursor:
        for table in ["django_content_type", "auth_permission"]:
            cursor.execute(f"SELECT count(*) FROM ref_migrated.{table}")
            ref_rows = cursor.fetchone()[0]
            cursor.execute(f"SELECT count(*) FROM fresh.{table}")
            assert cursor.fetchone()[0] == ref_rows > 0


def test_duplicate_slug_is_a_conflict_and_changes_nothing(db, tenant):
    before = (Tenant.objects.count(), Domain.objects.count())
    with pytest.raises(Conflict) as err:
        tenant_create(slug=tenant.slug, name="Again")
    assert err.value.code == "slug_taken"
    assert (Tenant.objects.count(), Domain.objects.count()) == before


def test_ddl_error_leaves_no_schema_no_tenant_no_domain(db):
    # given: a schema of that name already exists (an orphan), so CREATE SCHEMA fails
    # after the tenant and domain rows were inserted in the same transaction
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "orphan"')
    with pytest.raises(Conflict) as err:
        tenant_create(slug="orphan", name="Orphan")
    assert err.value.code == "slug_taken"
    assert not Tenant.objects.filter(schema_name="orphan").exists()
    assert not Domain.objects.filter(domain="orphan.localhost").exists()


def test_failure_half_way_through_the_script_rolls_everything_back(db, monkeypatch):
    # given: a blueprint whose replay fails after some tables were created (fault injection)
    good = provisioning.blueprint_current()
    broken = dataclasses.replace(good, script=good.script + ";\nSELECT 1/0")
    monkeypatch.setattr(provisioning, "blueprint_current", lambda: broken)
    # when
    with pytest.raises(Exception, match="division by zero"):
        tenant_create(slug="halfway", name="Half way", admin_username="x")
    # then
    _nothing_left("halfway")


def test_a_schema_that_differs_from_the_template_is_refused(db, monkeypatch):
    # given: the template says there is a table the replay will not create
    good = provisioning.blueprint_current()
    drifted = dataclasses.replace(good, fingerprint=(*good.fingerprint, "rel ghost_table r"))
    monkeypatch.setattr(provisioning, "blueprint_current", lambda: drifted)
    # when
    with pytest.raises(provisioning.ProvisioningError) as err:
        tenant_create(slug="drifted", name="Drifted")
    # then
    assert err.value.code == "schema_mismatch"
    assert "ghost_table" in err.value.message
    _nothing_left("drifted")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("slug", "Bad Slug", "slug_invalid"),
        ("slug", "public", "slug_reserved"),
        ("locale", "fr", "locale_invalid"),
        ("time_zone", "Mars/Olympus", "time_zone_invalid"),
        ("currency", "yuan", "currency_invalid"),
        ("name", "  ", "name_required"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(db, field, value, code):
    args = {"slug": "valid_slug", "name": "Valid", field: value}
    before = Tenant.objects.count()
    with pytest.raises(ValidationFailed) as err:
        tenant_create(**args)
    assert err.value.code == code
    assert Tenant.objects.count() == before
    assert _schema_count("valid_slug") == 0


def test_delete_drops_schema_and_rows_together(db):
    tenant_create(slug="shortlived", name="Short lived")
    assert _schema_count("shortlived") == 1
    tenant_delete(slug="shortlived")
    _nothing_left("shortlived")


def test_tenants_share_no_rows(db, tenant, other_tenant):
    with tenant_context(tenant):
        get_user_model().objects.create(username="only-in-alpha")
    with tenant_context(other_tenant):
        assert not get_user_model().objects.filter(username="only-in-alpha").exists()
        assert list(get_user_model().objects.values_list("username", flat=True)) == ["admin-beta"]


def test_previous_blueprints_are_kept_for_the_version_still_serving(db):
    from datetime import timedelta

    from django.utils import timezone

    from linli.registry.models import SchemaBlueprint
    from linli.registry.provisioning import BLUEPRINTS_KEPT, blueprints_prune

    current = SchemaBlueprint.objects.get()
    old = []
    for age in range(5, 0, -1):
        row = SchemaBlueprint.objects.create(
            state_key=f"old{age}", script="", migrations=[], fingerprint=[]
        )
        SchemaBlueprint.objects.filter(pk=row.pk).update(
            created_at=timezone.now() - timedelta(days=age)
        )
        old.append(row.state_key)
    # the current state's row is the oldest of all here, and is still kept
    SchemaBlueprint.objects.filter(pk=current.pk).update(
        created_at=timezone.now() - timedelta(days=30)
    )
    assert blueprints_prune(current=current.state_key) == 5 - BLUEPRINTS_KEPT
    kept = set(SchemaBlueprint.objects.values_list("state_key", flat=True))
    assert kept == {current.state_key, "old1", "old2", "old3"}
