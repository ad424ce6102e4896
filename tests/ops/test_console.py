"""The ops console on the platform host: tenants at a glance and in detail, actions,
schema rollouts. Usage figures come from seeded ``ops_usage`` rows."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.billing.models import BillingAccount
from linli.ops import console
from linli.ops.models import RolloutRun, TenantUsage
from linli.registry.models import OpsAction, Tenant
from linli.registry.services import module_set_enabled, tenant_suspend
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import TenantFactory

TENANTS = "/admin/ops/tenants/"
MIGRATIONS = "/admin/ops/migrations/"


def _client(username: str, **flags: Any) -> Client:
    get_user_model().objects.create_user(username=username, password="pass-word-1", **flags)
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=username, password="pass-word-1")
    return client


@pytest.fixture
def ops(db: None) -> Client:
    return _client("ops-anna", is_staff=True, is_superuser=True)


def _today() -> Any:
    return timezone.now().date()


def _seed(tenant: Tenant, days_ago: int, module: str, **counts: Any) -> TenantUsage:
    return TenantUsage.objects.create(
        tenant=tenant, day=_today() - timedelta(days=days_ago), module=module, **counts
    )


def _slugs(response: Any) -> list[str]:
    return [row.slug for row in response.context["rows"]]


def _drop_a_migration_record(schema: str) -> None:
    """Make ``schema`` look one migration behind (rolled back with the test)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{schema}".django_migrations '
            f'WHERE id = (SELECT max(id) FROM "{schema}".django_migrations)'
        )


# --- Who may see and act ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", TENANTS),
        ("get", f"{TENANTS}alpha/"),
        ("get", MIGRATIONS),
        ("post", f"{TENANTS}alpha/suspend/"),
        ("post", f"{TENANTS}alpha/export/"),
    ],
)
def test_signed_out_visitors_are_sent_to_sign_in(tenant: Tenant, method: str, url: str) -> None:
    response = getattr(Client(HTTP_HOST="localhost"), method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")
    assert Tenant.objects.get(schema_name="alpha").status == "active"
    assert not OpsAction.objects.exists()


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", TENANTS),
        ("get", f"{TENANTS}alpha/"),
        ("get", MIGRATIONS),
        ("post", f"{TENANTS}alpha/suspend/"),
        ("post", f"{TENANTS}alpha/export/"),
    ],
)
def test_people_who_are_not_platform_staff_are_refused(
    tenant: Tenant, method: str, url: str
) -> None:
    client = _client("someone")

    assert getattr(client, method)(url).status_code == 403
    assert Tenant.objects.get(schema_name="alpha").status == "active"
    assert not OpsAction.objects.exists()


def test_staff_without_the_tenant_permission_read_but_cannot_act(tenant: Tenant) -> None:
    client = _client("ops-reader", is_staff=True)

    page = client.get(f"{TENANTS}alpha/")
    assert page.status_code == 200
    assert b'action="/admin/ops/tenants/alpha/suspend/"' not in page.content
    assert client.post(f"{TENANTS}alpha/suspend/").status_code == 403
    assert client.post(f"{TENANTS}alpha/export/").status_code == 403
    assert Tenant.objects.get(schema_name="alpha").status == "active"
    assert not OpsAction.objects.exists()

    # with the permission to change tenants, the same person may
    user = get_user_model().objects.get(username="ops-reader")
    user.user_permissions.add(Permission.objects.get(codename="change_tenant"))
    assert client.post(f"{TENANTS}alpha/suspend/").status_code == 302
    assert Tenant.objects.get(schema_name="alpha").status == "suspended"


def test_the_console_is_not_on_a_tenants_host(tenant: Tenant) -> None:
    """Not even for the tenant's own superuser."""
    client = Client(HTTP_HOST=host_of(tenant))
    with tenant_context(tenant):
        assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)

    assert client.get(TENANTS).status_code == 404
    assert client.post(f"{TENANTS}alpha/suspend/").status_code == 404
    assert Tenant.objects.get(schema_name="alpha").status == "active"
    assert not OpsAction.objects.exists()


def test_the_sidebar_leads_to_the_console(ops: Client) -> None:
    body = ops.get("/admin/").content.decode()

    assert 'href="/admin/ops/tenants/"' in body
    assert 'href="/admin/ops/migrations/"' in body


# --- The tenants page --------------------------------------------------------------------


