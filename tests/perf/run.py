"""Linli's benchmarks, each against a baseline measured in the same run.

    make bench                      # all, at 10/100/500 existing tenants
    make bench BENCH_ARGS="--levels 10,100 --samples 5"

(a) Provisioning: Linli's replayed blueprint against stock django-tenants'
    creation path (a new schema migrated by ``migrate_schemas``), each creating
    schema, domain and first admin, at several counts of existing tenants.
(b) Request overhead: one API GET listing 50 rows through Linli's tenant
    middleware, against the same view with the tenant fixed (and, for
    reference, through stock django-tenants' middleware).
(c) API key cost: a trivial endpoint behind a bearer key (verification, rate
    counting, scope check) against the same endpoint unauthenticated, both on
    a tenant host through the full stack.
(e) Points ledger throughput: postings per second for awards and redemptions,
    on one hot account against many accounts, one worker and 8 in parallel.
(g) Shop order placement under contention: orders per second when every order
    takes units of one hot batch item, against orders spread over many
    items (the baseline), one worker and 8 in parallel; a third run races
    for the last units (half the orders find none): it must end with exact
    stock and every other order refused (no oversell).
(f) Outreach coverage report: the whole tenant, per building, on the full demo city
    (20,000 households, a year of contacts) against the small one.
(h) Signup to a usable tenant, with 500 tenants already present: the whole flow
    over HTTP (the signup form posted, the emailed link opened, which provisions
    the tenant, the welcome link followed, the new admin's home page loaded),
    against stock django-tenants' provisioning alone measured in the same run.
(i) The API document: GET /api/v1/openapi.json through the full stack, warm (built once
    per process, served as bytes), against building it on every call as django-ninja
    does (the baseline, also the first call's cost); and a 304 for a client holding it.
(d) List endpoints at demo-city scale: community lists (50 per page, with
    filters) on the full demo city (about 50,000 residents) against the same
    requests on the small demo city: p50 server time and queries per request.

Runs on a throwaway database on the configured server (embedded by default).
Machines are noisy: read the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")

import django  # noqa: E402
import django.utils.translation  # noqa: E402

django.setup()
django.utils.translation.activate("en")

from django.conf import settings  # noqa: E402
from django.contrib.admin.models import LogEntry  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from linli.db.access import tenant_db  # noqa: E402
from linli.ops import usage  # noqa: E402
from linli.registry import provisioning  # noqa: E402
from linli.registry.models import Domain, Tenant  # noqa: E402
from linli.registry.selectors import tenant_cache_clear  # noqa: E402
from linli.registry.services import tenant_create, tenant_delete  # noqa: E402

# A pre-hashed password: both paths store the admin the same way, without a slow hash.
PASSWORD_HASH = "pbkdf2_sha256$1000000$benchsalt$0000000000000000000000000000000000000000000="


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# --- (a) provisioning ------------------------------------------------------------------


def linli_create(slug: str) -> None:
    tenant_create(slug=slug, name=slug, admin_username="admin", admin_password_hash=PASSWORD_HASH)


def stock_create(slug: str) -> None:
    """django-tenants' own path: save() creates the schema and runs migrate_schemas on it."""
    tenant = Tenant(schema_name=slug, name=slug)
    tenant.auto_create_schema = True
    saved_stdout = sys.stdout
    sys.stdout = io.StringIO()  # migrate_schemas prints per schema
    try:
        tenant.save(verbosity=0)
    finally:
        sys.stdout = saved_stdout
    Domain.objects.create(domain=f"{slug}.{settings.LINLI_BASE_DOMAIN}", tenant=tenant)
    with tenant_context(tenant):
        get_user_model().objects.create(
            username="admin", password=PASSWORD_HASH, is_staff=True, is_superuser=True
        )


def timed(fn: Callable[[str], None], slug: str) -> float:
    start = time.perf_counter()
    fn(slug)
    elapsed = time.perf_counter() - start
    tenant_delete(slug=slug)
    return elapsed


def fill_to(count: int) -> None:
    existing = Tenant.objects.count()
    for i in range(existing, count):
        linli_create(f"filler{i:05d}")


