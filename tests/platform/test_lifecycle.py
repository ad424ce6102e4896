"""A tenant's life from the ops side: suspend (API refused, admin read-only), resume, close
with retention then purge, export and restore into a fresh tenant that equals the original."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli import cli
from linli.registry import archive
from linli.registry.demo import demo_build
from linli.registry.models import Domain, OpsAction, Tenant
from linli.registry.services import (
    tenant_close,
    tenant_resume,
    tenant_suspend,
    tenants_purge_due,
)
from tests.conftest import ADMIN_PASSWORD, host_of


def _schema_exists(slug: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [slug])
        return cursor.fetchone() is not None


def _table_digests(schema: str) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of all its rows, read straight from PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> "
            "'django_migrations' ORDER BY tablename",
            [schema],
        )
        names = [row[0] for row in cursor.fetchall()]
        found = {}
        for name in names:
            rows = "string_agg(t::text, E'\\n' ORDER BY t::text)"
            cursor.execute(
                f'SELECT count(*), md5(coalesce({rows}, \'\')) FROM "{schema}"."{name}" t'
            )
            found[name] = cursor.fetchone()
    return found


def _sequence_values(schema: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %s", [schema]
        )
        return dict(cursor.fetchall())


def _admin(tenant: Tenant) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):  # the user lives in the tenant's schema
        assert client.login(username=f"admin-{tenant.slug}", password=ADMIN_PASSWORD)
    return client


# --- Suspension ---------------------------------------------------------------------


def test_suspended_tenant_refuses_its_api_but_its_admin_stays_readable(
    tenant: Tenant, other_tenant: Tenant, api: Client, other_api: Client
) -> None:
    assert api.get("/api/v1/community/estates").status_code == 200
    admin = _admin(tenant)
    tenant_suspend(slug="alpha", actor="ops-anna")

    refused = api.get("/api/v1/community/estates")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "tenant_suspended"
    # beta is untouched
    assert other_api.get("/api/v1/community/estates").status_code == 200

    # The admin reads: the index and a list answer 200, with the read-only label.
    index = admin.get("/admin/")
    assert index.status_code == 200
    assert "Suspended: read-only" in index.content.decode()
    assert admin.get("/admin/community/estate/").status_code == 200
    # ... but adds nothing: the add page is refused and a write never reaches a view.
    assert admin.get("/admin/community/estate/add/").status_code == 403
    with tenant_context(tenant):
        from tenants.community.models import Estate

        before = Estate.objects.count()
    write = admin.post("/admin/community/estate/add/", {"name": "新小區", "address": "x"})
    assert write.status_code == 403
    assert b"tenant_suspended" in write.content
    with tenant_context(tenant):
        assert Estate.objects.count() == before

    # Staff can still sign in to read.
    fresh = Client(HTTP_HOST=host_of(tenant))
    signed_in = fresh.post(
        "/admin/login/?next=/admin/", {"username": "admin-alpha", "password": ADMIN_PASSWORD}
    )
    assert signed_in.status_code == 302
    assert fresh.get("/admin/").status_code == 200

    audit = OpsAction.objects.get(tenant_slug="alpha", action="status")
    assert (audit.actor, audit.detail) == ("ops-anna", {"before": "active", "after": "suspended"})

    tenant_resume(slug="alpha", actor="ops-anna")
    assert api.get("/api/v1/community/estates").status_code == 200
    assert admin.get("/admin/community/estate/add/").status_code == 200


def test_resident_pages_of_a_suspended_tenant_answer_403(tenant: Tenant) -> None:
    tenant_suspend(slug="alpha")
    response = Client(HTTP_HOST=host_of(tenant)).get("/r/")
    assert response.status_code == 403


# --- Closing and the retention job ----------------------------------------------------


def test_closed_tenant_is_kept_until_its_retention_passes_then_purged(
    tenant: Tenant, api: Client, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    host = host_of(tenant)
    photo = tmp_path / "alpha" / "topics" / "light.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"jpeg")

    closed = tenant_close(slug="alpha", actor="ops-anna", retention_days=30)
    assert closed.status == Tenant.Status.CLOSED
    assert closed.purge_after is not None
    assert timedelta(days=29, hours=23) < closed.purge_after - timezone.now() <= timedelta(days=30)
    refused = api.get("/api/v1/community/estates")
    assert (refused.status_code, refused.json()["code"]) == (403, "tenant_closed")
    # A closed tenant's admin is not readable, unlike a suspended one's.
    assert Client(HTTP_HOST=host_of(tenant)).get("/admin/login/").status_code == 403

    # The job before the date deletes nothing.
    assert tenants_purge_due(now=timezone.now() + timedelta(days=29)) == []
    assert _schema_exists("alpha") and photo.exists()

    # After the date: schema, registry rows and files are gone; the audit stays.
    assert tenants_purge_due(now=timezone.now() + timedelta(days=31)) == ["alpha"]
    assert not _schema_exists("alpha")
    assert not Tenant.objects.filter(schema_name="alpha").exists()
    assert not Domain.objects.filter(domain=host).exists()
    assert not photo.exists()
    actions = OpsAction.objects.filter(tenant_slug="alpha").order_by("id")
    assert list(actions.values_list("action", flat=True)) == ["status", "close", "purge"]
    assert api.get("/api/v1/community/estates").status_code == 404


def test_resuming_a_closed_tenant_cancels_its_deletion(tenant: Tenant, api: Client) -> None:
    tenant_close(slug="alpha", retention_days=0)
    resumed = tenant_resume(slug="alpha")
    assert (resumed.status, resumed.purge_after) == (Tenant.Status.ACTIVE, None)
    assert tenants_purge_due(now=timezone.now() + timedelta(days=365)) == []
    assert _schema_exists("alpha")
    assert api.get("/api/v1/community/estates").status_code == 200


@pytest.mark.parametrize("pause", ["suspend", "close"])
@pytest.mark.parametrize("was", [Tenant.Status.TRIAL, Tenant.Status.PAST_DUE])
def test_a_resumed_tenant_returns_to_the_status_it_had(
    tenant: Tenant, pause: str, was: str
) -> None:
    from linli.registry.services import tenant_set_status, tenant_suspend

    tenant_set_status(slug="alpha", status=was)
    if pause == "suspend":
        tenant_suspend(slug="alpha")
        tenant_suspend(slug="alpha")  # twice: still resumes as it was before the first
    else:
        tenant_close(slug="alpha")
    resumed = tenant_resume(slug="alpha")

    assert (resumed.status, resumed.resumes_as) == (was, "")
    assert Tenant.objects.get(schema_name="alpha").status == was


def test_a_closure_after_a_suspension_still_resumes_as_before_both(tenant: Tenant) -> None:
    from linli.registry.services import tenant_set_status, tenant_suspend

    tenant_set_status(slug="alpha", status=Tenant.Status.TRIAL)
    tenant_suspend(slug="alpha")
    tenant_close(slug="alpha")

    assert tenant_resume(slug="alpha").status == Tenant.Status.TRIAL


def test_a_negative_retention_is_refused(tenant: Tenant) -> None:
    from linli.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        tenant_close(slug="alpha", retention_days=-1)
    assert refused.value.code == "retention_invalid"
    assert Tenant.objects.get(schema_name="alpha").status == Tenant.Status.ACTIVE


# --- Export and restore ---------------------------------------------------------------


@pytest.fixture
def demo_city(db: None, settings: Any, tmp_path: Path) -> Tenant:
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant, counts = demo_build(scale="small", slug="cenxi")
    assert counts["residents"] > 0
    photo = Path(settings.MEDIA_ROOT) / "cenxi" / "products" / "荔枝.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8 lychee")
    return tenant


def test_export_then_restore_gives_an_equal_tenant(
    demo_city: Tenant, tmp_path: Path, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    path = tmp_path / "cenxi.zip"
    with path.open("wb") as out:
        manifest = archive.tenant_export(slug="cenxi", out=out)
    assert manifest["media"] == [
        {
            "path": "products/荔枝.jpg",
            "bytes": len(b"\xff\xd8 lychee"),
            "sha256": hashlib.sha256(b"\xff\xd8 lychee").hexdigest(),
        }
    ]
    assert sum(t["rows"] for t in manifest["tables"]) > 100

    with django_capture_on_commit_callbacks(execute=True):
        restored = archive.tenant_restore(path=path, slug="cenxi_copy").tenant

    assert (restored.name, restored.locale, restored.time_zone) == (
        demo_city.name,
        demo_city.locale,
        demo_city.time_zone,
    )
    assert restored.enabled_modules == demo_city.enabled_modules
    original = _table_digests("cenxi")
    copy = _table_digests("cenxi_copy")
    assert copy == original
    assert original["points_posting"][0] > 0 and original["shop_order"][0] > 0
    assert _sequence_values("cenxi_copy") == _sequence_values("cenxi")
    restored_photo = Path(settings.MEDIA_ROOT) / "cenxi_copy" / "products" / "荔枝.jpg"
    assert restored_photo.read_bytes() == b"\xff\xd8 lychee"

    # The restored tenant works: its triggers are back on and new rows get fresh ids.
    with tenant_context(restored):
        from tenants.community.models import Resident
        from tenants.points.models import Account
        from tenants.points.services import points_award

        resident = Resident.objects.filter(status="active").order_by("id").first()
        assert resident is not None
        account = Account.objects.filter(resident=resident).first()
        before = account.balance if account else 0
        tx = points_award(
            resident_id=resident.pk,
            category="help",
            source="restore-check",
            idempotency_key="restore-check",
            hours=1,
        )
        assert tx.pk > _sequence_values("cenxi")["points_transaction_id_seq"]
        account = Account.objects.get(resident=resident)
        assert account.balance > before
    # ... and the original did not change.
    assert _table_digests("cenxi") == original


def _rewrite(path: Path, target: Path, change: Any, *, sign: bool = False) -> None:
    """Copy the archive with ``change`` applied to each member; ``sign`` signs the changed
    manifest with the platform's key (as only the platform itself could)."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as sink:
        manifest = change("manifest.json", source.read("manifest.json"))
        for item in source.infolist():
            data = source.read(item.filename)
            if sign and item.filename == "manifest.sig":
                sink.writestr(item, archive.manifest_signature(manifest))
            else:
                sink.writestr(item, change(item.filename, data))