def test_every_tenant_with_its_plan_usage_size_and_migrations(
    ops: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    # given
    BillingAccount.objects.create(
        tenant=tenant, status=BillingAccount.Status.ACTIVE, monthly_amount=12345, currency="cny"
    )
    module_set_enabled(slug="alpha", module="shop", enabled=True)
    last = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    _seed(tenant, 0, "shop", requests=10, client_errors=2, server_errors=1, writes=4, last_at=last)
    _seed(tenant, 1, "community", requests=5, server_errors=2, last_at=last - timedelta(days=1))
    _seed(tenant, 3, "community", requests=1000, server_errors=50, last_at=last - timedelta(days=3))
    _seed(tenant, 3, "", residents=40)
    _seed(tenant, 1, "", residents=42)
    _seed(other_tenant, 5, "community", requests=7, last_at=last - timedelta(days=5))

    # when
    response = ops.get(TENANTS)

    # then
    assert response.status_code == 200
    rows = {row.slug: row for row in response.context["rows"]}
    assert list(rows) == ["alpha", "beta"]
    alpha, beta = rows["alpha"], rows["beta"]
    assert alpha.tenant.status == "active"
    assert (alpha.billing_status, alpha.amount, alpha.amount_text) == (
        "active",
        12345,
        "CNY 123.45",
    )
    assert alpha.modules == ["community", "shop"]
    assert (alpha.usage.requests, alpha.usage.server_errors, alpha.usage.client_errors) == (
        15,
        3,
        2,
    )
    assert alpha.usage.last_activity == last
    assert alpha.usage.residents == 42
    assert alpha.behind is False
    assert (beta.billing_status, beta.amount, beta.amount_text) == ("", None, "")
    assert beta.modules == ["community"]
    assert (beta.usage.requests, beta.usage.server_errors) == (0, 0)  # 5 days ago: not in 24 h
    assert beta.usage.last_activity == last - timedelta(days=5)
    assert beta.usage.residents is None
    body = response.content.decode()
    assert (
        '<td class="border-t border-base-200 px-3 py-2 dark:border-base-800" data-requests>15</td>'
        in body
    )
    assert "CNY 123.45" in body

    # sizes are the catalogue's, one query for the page
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'alpha' AND c.relkind IN ('r', 'm', 'p')"
        )
        (alpha_size,) = cursor.fetchone()
    assert alpha.size == alpha_size > 0
    assert beta.size > 0


def test_the_page_costs_the_same_queries_for_more_tenants_and_sizes_in_one(
    ops: Client, tenant: Tenant
) -> None:
    ops.get(TENANTS)  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as two:
        assert ops.get(TENANTS).status_code == 200
    TenantFactory(slug="gamma")
    TenantFactory(slug="delta")
    with CaptureQueriesContext(connection) as four:
        response = ops.get(TENANTS)

    assert _slugs(response) == ["alpha", "beta", "delta", "gamma"]
    assert len(four.captured_queries) == len(two.captured_queries)
    sizes = [q["sql"] for q in four.captured_queries if "pg_total_relation_size" in q["sql"]]
    assert len(sizes) == 1
    assert "GROUP BY n.nspname" in sizes[0]
    assert all(row.size and row.size > 0 for row in response.context["rows"])
    # nothing entered a tenant's schema to count residents
    assert not [q for q in four.captured_queries if "community_resident" in q["sql"]]


def test_filters_by_status_module_and_pending_migrations(ops: Client, tenant: Tenant) -> None:
    tenant_suspend(slug="beta")
    module_set_enabled(slug="alpha", module="points", enabled=True)
    _drop_a_migration_record("beta")

    assert _slugs(ops.get(TENANTS, {"status": "suspended"})) == ["beta"]
    assert _slugs(ops.get(TENANTS, {"status": "active"})) == ["alpha"]
    assert _slugs(ops.get(TENANTS, {"module": "points"})) == ["alpha"]
    assert _slugs(ops.get(TENANTS, {"module": "shop"})) == []
    assert _slugs(ops.get(TENANTS, {"behind": "yes"})) == ["beta"]
    assert _slugs(ops.get(TENANTS, {"behind": "no"})) == ["alpha"]
    assert _slugs(ops.get(TENANTS, {"status": "suspended", "behind": "no"})) == []
    # unknown values filter nothing
    assert _slugs(ops.get(TENANTS, {"status": "bogus", "module": "bogus"})) == ["alpha", "beta"]
    behind = ops.get(TENANTS, {"behind": "yes"}).content.decode()
    assert 'data-behind="yes"' in behind and 'data-behind="no"' not in behind


