"""The scheme's stories in a real browser (Debian's Chromium driven by Playwright) at a
phone's size: every page checked by axe-core for serious accessibility problems, a
screenshot of each step kept in ``.artifacts/browser/``.

The pages are served by a real HTTP server on loopback from a tenant of their own, with
committed data, dropped afterwards. Without Chromium the tests are skipped, unless
``LINLI_REQUIRE_BROWSER`` is set (CI sets it: there a missing browser is a failure).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.context import within
from linli.registry.models import Tenant
from linli.registry.services import tenant_create, tenant_delete

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("LINLI_ARTIFACTS", ROOT / ".artifacts")) / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE_VIEWPORT: Any = {"width": 390, "height": 844}

if CHROMIUM is None and not os.environ.get("LINLI_REQUIRE_BROWSER"):
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        return


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _app() -> Any:
    """Django, closing each request thread's database connection when it is done."""
    from django.db import connections

    handler = WSGIHandler()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        try:
            return handler(environ, start_response)
        finally:
            connections.close_all()

    return app


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker) -> Iterator[dict[str, Any]]:
    """A committed tenant with Mr Xu's estate, its shop and a batch open, served on loopback."""
    with django_db_blocker.unblock():
        tenant = tenant_create(
            slug="browser",
            name="萬象公館",
            status="active",
            modules=["shop", "points", "helpteam", "deliberation"],
        )
        try:
            with within(tenant):
                data = _city()
            server = make_server("127.0.0.1", 0, _app(), _Threading, _Quiet)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                yield {
                    "tenant": tenant,
                    "base": f"http://browser.localhost:{server.server_port}",
                    **data,
                }
            finally:
                server.shutdown()
                server.server_close()
        finally:
            connection.close()
            tenant_delete(slug="browser")
            with connection.cursor() as cursor:  # request threads' connections, now idle
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


def _city():
    from tenants.points.services import account_for_resident, points_adjust
    from tenants.shop.services import catalogue
    from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory, UnitFactory

    estate = EstateFactory(name="萬象公館")
    unit = UnitFactory(building__estate=estate)
    xu = ResidentFactory(
        display_name="徐大爺", phone="+8613800138000", household=HouseholdFactory(unit=unit)
    )
    points_adjust(
        account_id=account_for_resident(resident_id=xu.pk).pk,
        amount=30,
        reason="volunteering",
        idempotency_key="browser-seed",
    )
    shop = catalogue.shop_create(estate_id=estate.pk, name="鄰家小店", zones=["preorders"])
    coop = catalogue.supplier_create(name="大業村合作社", kind="cooperative")
    greens = catalogue.product_create(
        shop_id=shop.pk, name="青菜", unit="斤", price_fen=300, points_share=50
    )
    now = timezone.now()
    pickup = timezone.localdate() + timedelta(days=2)
    nine = timezone.make_aware(datetime.combine(pickup, time(9)))
    batch = catalogue.batch_create(
        shop_id=shop.pk,
        supplier_id=coop.pk,
        title="大業村本週蔬菜",
        opens_at=now - timedelta(minutes=5),
        closes_at=now + timedelta(hours=20),
        pickup_on=pickup,
        items=[catalogue.ItemSpec(product_id=greens.pk, limit_total=30, limit_per_household=3)],
        slots=[catalogue.SlotSpec(starts_at=nine, ends_at=nine + timedelta(hours=2))],
    )
    from tenants.helpteam.models import Skill, Volunteer

    neighbour = ResidentFactory(
        display_name="對門小李", phone="+8613800138001", household=HouseholdFactory(unit=unit)
    )
    Volunteer.objects.create(resident=neighbour)
    for n, name in ((2, "媽媽"), (3, "熱心居民")):
        ResidentFactory(
            display_name=name, phone=f"+861380013800{n}", household=HouseholdFactory(unit=unit)
        )
    Skill.objects.create(code="child_pickup", name="接送孩子")
    return {
        "xu": xu,
        "batch": batch,
        "phone": "13800138000",
        "neighbour_phone": "13800138001",
        "parent_phone": "13800138002",
        "raiser_phone": "13800138003",
    }


@pytest.fixture
def phone_page(site, monkeypatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own database
    # calls are ordinary blocking ones between its steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context = browser.new_context(
            viewport=PHONE_VIEWPORT, device_scale_factor=2, locale="zh-CN"
        )
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


def check(page: Any, name: str) -> None:
    """Keep a screenshot; fail on serious or critical accessibility problems."""
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    violations = Axe().run(page).response["violations"]
    serious = [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{name}: {serious}"


def _latest_code(tenant: Tenant) -> str:
    from tenants.notices.models import Message

    with tenant_context(tenant):
        code: str = (
            Message.objects.filter(kind="pages.sign_in_code").order_by("-id")[0].data["code"]
        )
    connection.close()
    return code


def sign_in(page: Any, site: dict[str, Any], phone: str, next_path: str = "/r/") -> None:
    page.goto(f"{site['base']}/r/sign-in?next={next_path}")
    page.fill("#phone", phone)
    page.locator("button[type=submit]").click()
    page.fill("#code", _latest_code(site["tenant"]))
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"**{next_path}")


