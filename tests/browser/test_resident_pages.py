"""Mr Xu (70) on his phone: back on the phone step the code box is still there; an order
error keeps what he typed; he checks the total, orders, sees the code as letters and QR,
cancels after being asked, then turns the larger text on. Every tap target is 48 px tall;
no favicon request fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.context import within
from linli.registry.services import tenant_create, tenant_delete
from tests.browser.conftest import check, close_other_connections, serve

PHONE = "13800138010"
WANG_PHONE = "13800138011"
IN_WECHAT = (
    "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F30) NetType/WIFI"
)


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[dict[str, Any]]:
    from django.test import override_settings

    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    with django_db_blocker.unblock(), media:
        tenant = tenant_create(
            slug="residents", name="萬象公館", status="active", modules=["shop", "points"]
        )
        try:
            with within(tenant):
                data = _estate()
            with serve() as port:
                yield {"tenant": tenant, "base": f"http://residents.localhost:{port}", **data}
        finally:
            connection.close()
            tenant_delete(slug="residents")
            close_other_connections()


def _camera_photo(seed: float) -> bytes:
    """A photo as a phone takes it: 3,000 x 2,000 pixels, a few megabytes."""
    import io

    from PIL import Image

    out = io.BytesIO()
    scene = Image.effect_mandelbrot((3000, 2000), (-2.0 + seed, -1.2, 1.0, 1.2), 80)
    scene.convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def _estate() -> dict[str, Any]:
    from tenants.points.services import account_for_resident, points_adjust
    from tenants.shop.services import catalogue
    from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory, UnitFactory

    estate: Any = EstateFactory(name="萬象公館")
    xu: Any = ResidentFactory(
        display_name="徐大爺",
        phone=f"+86{PHONE}",
        household=HouseholdFactory(unit=UnitFactory(building__estate=estate)),
    )
    points_adjust(
        account_id=account_for_resident(resident_id=xu.pk).pk,
        amount=20,
        reason="volunteering",
        idempotency_key="residents-seed",
    )
    shop = catalogue.shop_create(estate_id=estate.pk, name="鄰家小店", zones=["preorders"])
    coop = catalogue.supplier_create(name="大業村合作社", kind="cooperative")
    greens = catalogue.product_create(
        shop_id=shop.pk, name="青菜", unit="斤", price_fen=300, points_share=50
    )
    eggs = catalogue.product_create(
        shop_id=shop.pk, name="土雞蛋", unit="盒", price_fen=2500, points_share=20
    )
    now = timezone.now()
    batch = catalogue.batch_create(
        shop_id=shop.pk,
        supplier_id=coop.pk,
        title="大業村本週蔬菜",
        opens_at=now - timedelta(minutes=5),
        closes_at=now + timedelta(hours=20),
        pickup_on=timezone.localdate() + timedelta(days=2),
        items=[
            catalogue.ItemSpec(product_id=greens.pk, limit_total=30, limit_per_household=3),
            catalogue.ItemSpec(product_id=eggs.pk),
        ],
    )
    catalogue.product_photo_set(product_id=greens.pk, content=_camera_photo(0.0))
    catalogue.batch_photo_set(batch_id=batch.pk, content=_camera_photo(0.3))
    wang: Any = ResidentFactory(
        display_name="王阿姨",
        phone=f"+86{WANG_PHONE}",
        household=HouseholdFactory(unit=UnitFactory(building__estate=estate)),
    )
    return {"batch": batch, "xu": xu, "wang": wang}


def _in(site: dict[str, Any], read: Any) -> Any:
    with tenant_context(site["tenant"]):
        value = read()
    connection.close()
    return value


def _code(site: dict[str, Any]) -> str:
    from tenants.notices.models import Message

    return str(
        _in(
            site,
            lambda: Message.objects.filter(kind="pages.sign_in_code").latest("id").data["code"],
        )
    )


def _small_targets(page: Any) -> list[str]:
    """Links and buttons shorter than 48 px (CSS pixels)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('a, button')]
            .filter(e => e.getBoundingClientRect().height < 48)
            .map(e => e.outerHTML.slice(0, 80))"""
    )


def test_mr_xu_orders_after_a_mistake_and_cancels(site, phone_page):
    from tenants.shop.models import BatchItem, Order

    page, base, batch = phone_page, site["base"], site["batch"]
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    # sign in, go back to the phone step and send the number again: the code box is there
    page.goto(f"{base}/r/sign-in?next=/r/shop")
    page.fill("#phone", PHONE)
    page.locator("main button[type=submit]").click()
    page.locator("#code").wait_for()  # the code step has loaded before going back
    page.go_back()
    page.fill("#phone", PHONE)
    page.locator("main button[type=submit]").click()
    page.locator("#code").wait_for()
    assert page.locator("#code").is_visible()
    check(page, "resident-1-sign-in-again")
    assert _small_targets(page) == []
    page.fill("#code", _code(site))
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/r/shop")
    check(page, "resident-2-my-shop")
    assert _small_targets(page) == []
    page.locator("a.card").click()
    # the batch's photo and the greens': phone-sized, the first screen's under 100 KB
    photos = page.locator("img.thumb")
    assert photos.count() == 2
    weigh = "async src => (await (await fetch(src)).arrayBuffer()).byteLength"
    weights = [page.evaluate(weigh, photos.nth(n).get_attribute("src")) for n in (0, 1)]
    assert sum(weights) < 100 * 1024, weights
    assert page.evaluate("() => [...document.images].every(i => i.complete)")
    greens, eggs = _in(site, lambda: list(batch.items.order_by("id").values_list("pk", flat=True)))
    # too many points: the error, and everything he typed still there
    page.fill(f"#item_{greens}", "2")
    page.fill(f"#item_{eggs}", "1")
    page.fill("#points", "9")
    page.locator("button[value=order]").click()
    assert "最多可用 8 积分" in page.locator(".error").inner_text()
    assert page.input_value(f"#item_{greens}") == "2" and page.input_value(f"#item_{eggs}") == "1"
    assert page.input_value("#points") == "9"
    assert page.get_attribute("#points", "aria-invalid") == "true"
    assert _in(site, lambda: Order.objects.count()) == 0
    check(page, "resident-3-order-error-nothing-lost")
    page.fill("#points", "8")
    page.locator("button[value=total]").click()
    assert "¥23.00" in page.locator("#total").inner_text()
    check(page, "resident-4-total")
    assert len(page.content().encode()) < 10 * 1024
    page.locator("button[value=order]").click()
    page.wait_for_url("**/r/orders/*")
    order = _in(site, lambda: Order.objects.get())
    assert page.locator(".code").inner_text() == order.pickup_code
    assert page.locator(".qr svg").bounding_box()["width"] >= 200
    check(page, "resident-5-pickup-code-and-qr")
    assert _small_targets(page) == []
    page.locator(f"a[href='/r/orders/{order.pk}/cancel']").click()
    check(page, "resident-6-cancel-asks")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"**/r/orders/{order.pk}")
    order = _in(site, lambda: Order.objects.get())
    assert order.status == "cancelled" and order.pickup_code not in page.content()
    ordered = _in(site, lambda: list(BatchItem.objects.values_list("ordered", flat=True)))
    assert ordered == [0, 0]
    page.goto(f"{base}/r/points")
    assert "20" in page.locator("h1").inner_text()
    check(page, "resident-7-statement")
    assert _small_targets(page) == []
    _larger_text(page, base, [f"/r/shop/batches/{batch.qr_token}", f"/r/orders/{order.pk}"])
    assert failed == []  # no favicon (or anything else) answered 404


def _larger_text(page: Any, base: str, more: list[str]) -> None:
    """长辈版: one tap in the header makes every page's text larger, and it stays so; the
    tap targets stay 48 px and nothing runs off the side of a 390 px screen."""
    page.goto(f"{base}/r/")
    size = "() => getComputedStyle(document.body).fontSize"
    assert page.evaluate(size) == "20px"
    check(page, "resident-8-home-normal-text")

    page.get_by_role("button", name="长辈版（大字）").click()  # noqa: RUF001 - Chinese brackets
    page.wait_for_url("**/r/")
    assert page.evaluate(size) == "26px"
    check(page, "resident-9-home-larger-text")
    pages = ["/r/shop", *more, "/r/orders", "/r/parcels", "/r/points"]
    for n, path in enumerate(pages, start=10):
        name = f"{n}-{path.strip('/').replace('/', '-')[:30]}"
        page.goto(f"{base}{path}")
        assert page.evaluate(size) == "26px", path
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 390, (path, wide)
        assert _small_targets(page) == []
        check(page, f"resident-{name}-larger-text")
    page.get_by_role("button", name="标准字号").click()
    page.wait_for_url("**/r/points")
    assert page.evaluate(size) == "20px"


def test_mrs_wang_signs_in_with_wechat_once_with_her_phone_then_with_one_tap(
    site, phone_page, settings
):
    """Inside WeChat's browser (WeChat itself a local stand-in): the first time she taps
    "微信一键登录", proves her phone once, and is in; the next time one tap is enough."""
    from tests.wechat_standin import wechat_standin

    base = site["base"]
    with wechat_standin("wx0123456789abcdef", "official-account-secret") as wechat:
        settings.LINLI_WECHAT_APP_ID = wechat.app_id
        settings.LINLI_WECHAT_APP_SECRET = wechat.secret
        settings.LINLI_WECHAT_OAUTH_BASE = f"{wechat.base}connect/"
        settings.LINLI_WECHAT_API_BASE = wechat.base
        wechat.openid = "oWang0123456789abcdefghijk"
        browser = phone_page.context.browser
        for visit in ("first", "later"):
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                locale="zh-CN",
                user_agent=IN_WECHAT,
            )
            page = context.new_page()
            page.goto(f"{base}/r/sign-in?next=/r/points")
            check(page, f"wechat-{visit}-1-sign-in")
            assert _small_targets(page) == []
            page.get_by_role("link", name="微信一键登录").click()
            if visit == "first":
                # (a browser keeps WeChat's "#wechat_redirect" through the redirects)
                page.wait_for_url(lambda url: "/r/sign-in?next=/r/points" in url)
                assert "微信已认出您" in page.content()
                check(page, "wechat-first-2-prove-the-phone-once")
                page.fill("#phone", WANG_PHONE)
                page.locator("main button[type=submit]").click()
                page.locator("#code").wait_for()  # the code is sent once this step loads
                page.fill("#code", _code(site))
                page.locator("main button[type=submit]").click()
            page.wait_for_url(lambda url: url.split("#")[0].endswith("/r/points"))
            # signed in as her: a resident session cookie, and her own statement
            assert any(c["name"] == "linli_r" and c["value"] for c in context.cookies())
            assert page.locator("h1").inner_text().strip() != ""
            check(page, f"wechat-{visit}-3-signed-in")
            context.close()
        assert wechat.calls.count("/sns/oauth2/access_token") == 2