def test_sorts_by_any_column_both_ways(ops: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    _seed(tenant, 0, "shop", requests=3, server_errors=5)
    _seed(other_tenant, 0, "shop", requests=9, server_errors=1)
    _seed(other_tenant, 0, "", residents=4)

    assert _slugs(ops.get(TENANTS, {"o": "requests"})) == ["alpha", "beta"]
    assert _slugs(ops.get(TENANTS, {"o": "-requests"})) == ["beta", "alpha"]
    assert _slugs(ops.get(TENANTS, {"o": "-errors"})) == ["alpha", "beta"]
    assert _slugs(ops.get(TENANTS, {"o": "-slug"})) == ["beta", "alpha"]
    # a tenant with no snapshot comes last either way
    assert _slugs(ops.get(TENANTS, {"o": "residents"})) == ["beta", "alpha"]
    assert _slugs(ops.get(TENANTS, {"o": "-residents"})) == ["beta", "alpha"]
    assert _slugs(ops.get(TENANTS, {"o": "not-a-column"})) == ["alpha", "beta"]
    by_size = ops.get(TENANTS, {"o": "-size"})
    sizes = [row.size for row in by_size.context["rows"]]
    assert sizes == sorted(sizes, reverse=True)
    # every column header sorts, and keeps the filters
    body = ops.get(TENANTS, {"status": "active", "o": "requests"}).content.decode()
    for key in console.SORTS:
        assert f'data-sort="{key}"' in body
    assert 'href="?status=active&amp;o=-requests" data-sort="requests"' in body


def test_pages_of_fifty(ops: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    assert console.PER_PAGE == 50
    monkeypatch.setattr(console, "PER_PAGE", 1)

    first = ops.get(TENANTS, {"o": "-slug"})
    second = ops.get(TENANTS, {"o": "-slug", "p": "2"})
    beyond = ops.get(TENANTS, {"o": "-slug", "p": "9"})

    assert _slugs(first) == ["beta"]
    assert 'href="?o=-slug&amp;p=2" rel="next"' in first.content.decode()
    assert _slugs(second) == ["alpha"]
    assert _slugs(beyond) == ["alpha"]  # the last page


# --- One tenant ---------------------------------------------------------------------------


def test_the_detail_charts_30_days_of_usage(
    ops: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    # given
    _seed(tenant, 0, "shop", requests=10, client_errors=1, server_errors=2, writes=3)
    _seed(tenant, 0, "community", requests=5, client_errors=4)
    _seed(tenant, 2, "shop", requests=7, server_errors=7)
    _seed(tenant, 2, "", residents=12)
    _seed(tenant, 29, "", residents=9)
    _seed(tenant, 30, "shop", requests=1000)  # 31 days ago: out of the charts
    _seed(other_tenant, 0, "shop", requests=500)  # beta's: never in alpha's charts
    BillingAccount.objects.create(tenant=tenant, status="trialing", monthly_amount=900)

    # when
    response = ops.get(f"{TENANTS}alpha/")

    # then
    assert response.status_code == 200
    charts = response.context["charts"]
    requests, errors, residents = (
        json.loads(charts[k]) for k in ("requests", "errors", "residents")
    )
    today = _today()
    assert requests["labels"] == [
        (today - timedelta(days=n)).isoformat() for n in range(29, -1, -1)
    ]
    expected_requests = [0] * 30
    expected_requests[-1], expected_requests[-3] = 15, 7
    assert requests["datasets"][0]["data"] == expected_requests
    server, client = errors["datasets"]
    assert server["data"][-1] == 2 and server["data"][-3] == 7 and sum(server["data"]) == 9
    assert client["data"][-1] == 5 and sum(client["data"]) == 5
    expected_residents: list[int | None] = [None] * 30
    expected_residents[0], expected_residents[-3] = 9, 12
    assert residents["datasets"][0]["data"] == expected_residents
    assert [(m["module"], m["requests"], m["writes"]) for m in charts["per_module"]] == [
        ("shop", 17, 3),
        ("community", 5, 0),
    ]
    assert response.context["usage"] == console.Usage(
        requests=15, client_errors=5, server_errors=2, last_activity=None, residents=12
    )
    body = response.content.decode()
    assert body.count('data-chart="') == 3
    assert 'data-domain="alpha.localhost"' in body
    assert 'data-billing="trialing"' in body
    assert "data-modules>community</p>" in body
    assert 'action="/admin/ops/tenants/alpha/suspend/"' in body


def test_an_unknown_tenant_is_404(ops: Client, tenant: Tenant) -> None:
    assert ops.get(f"{TENANTS}nowhere/").status_code == 404
    assert ops.post(f"{TENANTS}nowhere/suspend/").status_code == 404
    assert not OpsAction.objects.exists()


def test_suspend_and_resume_from_the_detail_page_are_audited(ops: Client, tenant: Tenant) -> None:
    suspended = ops.post(f"{TENANTS}alpha/suspend/")
    assert suspended.status_code == 302 and suspended["Location"] == f"{TENANTS}alpha/"
    assert Tenant.objects.get(schema_name="alpha").status == "suspended"
    assert Tenant.objects.get(schema_name="beta").status == "active"
    # the tenant's API now refuses
    assert Client(HTTP_HOST=host_of(tenant)).get("/api/v1/community/residents").status_code == 403

    again = ops.post(f"{TENANTS}alpha/suspend/")  # nothing to change: nothing recorded
    assert again.status_code == 302
    resumed = ops.post(f"{TENANTS}alpha/resume/")
    assert resumed.status_code == 302
    assert Tenant.objects.get(schema_name="alpha").status == "active"

    assert list(
        OpsAction.objects.order_by("id").values_list("tenant_slug", "action", "actor", "detail")
    ) == [
        ("alpha", "status", "ops-anna", {"before": "active", "after": "suspended"}),
        ("alpha", "status", "ops-anna", {"before": "suspended", "after": "active"}),
    ]
    page = ops.get(f"{TENANTS}alpha/").content.decode()
    assert page.count('data-ops-action="status"') == 2


def test_export_streams_the_archive_and_is_audited(ops: Client, tenant: Tenant) -> None:
    response: Any = ops.post(f"{TENANTS}alpha/export/")  # a FileResponse

    assert response.status_code == 200
    assert 'attachment; filename="linli-alpha-' in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as exported:
        manifest = json.loads(exported.read("manifest.json"))
    assert manifest["slug"] == "alpha"
    action = OpsAction.objects.get()
    assert (action.tenant_slug, action.action, action.actor) == ("alpha", "export", "ops-anna")
    assert action.detail["bytes"] == len(data)
    assert action.detail["via"] == "console"
    assert Tenant.objects.get(schema_name="alpha").status == "active"


def test_actions_need_post_and_a_csrf_token(tenant: Tenant) -> None:
    get_user_model().objects.create_user(
        username="ops-bo", password="pass-word-1", is_staff=True, is_superuser=True
    )
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    assert client.login(username="ops-bo", password="pass-word-1")

    assert client.get(f"{TENANTS}alpha/suspend/").status_code == 405
    assert client.post(f"{TENANTS}alpha/suspend/").status_code == 403
    assert client.post(f"{TENANTS}alpha/export/").status_code == 403
    assert Tenant.objects.get(schema_name="alpha").status == "active"
    assert not OpsAction.objects.exists()

    # the page's own form carries the token
    page = client.get(f"{TENANTS}alpha/")
    token = page.context["csrf_token"]
    assert (
        client.post(f"{TENANTS}alpha/suspend/", {"csrfmiddlewaretoken": token}).status_code == 302
    )
    assert Tenant.objects.get(schema_name="alpha").status == "suspended"


# --- Schema rollouts ----------------------------------------------------------------------


def test_the_migrations_page_shows_runs_their_failures_and_who_is_behind(
    ops: Client, tenant: Tenant
) -> None:
    RolloutRun.objects.create(state_key="a" * 64, status="done", behind=2, done=2, seconds=0.5)
    failed = RolloutRun.objects.create(
        state_key="b" * 64,
        status="failed",
        behind=2,
        done=1,
        seconds=1.5,
        failures=[{"schema": "beta", "error": 'relation "shop_order" already exists'}],
    )

    clean = ops.get(MIGRATIONS)
    assert clean.status_code == 200
    assert clean.context["behind"] == 0
    body = clean.content.decode()
    assert 'data-behind-now="0"' in body
    assert body.index(f'data-run="{failed.pk}"') < body.index('data-run-status="done"')
    assert 'data-run-status="failed"' in body
    assert body.count("data-failures") == 1
    assert 'data-failure="beta"' in body
    assert "relation &quot;shop_order&quot; already exists" in body
    assert "1 of 2 schemas migrated in 1.5 s" in body

    _drop_a_migration_record("beta")
    lagging = ops.get(MIGRATIONS)
    assert lagging.context["behind"] == 1
    assert lagging.context["behind_schemas"] == ["beta"]


def test_the_detail_shows_the_schemas_size_and_the_residents_before_any_snapshot(
    ops: Client, tenant: Tenant
) -> None:
    from datetime import date

    from django_tenants.utils import tenant_context

    from tests.factories import ResidentFactory

    with tenant_context(tenant):
        ResidentFactory.create_batch(3)
        ResidentFactory(status="moved_out", moved_out_on=date(2026, 1, 1))
    size = console.schema_sizes([tenant.schema_name])[tenant.schema_name]
    assert size > 1_000_000  # an empty tenant's tables and indexes are megabytes

    body = ops.get(f"{TENANTS}alpha/").content.decode()

    assert f'data-size="{size}"' in body and " 0 bytes" not in body
    assert "data-residents>3</p>" in body  # counted now: no daily snapshot yet
    # once the daily snapshot exists, the page shows it
    _seed(tenant, 0, "", residents=7)
    assert "data-residents>7</p>" in ops.get(f"{TENANTS}alpha/").content.decode()