def test_the_pre_order_story_in_a_phone_browser(site, phone_page):
    from tenants.shop.models import Order
    from tenants.shop.services import catalogue, orders

    page, tenant, batch = phone_page, site["tenant"], site["batch"]
    # Mr Xu scans the code on the poster: the batch page opens
    page.goto(f"{site['base']}/r/shop/batches/{batch.qr_token}")
    assert "大業村本週蔬菜" in page.content()
    check(page, "1-batch-from-qr")
    page.locator("a[href^='/r/sign-in']").click()
    page.fill("#phone", site["phone"])
    check(page, "2-sign-in")
    page.locator("button[type=submit]").click()
    page.fill("#code", _latest_code(tenant))
    page.locator("button[type=submit]").click()
    # back on the batch: two 斤 of greens, 3 points (half of 6 yuan)
    page.wait_for_url(f"**/r/shop/batches/{batch.qr_token}")
    with tenant_context(tenant):
        item_id = batch.items.get().pk
    page.fill(f"#item_{item_id}", "2")
    page.fill("#points", "3")
    check(page, "3-order-form")
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/r/orders/*")
    with tenant_context(tenant):
        order = Order.objects.get()
    connection.close()
    assert (order.total_fen, order.points_used, order.money_due_fen) == (600, 3, 300)
    code = page.locator(".code").inner_text()
    assert code == order.pickup_code
    check(page, "4-pickup-code")
    # the cut-off passes, the shop packs and hands it over against the code
    with within(tenant):
        catalogue.batch_close(batch_id=batch.pk)
        orders.order_ready(order_id=order.pk)
        orders.order_pick_up(order_id=order.pk, code=code, payment="cash", paid_fen=300)
    connection.close()
    page.reload()
    assert order.pickup_code not in page.content()
    page.goto(f"{site['base']}/r/points")
    assert "27" in page.locator("h1").inner_text()
    check(page, "5-points")


def test_the_child_pick_up_story_with_two_residents(site, phone_page):
    from tenants.helpteam.models import HelpRequest

    page, tenant = phone_page, site["tenant"]
    sign_in(page, site, site["parent_phone"], "/r/help")
    check(page, "help-1-home")
    page.goto(f"{site['base']}/r/help/ask")
    page.get_by_role("link", name="接送孩子").click()
    check(page, "help-2-when")
    page.locator("button[name=when][value=tomorrow_pm]").click()
    page.wait_for_url("**/r/help/*")
    with tenant_context(tenant):
        request = HelpRequest.objects.get(category="child_pickup")
    connection.close()
    # the neighbour across the landing, on their own phone
    neighbour = page.context.browser.new_context(viewport=PHONE_VIEWPORT, locale="zh-CN")
    other = neighbour.new_page()
    sign_in(other, site, site["neighbour_phone"], "/r/help")
    other.locator(f"a[href='/r/help/{request.pk}']").first.click()
    other.locator("button[name=action][value=claim]").click()
    other.locator("button[name=action][value=done]").click()
    check(other, "help-3-volunteer-done")
    neighbour.close()
    page.goto(f"{site['base']}/r/help/{request.pk}")
    page.locator("button[name=action][value=confirm]").click()
    with tenant_context(tenant):
        request.refresh_from_db()
    connection.close()
    assert request.status == "confirmed"
    check(page, "help-4-confirmed")


def test_a_corridor_light_raised_with_a_photo_and_followed(site, phone_page):
    from tenants.deliberation.models import Topic
    from tenants.deliberation.services import topic_transition

    page, tenant = phone_page, site["tenant"]
    sign_in(page, site, site["raiser_phone"], "/r/topics/new")
    page.fill("#title", "樓道燈壞了")
    page.fill("#description", "三樓樓道燈一直不亮")
    page.set_input_files(
        "#photo",
        {"name": "light.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + bytes(64)},
    )
    check(page, "topic-1-raise")
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/r/topics/*")
    with within(tenant):
        topic = Topic.objects.get(title="樓道燈壞了")
        assert topic.photos.count() == 1
        for to in ("accepted", "on_agenda", "decided", "in_progress", "resolved"):
            topic_transition(topic_id=topic.pk, to=to, actor_id=None)
    connection.close()
    page.reload()
    from django.utils import translation

    with translation.override("zh-hans"):
        resolved = str(Topic.Status.RESOLVED.label)
    assert resolved in page.locator("main").inner_text()
    check(page, "topic-2-resolved")