def test_a_damaged_or_foreign_archive_restores_nothing(demo_city: Tenant, tmp_path: Path) -> None:
    path = tmp_path / "cenxi.zip"
    with path.open("wb") as out:
        archive.tenant_export(slug="cenxi", out=out)

    damaged = tmp_path / "damaged.zip"

    def one_row_edited(name: str, data: bytes) -> bytes:
        if name != "tables/community_estate.copy":
            return data
        edited = data.replace("学府".encode(), "學府".encode(), 1)  # one name, re-spelt
        assert edited != data
        return edited

    _rewrite(path, damaged, one_row_edited)
    older = tmp_path / "older.zip"

    def other_version(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["state_key"] = "0" * 64
        return json.dumps(manifest).encode()

    _rewrite(path, older, other_version, sign=True)
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("hello")

    for bad, code in [
        (damaged, "archive_damaged"),
        (older, "archive_version_mismatch"),
        (not_zip, "archive_bad"),
    ]:
        with pytest.raises(archive.ArchiveError) as refused:
            archive.tenant_restore(path=bad, slug="cenxi_copy")
        assert refused.value.code == code
        assert not Tenant.objects.filter(schema_name="cenxi_copy").exists()
        assert not _schema_exists("cenxi_copy")

    from linli.errors import Conflict

    with pytest.raises(Conflict) as taken:
        archive.tenant_restore(path=path, slug="beta")
    assert taken.value.code == "slug_taken"


def test_cli_exports_and_restores(demo_city: Tenant, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "out.zip"
    assert cli.main(["tenants", "export", "cenxi", str(path)]) == 0
    assert "Exported cenxi" in capsys.readouterr().out
    assert not (tmp_path / "out.zip.partial").exists()
    assert cli.main(["tenants", "restore", str(path), "cenxi_two", "--name", "岑溪 2"]) == 0
    assert Tenant.objects.get(schema_name="cenxi_two").name == "岑溪 2"
    assert _table_digests("cenxi_two") == _table_digests("cenxi")
    assert list(
        OpsAction.objects.filter(tenant_slug__in=["cenxi", "cenxi_two"])
        .order_by("id")
        .values_list("tenant_slug", "action")
    ) == [("cenxi", "export"), ("cenxi_two", "restore")]


# --- The ops console on the platform host ----------------------------------------------


@pytest.fixture
def ops(db: None) -> Client:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(
        username="ops-anna", password="ops-password-1", is_staff=True, is_superuser=True
    )
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="ops-anna", password="ops-password-1")
    return client


def _act(client: Client, action: str, *slugs: str) -> Any:
    ids = Tenant.objects.filter(schema_name__in=slugs).values_list("pk", flat=True)
    return client.post(
        "/admin/registry/tenant/",
        {"action": action, "_selected_action": [str(pk) for pk in ids]},
    )


def test_ops_console_lists_searches_and_acts_on_tenants(ops: Client, tenant: Tenant) -> None:
    listing = ops.get("/admin/registry/tenant/?q=alph")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "alpha" in body and ">beta<" not in body

    assert _act(ops, "suspend", "alpha").status_code == 302
    assert Tenant.objects.get(schema_name="alpha").status == "suspended"
    assert Tenant.objects.get(schema_name="beta").status == "active"
    assert _act(ops, "resume", "alpha").status_code == 302
    assert Tenant.objects.get(schema_name="alpha").status == "active"
    assert _act(ops, "close", "beta").status_code == 302
    assert Tenant.objects.get(schema_name="beta").status == "closed"
    assert list(OpsAction.objects.order_by("id").values_list("tenant_slug", "action", "actor")) == [
        ("alpha", "status", "ops-anna"),
        ("alpha", "status", "ops-anna"),
        ("beta", "status", "ops-anna"),
        ("beta", "close", "ops-anna"),
    ]


def test_ops_console_exports_one_tenant(ops: Client, tenant: Tenant) -> None:
    response = _act(ops, "export", "alpha")
    assert response.status_code == 200
    assert 'filename="linli-alpha-' in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as exported:
        manifest = json.loads(exported.read("manifest.json"))
    assert manifest["slug"] == "alpha"
    assert OpsAction.objects.get(action="export").detail["bytes"] == len(data)
    # Two at once is refused with a message, nothing exported.
    refused = _act(ops, "export", "alpha", "beta")
    assert refused.status_code == 302
    assert OpsAction.objects.filter(action="export").count() == 1


def test_the_ops_console_is_for_platform_staff_only(tenant: Tenant) -> None:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="someone", password="someone-pass-1")
    client = Client(HTTP_HOST="localhost")
    assert client.login(username="someone", password="someone-pass-1")
    response = _act(client, "suspend", "alpha")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Tenant.objects.get(schema_name="alpha").status == "active"
    assert not OpsAction.objects.exists()
    # A tenant's own admin cannot reach the registry at all.
    assert _admin(tenant).get("/admin/registry/tenant/").status_code == 404