def bench_provisioning(levels: list[int], samples: int, stock_samples: int) -> list[dict[str, Any]]:
    provisioning.blueprint_current()
    rows = []
    for level in levels:
        fill_to(level)
        # Let the filling's writes reach the disk first, so both paths are timed on a
        # quiet server, and interleave them so background I/O hits both alike.
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
        timed(linli_create, "bench_warm_up")
        linli: list[float] = []
        stock: list[float] = []
        for i in range(max(samples, stock_samples)):
            if i < stock_samples:
                stock.append(timed(stock_create, f"bench_stock_{i}"))
            if i < samples:
                linli.append(timed(linli_create, f"bench_linli_{i}"))
        row = {
            "tenants": level,
            "linli_ms": median_ms(linli),
            "linli_p90_ms": sorted(linli)[int(0.9 * (len(linli) - 1))] * 1000,
            "stock_ms": median_ms(stock),
        }
        row["speedup"] = row["stock_ms"] / row["linli_ms"]
        rows.append(row)
        print(
            f"  {level:>5} tenants: linli {row['linli_ms']:7.1f} ms (p90 {row['linli_p90_ms']:.1f})"
            f"   stock {row['stock_ms']:7.1f} ms   stock/linli x{row['speedup']:.1f}",
            flush=True,
        )
    return rows


# --- (b) request overhead ----------------------------------------------------------------


class FixedTenantMiddleware:
    """The same request with the tenant chosen in advance: no host routing at all."""

    tenant: Tenant | None = None

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        request.tenant = self.tenant
        return self.get_response(request)


def _environ(host: str, path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": host,
        "SERVER_PORT": "80",
        "HTTP_HOST": host,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }


def _ignore_start_response(*args: Any) -> Any:
    return None


def _handler(middleware: list[str]) -> WSGIHandler:
    with override_settings(MIDDLEWARE=middleware):
        return WSGIHandler()


def bench_requests(rounds: int, per_round: int) -> dict[str, Any]:
    settings.ROOT_URLCONF = "tests.perf.bench_urls"
    slug = "bench_requests"
    if not Tenant.objects.filter(schema_name=slug).exists():
        tenant_create(slug=slug, name="Bench", status=Tenant.Status.ACTIVE, admin_username="admin")
    tenant = Tenant.objects.get(schema_name=slug)
    host = tenant.domains.get().domain
    with tenant_context(tenant):
        user = get_user_model().objects.get()
        content_type = ContentType.objects.get_for_model(Tenant)
        LogEntry.objects.all().delete()
        LogEntry.objects.bulk_create(
            LogEntry(
                user=user,
                content_type=content_type,
                object_id=str(i),
                object_repr=f"row {i}",
                action_flag=1,
            )
            for i in range(50)
        )
    base = list(settings.MIDDLEWARE)
    routed = _handler(base)
    FixedTenantMiddleware.tenant = tenant
    fixed_mw = [
        m
        if m != "linli.registry.middleware.TenantMiddleware"
        else "tests.perf.run.FixedTenantMiddleware"
        for m in base
    ]
    fixed = _handler(fixed_mw)
    stock_mw = [
        m
        if m != "linli.registry.middleware.TenantMiddleware"
        else "django_tenants.middleware.main.TenantMainMiddleware"
        for m in base
    ]
    stock = _handler(stock_mw)

    def call(handler: WSGIHandler, fix: bool) -> None:
        if fix:  # the fixed path sets the schema once, as a single-tenant project would
            tenant_db().set_tenant(tenant)
        response = handler(_environ(host, "/bench/rows"), _ignore_start_response)
        assert response.status_code == 200, response.status_code
        b"".join(response)
        response.close()

    paths = {"linli": (routed, False), "fixed": (fixed, True), "stock": (stock, False)}
    queries = {}
    for name, (handler, fix) in paths.items():
        call(handler, fix)  # warm
        with CaptureQueriesContext(connection) as ctx:
            call(handler, fix)
        queries[name] = len(ctx.captured_queries)
    timings: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, (handler, fix) in paths.items():
            start = time.perf_counter()
            for _ in range(per_round):
                call(handler, fix)
            timings[name].append((time.perf_counter() - start) / per_round)
    result: dict[str, Any] = {name: median_ms(values) for name, values in timings.items()}
    result["ratio_linli"] = result["linli"] / result["fixed"]
    result["ratio_stock"] = result["stock"] / result["fixed"]
    result["queries"] = queries
    tenant_cache_clear()
    tenant_db().set_schema_to_public()
    return result


