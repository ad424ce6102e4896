"""Per-tenant usage: counted in memory per process, written in batches with one upsert."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from linli.db.access import tenant_db
from linli.ops import usage
from linli.ops.models import TenantUsage
from linli.ops.tasks import residents_snapshot
from linli.ops.usage import Counts, UsageMiddleware, counter, module_of
from linli.registry.models import Tenant
from linli.registry.services import tenant_suspend
from tests.conftest import host_of
from tests.factories import ResidentFactory

NEVER = 10**9


@pytest.fixture(autouse=True)
def _empty_counter() -> Iterator[None]:
    """The counter is per process: other tests' requests must not count in these."""
    counter.clear()
    yield
    counter.clear()


@pytest.fixture
def no_automatic_flush(settings: Any) -> None:
    settings.LINLI_USAGE_FLUSH_SECONDS = NEVER
    settings.LINLI_USAGE_FLUSH_REQUESTS = NEVER


def _usage_writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "ops_usage" in q["sql"]]


def _rows(tenant: Tenant) -> dict[str, tuple[int, int, int, int]]:
    return {
        row.module: (row.requests, row.client_errors, row.server_errors, row.writes)
        for row in TenantUsage.objects.filter(tenant=tenant)
    }


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("/api/v1/shop/orders", "shop"),
        ("/api/v1/helpteam/requests/3/claim", "helpteam"),
        ("/api/v1/webhooks", "webhooks"),
        ("/api/v1/openapi.json", "api"),
        ("/api/v1/no-such-thing/at/all", "api"),
        ("/api/v2/shop", "api"),
        ("/admin/community/resident/", "community"),
        ("/admin/points/account/4/change/", "points"),
        ("/admin/", "admin"),
        ("/admin/login/", "admin"),
        ("/admin/modules/", "admin"),
        ("/r/", "pages"),
        ("/r/help/new", "pages"),
        ("/", "other"),
        ("/favicon.ico", "other"),
    ],
)
def test_each_path_counts_for_one_bounded_module(path: str, module: str) -> None:
    assert module_of(path) == module


def test_concurrent_requests_are_counted_exactly_and_written_in_one_statement(
    tenant: Tenant, other_tenant: Tenant, no_automatic_flush: None
) -> None:
    """8 threads, each with its own client and connection, hit alpha and beta at once."""
    # given
    per_thread = 15
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def hammer(host: str) -> None:
        try:
            client = Client(HTTP_HOST=host)
            start.wait()
            for _ in range(per_thread):
                assert client.get("/api/v1/community/residents").status_code == 401
                assert client.post("/api/v1/shop/orders").status_code == 401
                assert client.get("/admin/login/").status_code == 200
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    hosts = [host_of(tenant)] * 5 + [host_of(other_tenant)] * 3
    threads = [threading.Thread(target=hammer, args=(host,)) for host in hosts]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: nothing was written while the requests ran, everything is in memory
    assert failures == []
    assert not TenantUsage.objects.exists()
    today = datetime.now(UTC).date()
    pending = counter.peek()
    assert {
        key: (c.requests, c.client_errors, c.server_errors, c.writes) for key, c in pending.items()
    } == {
        (tenant.pk, today, "community"): (75, 75, 0, 0),
        (tenant.pk, today, "shop"): (75, 75, 0, 75),
        (tenant.pk, today, "admin"): (75, 0, 0, 0),
        (other_tenant.pk, today, "community"): (45, 45, 0, 0),
        (other_tenant.pk, today, "shop"): (45, 45, 0, 45),
        (other_tenant.pk, today, "admin"): (45, 0, 0, 0),
    }

    with CaptureQueriesContext(connection) as queries:
        assert counter.flush() == 6
    writes = _usage_writes(queries)
    assert len(queries.captured_queries) == 1 and len(writes) == 1
    assert writes[0].lstrip().startswith('INSERT INTO "public"."ops_usage"')
    assert "ON CONFLICT (tenant_id, day, module) DO UPDATE" in writes[0]

    # alpha's traffic is alpha's alone, and beta's beta's
    assert _rows(tenant) == {
        "community": (75, 75, 0, 0),
        "shop": (75, 75, 0, 75),
        "admin": (75, 0, 0, 0),
    }
    assert _rows(other_tenant) == {
        "community": (45, 45, 0, 0),
        "shop": (45, 45, 0, 45),
        "admin": (45, 0, 0, 0),
    }
    assert counter.peek() == {}
    assert TenantUsage.objects.filter(day=today).count() == 6