def bench_document(rounds: int) -> dict[str, Any]:
    from api import document, v1

    settings.ROOT_URLCONF = "linli.urls_tenant"
    slug = "bench_requests"
    if not Tenant.objects.filter(schema_name=slug).exists():
        tenant_create(slug=slug, name="Bench", status=Tenant.Status.ACTIVE, admin_username="admin")
    host = Tenant.objects.get(schema_name=slug).domains.get().domain
    handler = _handler(list(settings.MIDDLEWARE))

    def get(etag: str = "") -> Any:
        environ = _environ(host, "/api/v1/openapi.json")
        if etag:
            environ["HTTP_IF_NONE_MATCH"] = etag
        response = handler(environ, _ignore_start_response)
        b"".join(response)
        response.close()
        return response

    start = time.perf_counter()
    first = get()
    first_ms = (time.perf_counter() - start) * 1000
    assert first.status_code == 200, first.status_code
    etag = first["ETag"]
    rebuilt, warm, unchanged = [], [], []
    for _ in range(rounds):
        start = time.perf_counter()
        document.build(v1.api, "/api/v1/")
        rebuilt.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert get().status_code == 200
        warm.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert get(etag).status_code == 304
        unchanged.append(time.perf_counter() - start)
    result = {
        "first": first_ms,
        "rebuilt": median_ms(rebuilt),
        "warm": median_ms(warm),
        "unchanged": median_ms(unchanged),
        "size": len(document.built(v1.api, "/api/v1/").body),
    }
    result["ratio"] = result["warm"] / result["rebuilt"]
    tenant_cache_clear()
    tenant_db().set_schema_to_public()
    return result


def bench_keys(rounds: int, per_round: int) -> dict[str, Any]:
    from api.access.services import key_create

    settings.ROOT_URLCONF = "tests.perf.bench_urls"
    if not Tenant.objects.filter(schema_name="bench_requests").exists():
        tenant_create(
            slug="bench_requests", name="Bench", status=Tenant.Status.ACTIVE, admin_username="admin"
        )
    tenant = Tenant.objects.get(schema_name="bench_requests")
    host = tenant.domains.get().domain
    with tenant_context(tenant):
        token = key_create(name="bench", scopes=["community:read"], rate_limit=10**9).token
    handler = WSGIHandler()

    def call(path: str, authorised: bool) -> None:
        environ = _environ(host, path)
        if authorised:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        response = handler(environ, _ignore_start_response)
        assert response.status_code == 200, response.status_code
        response.close()

    paths = {"open": ("/bench/open", False), "keyed": ("/bench/keyed", True)}
    queries = {}
    for name, (path, authorised) in paths.items():
        call(path, authorised)
        with CaptureQueriesContext(connection) as ctx:
            call(path, authorised)
        queries[name] = len(ctx.captured_queries)
    timings: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, (path, authorised) in paths.items():
            start = time.perf_counter()
            for _ in range(per_round):
                call(path, authorised)
            timings[name].append((time.perf_counter() - start) / per_round)
    result: dict[str, Any] = {name: median_ms(values) for name, values in timings.items()}
    result["ratio"] = result["keyed"] / result["open"]
    result["queries"] = queries
    tenant_cache_clear()
    tenant_db().set_schema_to_public()
    return result


class QueryCounter:
    """Counts statements (Django resets its own query log when a request starts)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


LIST_PATHS = [
    "/api/v1/community/residents?limit=50",
    "/api/v1/community/residents?limit=50&estate_id={estate}",
    "/api/v1/community/residents?limit=50&area_id={street}",
    "/api/v1/community/residents?limit=50&role=building_leader",
    "/api/v1/community/residents?limit=50&cursor={deep_cursor}",
    "/api/v1/community/households?limit=50",
    "/api/v1/community/estates?limit=50&area_id={street}",
]


def bench_lists(rounds: int) -> list[dict[str, Any]]:
    from api.access.services import key_create
    from api.pagination import encode_cursor
    from linli.registry.demo import demo_build
    from tenants.community.models import Area, Estate, Resident

    settings.ROOT_URLCONF = "linli.urls_tenant"
    handler = WSGIHandler()
    cities = {}
    for scale in ("small", "full"):
        tenant, counts = demo_build(scale=scale, slug=f"bench_{scale}")
        with tenant_context(tenant):
            token = key_create(
                name="bench", scopes=["community:read", "personal_data:read"], rate_limit=10**9
            ).token
            ids = list(Resident.objects.order_by("pk").values_list("pk", flat=True))
            values = {
                "estate": Estate.objects.order_by("pk").values_list("pk", flat=True)[1],
                "street": Area.objects.filter(parent=None).order_by("pk")[0].pk,
                "deep_cursor": encode_cursor(ids[len(ids) * 3 // 4]),
            }
        cities[scale] = (tenant.domains.get().domain, token, values, counts["residents"])
    rows = []
    for template in LIST_PATHS:
        row: dict[str, Any] = {
            "path": template.split("?")[0].rsplit("/", 1)[1] + "?" + template.split("?")[1]
        }
        for scale, (host, token, values, _n) in cities.items():
            path, query = template.format(**values).split("?")

            def call(host: str = host, token: str = token, path: str = path, query: str = query):
                environ = _environ(host, path)
                environ["QUERY_STRING"] = query
                environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
                response = handler(environ, _ignore_start_response)
                assert response.status_code == 200, response.status_code
                response.close()

            call()
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                call()
            samples = []
            for _ in range(rounds * 4):
                start = time.perf_counter()
                call()
                samples.append(time.perf_counter() - start)
            row[scale] = median_ms(samples)
            row[f"{scale}_queries"] = counter.count
        row["ratio"] = row["full"] / row["small"]
        rows.append(row)
    tenant_cache_clear()
    tenant_db().set_schema_to_public()
    print(f"  demo cities: small {cities['small'][3]} residents, full {cities['full'][3]}")
    return rows


def bench_points(ops: int) -> list[dict[str, Any]]:
    from concurrent.futures import ThreadPoolExecutor

    from linli.registry.models import ModuleSetting
    from tenants.community.models import Resident
    from tenants.points.models import Account
    from tenants.points.services import points_adjust, points_award, points_redeem

    tenant = tenant_create(slug="bench_points", name="Points", status=Tenant.Status.ACTIVE)
    ModuleSetting.objects.create(
        tenant=tenant,
        module="points",
        enabled=True,
        settings={"earning_rules": [{"category": "default", "per": "task", "points": 1}]},
    )
    with tenant_context(tenant):
        residents = Resident.objects.bulk_create(
            Resident(display_name=f"r{i}") for i in range(max(ops, 200))
        )
        shops = [
            Account.objects.create(kind="shop", code=f"shop:{i}", name=f"shop {i}")
            for i in range(20)
        ]
        for r in residents:  # opening balances for the redemptions
            account = points_adjust_account(r.pk)
            points_adjust(
                account_id=account, amount=100_000, reason="bench", idempotency_key=f"seed:{r.pk}"
            )
    counter = iter(range(10**9))

    def award(hot: bool) -> None:
        n = next(counter)
        who = residents[0] if hot else residents[n % len(residents)]
        points_award(
            resident_id=who.pk, category="default", source=f"e{n}", idempotency_key=f"a{n}"
        )

    def redeem(hot: bool) -> None:
        n = next(counter)
        who = residents[0] if hot else residents[n % len(residents)]
        shop = shops[0] if hot else shops[n % len(shops)]
        points_redeem(resident_id=who.pk, amount=1, to_account_id=shop.pk, idempotency_key=f"r{n}")

    def run_ops(fn: Callable[[bool], None], hot: bool, workers: int) -> float:
        def one(_i: int) -> None:
            # Worker threads keep their own connection for the whole run, as a web
            # process would; opening one per operation would measure connecting.
            with tenant_context(tenant):
                fn(hot)

        start = time.perf_counter()
        if workers == 1:
            for i in range(ops):
                one(i)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one, range(ops)))
        return 2 * ops / (time.perf_counter() - start)  # two postings per transaction

    rows = []
    for name, fn in (("awards", award), ("redemptions", redeem)):
        for workers in (1, 8):
            many = run_ops(fn, hot=False, workers=workers)
            hot = run_ops(fn, hot=True, workers=workers)
            rows.append(
                {
                    "operation": name,
                    "workers": workers,
                    "many": many,
                    "hot": hot,
                    "ratio": hot / many,
                }
            )
    tenant_db().set_schema_to_public()
    with connection.cursor() as cursor:  # the worker threads' connections, now idle
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    return rows


def points_adjust_account(resident_id: int) -> int:
    from tenants.points.services import account_for_resident

    return account_for_resident(resident_id=resident_id).pk


def bench_shop(ops: int) -> list[dict[str, Any]]:
    from concurrent.futures import ThreadPoolExecutor
    from datetime import timedelta

    from django.utils import timezone

    from linli.errors import LinliError
    from tenants.community.models import Estate, Resident
    from tenants.points.services import account_for_resident, points_adjust
    from tenants.shop.models import BatchItem, Order
    from tenants.shop.services import catalogue, orders

    tenant = tenant_create(
        slug="bench_shop", name="Shop", status=Tenant.Status.ACTIVE, modules=["shop", "points"]
    )
    with tenant_context(tenant):
        residents = Resident.objects.bulk_create(
            Resident(display_name=f"r{i}") for i in range(max(ops, 200))
        )
        for r in residents:
            points_adjust(
                account_id=account_for_resident(resident_id=r.pk).pk,
                amount=100_000,
                reason="bench",
                idempotency_key=f"seed:{r.pk}",
            )
        estate = Estate.objects.create(name="bench")
        shop = catalogue.shop_create(estate_id=estate.pk, name="bench", zones=["preorders"])
        coop = catalogue.supplier_create(name="coop", kind="cooperative")
        products = [
            catalogue.product_create(
                shop_id=shop.pk, name=f"p{i}", unit="斤", price_fen=300, points_share=100
            )
            for i in range(100)
        ]

    def new_batch(limit: int | None) -> tuple[list[int], int]:
        with tenant_context(tenant):
            now = timezone.now()
            batch = catalogue.batch_create(
                shop_id=shop.pk,
                supplier_id=coop.pk,
                title="bench",
                opens_at=now - timedelta(minutes=1),
                closes_at=now + timedelta(hours=2),
                pickup_on=timezone.localdate() + timedelta(days=1),
                items=[catalogue.ItemSpec(product_id=p.pk, limit_total=limit) for p in products],
            )
            return list(
                BatchItem.objects.filter(batch=batch).order_by("pk").values_list("pk", flat=True)
            ), batch.pk

    def run(hot: bool, workers: int, limit: int | None = None) -> dict[str, Any]:
        item_ids, batch_id = new_batch(limit)
        counter = iter(range(10**9))
        refused: list[str] = []

        def one(_i: int) -> None:
            n = next(counter)
            item = item_ids[0] if hot else item_ids[n % len(item_ids)]
            with tenant_context(tenant):
                try:
                    orders.order_place(
                        resident_id=residents[n % len(residents)].pk,
                        batch_id=batch_id,
                        lines=[(item, 1)],
                        points=1,
                    )
                except LinliError as exc:
                    refused.append(exc.code)

        start = time.perf_counter()
        if workers == 1:
            for i in range(ops):
                one(i)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one, range(ops)))
        rate = ops / (time.perf_counter() - start)
        with tenant_context(tenant):
            ordered = BatchItem.objects.get(pk=item_ids[0]).ordered
            placed = Order.objects.filter(batch_id=batch_id).count()
        if limit is not None:  # sold out: exactly the limit, every other order refused
            assert ordered == limit == placed, (ordered, limit, placed)
            assert refused == ["out_of_stock"] * (ops - limit), set(refused)
        else:
            assert placed == ops and not refused
        return {"rate": rate, "placed": placed, "refused": len(refused)}

    rows = []
    for workers in (1, 8):
        many = run(hot=False, workers=workers)
        hot = run(hot=True, workers=workers)
        sell_out = run(hot=True, workers=workers, limit=ops // 2)  # the last units, raced
        rows.append(
            {
                "workers": workers,
                "many": many["rate"],
                "hot": hot["rate"],
                "ratio": hot["rate"] / many["rate"],
                "sold": sell_out["placed"],
                "refused": sell_out["refused"],
            }
        )
    tenant_db().set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    return rows


def bench_coverage(rounds: int) -> dict[str, Any]:
    from linli.registry.demo import demo_build
    from tenants.deliberation.outreach import coverage

    results: dict[str, Any] = {}
    for scale in ("small", "full"):
        slug = f"bench_{scale}"
        tenant = (
            Tenant.objects.filter(schema_name=slug).first() or demo_build(scale=scale, slug=slug)[0]
        )
        with tenant_context(tenant):
            coverage()  # warm
            samples = []
            for _ in range(rounds):
                start = time.perf_counter()
                rows = coverage()
                samples.append(time.perf_counter() - start)
        results[scale] = median_ms(samples)
        results[f"{scale}_buildings"] = len(rows)
        results[f"{scale}_households"] = sum(r.households for r in rows)
    results["ratio"] = results["full"] / results["small"]
    tenant_db().set_schema_to_public()
    return results


# --- main ----------------------------------------------------------------------------------


# --- (h) signup to a usable tenant ------------------------------------------------------


SIGNUP_FORM = {
    "district_name": "岑溪市糯垌鎮",
    "region": "廣西 梧州",
    "locale": "zh-hans",
    "time_zone": "Asia/Shanghai",
    "admin_name": "黃主任",
    "password": "Neighbours-help-2026",
    "modules": ["helpteam", "points", "shop", "deliberation"],
}


def signup_flow(slug: str, ip: str) -> dict[str, float]:
    """One district's signup through the full stack; returns each step's seconds."""
    import re

    from django.core import mail
    from django.test import Client

    mail.outbox = []
    platform = Client(HTTP_HOST=settings.LINLI_BASE_DOMAIN, REMOTE_ADDR=ip)
    form = {**SIGNUP_FORM, "slug": slug, "email": f"{slug}@example.org"}
    start = time.perf_counter()
    sent = platform.post("/signup", form)
    submitted = time.perf_counter()
    assert sent.status_code == 200 and len(mail.outbox) == 1, sent.content[:300]
    found = re.search(r"/signup/verify/\S+", str(mail.outbox[0].body))
    assert found is not None
    verified = platform.get(found.group(0))
    assert verified.status_code == 302, verified.content[:300]
    provisioned = time.perf_counter()
    location = verified["Location"]
    host = location.split("/")[2].split(":")[0]
    admin = Client(HTTP_HOST=host)
    welcome = admin.get("/" + location.split("/", 3)[3])
    assert welcome["Location"] == "/admin/", welcome
    home = admin.get("/admin/")
    assert home.status_code == 200
    usable = time.perf_counter()
    tenant_db().set_schema_to_public()
    return {
        "submit": submitted - start,
        "verify": provisioned - submitted,
        "usable": usable - submitted,
        "total": usable - start,
    }


def bench_signup(level: int, samples: int, stock_samples: int) -> dict[str, Any]:
    from django.test.utils import setup_test_environment, teardown_test_environment

    from linli.accounts.models import Signup

    provisioning.blueprint_current()
    fill_to(level)
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    setup_test_environment()  # the email outbox
    try:
        runs: list[dict[str, float]] = []
        stock: list[float] = []
        for i in range(-1, max(samples, stock_samples)):  # -1: warm-up
            if 0 <= i < stock_samples:
                stock.append(timed(stock_create, f"bench_stock_{i}"))
            if i < samples:
                slug = f"signup{i + 1:03d}"
                flow = signup_flow(slug, ip=f"198.51.100.{i + 2}")
                tenant_delete(slug=slug)
                Signup.objects.filter(slug=slug).delete()
                if i >= 0:
                    runs.append(flow)
    finally:
        teardown_test_environment()
    row = {name: median_ms([run[name] for run in runs]) for name in runs[0]}
    row["stock"] = median_ms(stock)
    row["tenants"] = level
    return row


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--levels", default="10,100,500")
    parser.add_argument("--samples", type=int, default=15, help="Linli creations per level")
    parser.add_argument("--stock-samples", type=int, default=3, help="stock creations per level")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument(
        "--only",
        choices=[
            "provisioning",
            "requests",
            "keys",
            "lists",
            "points",
            "shop",
            "coverage",
            "signup",
            "document",
        ],
    )
    parser.add_argument("--points-ops", type=int, default=400, help="operations per case")
    parser.add_argument("--shop-ops", type=int, default=400, help="orders per case")
    args = parser.parse_args()
    # One access line per request is noise here (thousands of them): keep warnings.
    logging.getLogger("linli.access").setLevel(logging.WARNING)

    connection.settings_dict["TEST"]["NAME"] = "linli_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        pg = connection.cursor().connection.info.server_version
        print(
            f"PostgreSQL {pg // 10000}.{pg % 10000}, Django {django.get_version()}, "
            f"Python {sys.version.split()[0]}",
            flush=True,
        )
        if args.only in (None, "requests"):
            print("\n(b) Request overhead, one API GET listing 50 rows (median per request):")
            r = bench_requests(args.rounds, args.per_round)
            q = r["queries"]
            print(f"  tenant fixed (baseline)     {r['fixed']:.3f} ms   {q['fixed']} queries")
            print(
                f"  Linli tenant middleware     {r['linli']:.3f} ms   {q['linli']} queries"
                f"   x{r['ratio_linli']:.3f}"
            )
            print(
                f"  stock django-tenants        {r['stock']:.3f} ms   {q['stock']} queries"
                f"   x{r['ratio_stock']:.3f}"
            )
        if args.only in (None, "document"):
            print("\n(i) The API document, GET /api/v1/openapi.json (median per request):")
            d = bench_document(args.rounds)
            print(f"  built per call (baseline)   {d['rebuilt']:.3f} ms   ({d['size']} bytes)")
            print(f"  first call of a process     {d['first']:.3f} ms")
            print(f"  warm, built once            {d['warm']:.3f} ms   x{d['ratio']:.4f}")
            print(f"  304 with If-None-Match      {d['unchanged']:.3f} ms")
        if args.only in (None, "requests", "keys"):
            print("\n(c) API key verification, trivial endpoint on a tenant host (median):")
            k = bench_keys(args.rounds, args.per_round)
            q = k["queries"]
            print(f"  no key (baseline)           {k['open']:.3f} ms   {q['open']} queries")
            print(
                f"  bearer key                  {k['keyed']:.3f} ms   {q['keyed']} queries"
                f"   x{k['ratio']:.3f}"
            )
        if args.only in (None, "lists"):
            print("\n(d) Community lists at demo-city scale (p50 server time per request):")
            for row in bench_lists(args.rounds):
                print(
                    f"  {row['path']:<44} small {row['small']:6.2f} ms ({row['small_queries']} q)"
                    f"   full {row['full']:6.2f} ms ({row['full_queries']} q)"
                    f"   x{row['ratio']:.2f}"
                )
        if args.only in (None, "points"):
            print("\n(e) Points ledger: postings per second (two per transaction):")
            for row in bench_points(args.points_ops):
                print(
                    f"  {row['operation']:<12} {row['workers']} worker(s)   "
                    f"many accounts {row['many']:7.0f}/s   one hot account {row['hot']:7.0f}/s"
                    f"   hot/many x{row['ratio']:.2f}"
                )
        if args.only in (None, "shop"):
            print("\n(g) Shop orders placed per second (one line, 1 point each):")
            for row in bench_shop(args.shop_ops):
                print(
                    f"  {row['workers']} worker(s)   many items {row['many']:6.0f}/s"
                    f"   one hot item {row['hot']:6.0f}/s   hot/many x{row['ratio']:.2f}"
                    f"   sell-out: {row['sold']} sold, {row['refused']} out_of_stock, no oversell"
                )
        if args.only in (None, "lists", "coverage"):
            print("\n(f) Outreach coverage for the whole tenant (median):")
            c = bench_coverage(args.rounds)
            print(
                f"  small demo  {c['small']:7.1f} ms ({c['small_buildings']} buildings, "
                f"{c['small_households']} households)"
            )
            print(
                f"  full demo   {c['full']:7.1f} ms ({c['full_buildings']} buildings, "
                f"{c['full_households']} households)   x{c['ratio']:.1f}"
            )
        if args.only in (None, "signup"):
            level = max(int(x) for x in args.levels.split(","))
            print(f"\n(h) Signup to a usable tenant with {level} tenants present (medians):")
            h = bench_signup(level, samples=min(args.samples, 10), stock_samples=args.stock_samples)
            print(
                f"  form posted (checks, password hash, email)   {h['submit']:7.1f} ms\n"
                f"  link opened: tenant provisioned             {h['verify']:7.1f} ms\n"
                f"  link opened to the new admin's home page    {h['usable']:7.1f} ms\n"
                f"  whole flow                                  {h['total']:7.1f} ms\n"
                f"  stock django-tenants provisioning alone     {h['stock']:7.1f} ms"
                f"   stock/linli (link to usable) x{h['stock'] / h['usable']:.1f}"
            )
        if args.only in (None, "provisioning"):
            levels = [int(x) for x in args.levels.split(",")]
            print("\n(a) Provisioning a tenant (schema, domain, first admin), medians:")
            bench_provisioning(levels, args.samples, args.stock_samples)
    finally:
        tenant_db().set_schema_to_public()
        usage.counter.flush()  # the counts go to the benchmark's database, before it goes
        connection.creation.destroy_test_db("linli_bench", verbosity=0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