def test_the_middleware_counts_exactly_from_many_threads(tenant: Tenant, settings: Any) -> None:
    """The counter alone, under 16 threads: no lost update, 5xx and 4xx apart."""
    settings.LINLI_USAGE_FLUSH_SECONDS = NEVER
    settings.LINLI_USAGE_FLUSH_REQUESTS = NEVER
    factory = RequestFactory()

    def answer(request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=int(request.GET["status"]))

    middleware = UsageMiddleware(answer)
    start = threading.Barrier(16)

    def hammer(n: int) -> None:
        start.wait()
        for i in range(500):
            status = (200, 404, 500, 201)[(n + i) % 4]
            method = "post" if status == 201 else "get"
            request = getattr(factory, method)(f"/api/v1/points/x?status={status}")
            request.tenant = tenant
            middleware(request)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ((key, counts),) = counter.peek().items()
    assert key[0] == tenant.pk and key[2] == "points"
    assert (counts.requests, counts.client_errors, counts.server_errors, counts.writes) == (
        8000,
        2000,
        2000,
        2000,
    )


def test_counts_are_written_every_m_requests_never_per_request(
    tenant: Tenant, tenant_client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: due every 5 requests; outside a test this runs outside any transaction
    settings.LINLI_USAGE_FLUSH_SECONDS = NEVER
    settings.LINLI_USAGE_FLUSH_REQUESTS = 5
    monkeypatch.setattr(usage, "inside_transaction", lambda: False)

    # when
    with CaptureQueriesContext(connection) as queries:
        for _ in range(12):
            assert tenant_client.get("/api/v1/community/residents").status_code == 401

    # then: two writes (after the 5th and the 10th request), two requests still in memory
    writes = _usage_writes(queries)
    assert len(writes) == 2
    assert all(sql.lstrip().startswith('INSERT INTO "public"."ops_usage"') for sql in writes)
    assert _rows(tenant) == {"community": (10, 10, 0, 0)}
    ((_key, pending),) = counter.peek().items()
    assert pending.requests == 2


def test_nothing_is_written_inside_a_transaction_even_when_due(
    tenant: Tenant, tenant_client: Client, settings: Any
) -> None:
    settings.LINLI_USAGE_FLUSH_REQUESTS = 1
    settings.LINLI_USAGE_FLUSH_SECONDS = 0
    assert connection.in_atomic_block  # the test's own transaction

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            tenant_client.get("/admin/login/")

    assert _usage_writes(queries) == []
    assert not TenantUsage.objects.exists()
    ((_key, pending),) = counter.peek().items()
    assert pending.requests == 3


def test_time_makes_the_counts_due(tenant: Tenant, settings: Any) -> None:
    settings.LINLI_USAGE_FLUSH_REQUESTS = NEVER
    settings.LINLI_USAGE_FLUSH_SECONDS = 3600
    now = datetime.now(UTC)
    assert (
        counter.record(tenant_id=tenant.pk, module="shop", status=200, write=False, at=now) is False
    )
    settings.LINLI_USAGE_FLUSH_SECONDS = 0
    assert (
        counter.record(tenant_id=tenant.pk, module="shop", status=200, write=False, at=now) is True
    )


def test_a_flush_adds_to_the_rows_and_keeps_the_latest_request_time(
    tenant: Tenant, no_automatic_flush: None
) -> None:
    day = date(2026, 3, 1)
    early = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    late = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    counter.record(tenant_id=tenant.pk, module="shop", status=503, write=True, at=late)
    counter.flush()
    counter.record(tenant_id=tenant.pk, module="shop", status=200, write=False, at=early)
    counter.record(tenant_id=tenant.pk, module="shop", status=404, write=False, at=early)
    counter.flush()

    row = TenantUsage.objects.get(tenant=tenant, day=day, module="shop")
    assert (row.requests, row.client_errors, row.server_errors, row.writes) == (3, 1, 1, 1)
    assert row.last_at == late
    assert row.residents is None


def test_each_batch_is_one_statement(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(usage, "FLUSH_ROWS", 2)
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for offset in range(5):
        counter.record(
            tenant_id=tenant.pk,
            module="shop",
            status=200,
            write=False,
            at=at + timedelta(days=offset),
        )

    with CaptureQueriesContext(connection) as queries:
        assert counter.flush() == 5

    assert len(_usage_writes(queries)) == 3 == len(queries.captured_queries)
    assert TenantUsage.objects.filter(tenant=tenant).count() == 5


def test_a_failed_write_keeps_the_counts_for_the_next_one(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    counter.record(tenant_id=tenant.pk, module="shop", status=200, write=True, at=at)

    def broken(pending: Any) -> int:
        counter.record(tenant_id=tenant.pk, module="shop", status=500, write=False, at=at)
        raise DatabaseError("connection lost")

    monkeypatch.setattr(usage, "usage_write", broken)
    assert counter.flush() == 0

    ((_key, counts),) = counter.peek().items()
    assert counts == Counts(requests=2, client_errors=0, server_errors=1, writes=1, last_at=at)
    assert not TenantUsage.objects.exists()


def test_counts_of_a_deleted_tenant_are_dropped_without_failing_the_batch(tenant: Tenant) -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    missing = Tenant.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    counter.record(tenant_id=missing, module="shop", status=200, write=False, at=at)
    counter.record(tenant_id=tenant.pk, module="shop", status=200, write=False, at=at)

    counter.flush()

    assert list(TenantUsage.objects.values_list("tenant_id", "requests")) == [(tenant.pk, 1)]


def test_platform_and_unknown_hosts_and_refused_tenants_count_for_no_tenant(
    tenant: Tenant, no_automatic_flush: None
) -> None:
    Client(HTTP_HOST="localhost").get("/admin/login/")
    Client(HTTP_HOST="nowhere.example.org").get("/api/v1/community/residents")
    tenant_suspend(slug=tenant.schema_name)
    assert Client(HTTP_HOST=host_of(tenant)).get("/api/v1/community/residents").status_code == 403

    assert counter.peek() == {}


# --- The daily snapshot of active residents ------------------------------------------


def test_the_daily_job_snapshots_each_serving_tenants_active_residents(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    # given: alpha has 3 residents, one moved out; beta has 1
    with tenant_context(tenant):
        ResidentFactory.create_batch(2)
        ResidentFactory(status="moved_out", moved_out_on=date(2026, 1, 31))
    with tenant_context(other_tenant):
        ResidentFactory()
    day = date(2026, 3, 2)

    # when
    with CaptureQueriesContext(connection) as queries:
        counts = residents_snapshot(day=day)

    # then: one write for all tenants, the connection is back on public
    assert counts == {"alpha": 2, "beta": 1}
    assert len(_usage_writes(queries)) == 1
    assert tenant_db().schema_name == "public"
    assert {
        (row.tenant_id, row.module, row.residents, row.requests)
        for row in TenantUsage.objects.filter(day=day)
    } == {(tenant.pk, "", 2, 0), (other_tenant.pk, "", 1, 0)}

    # run again the same day after a change: replaced, not added; suspended tenants skipped
    with tenant_context(other_tenant):
        ResidentFactory()
    tenant_suspend(slug=tenant.schema_name)
    assert residents_snapshot(day=day) == {"beta": 2}
    assert dict(TenantUsage.objects.filter(day=day).values_list("tenant_id", "residents")) == {
        tenant.pk: 2,
        other_tenant.pk: 2,
    }


def test_the_snapshot_leaves_the_days_request_counts_alone(tenant: Tenant) -> None:
    at = datetime(2026, 3, 3, 10, tzinfo=UTC)
    counter.record(tenant_id=tenant.pk, module="", status=200, write=False, at=at)
    counter.flush()

    residents_snapshot(day=at.date())

    row = TenantUsage.objects.get(tenant=tenant, day=at.date(), module="")
    assert (row.requests, row.residents) == (1, 0)


def test_counts_made_against_another_database_are_never_written_here(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At exit a test run's settings point back at the development database: tenant ids
    counted in the test database must not land there."""
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    counter.record(tenant_id=tenant.pk, module="shop", status=200, write=False, at=at)
    monkeypatch.setattr(usage, "_database", lambda: "some_other_database")

    with CaptureQueriesContext(connection) as queries:
        assert counter.flush() == 0

    assert queries.captured_queries == []
    assert counter.peek() == {}
    assert not TenantUsage.objects.exists()
