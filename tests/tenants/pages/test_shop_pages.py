"""The shop's resident pages as Mr Xu (70) uses them: an order error keeps everything he
entered, the total is shown before ordering, the pickup code is letters and a QR code, he
cancels before the cut-off (after being asked), and he sees his own estate's shop first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tenants.notices.models import Message
from tenants.shop.models import BatchItem, Order
from tenants.shop.services import catalogue
from tenants.shop.services.parcels import parcel_log
from tests.factories import EstateFactory
from tests.tenants.pages.test_pages import page_client, sign_in
from tests.tenants.shop.conftest import balance, give_points, items

PHONE = "+8613812345678"


@pytest.fixture
def xu(estate):
    resident = estate["xu"]
    resident.phone = PHONE
    resident.save(update_fields=["phone"])
    return resident


@pytest.fixture
def client(in_shop_tenant, xu):
    signed = page_client(in_shop_tenant)
    sign_in(signed)
    return signed


def _ordered(batch: Any) -> list[int]:
    return list(
        BatchItem.objects.filter(batch=batch).order_by("id").values_list("ordered", flat=True)
    )


def test_an_order_error_keeps_every_quantity_and_the_points(client, xu, batch):
    # given
    give_points(xu, 20)
    greens, eggs = items(batch)
    link = f"/r/shop/batches/{batch.qr_token}"
    slot = batch.slots.order_by("id")[1].pk
    # when: more points than this order allows
    refused = client.post(
        link, {f"item_{greens.pk}": "2", f"item_{eggs.pk}": "1", "points": "9", "slot": slot}
    )
    # then: the message, the boxes as he filled them, the points box marked, nothing taken
    page = refused.content.decode()
    assert refused.status_code == 200
    assert "At most 8 points can be used on this order." in page
    assert f'name="item_{greens.pk}" type="number" min="0" max="99" value="2"' in page
    assert f'name="item_{eggs.pk}" type="number" min="0" max="99" value="1"' in page
    assert (
        'name="points" type="number" min="0" value="9" inputmode="numeric" aria-invalid="true"'
        in page
    )
    assert page.count('aria-invalid="true"') == 1
    assert f'<option value="{slot}" selected>' in page
    assert "Total: ¥31.00" in page and "To pay at pickup: ¥23.00" in page
    assert not Order.objects.exists()
    assert _ordered(batch) == [0, 0] and balance(xu) == 20
    assert len(refused.content) < 10 * 1024


def test_the_service_refusing_marks_the_line_it_is_about(client, xu, batch):
    greens, eggs = items(batch)  # three greens per household
    link = f"/r/shop/batches/{batch.qr_token}"
    slot = batch.slots.first().pk
    refused = client.post(
        link, {f"item_{greens.pk}": "4", f"item_{eggs.pk}": "1", "points": "0", "slot": slot}
    )
    page = refused.content.decode()
    assert "Each household may order 3 of 青菜; you have 0." in page
    marked = f'name="item_{greens.pk}" type="number" min="0" max="99" value="4" inputmode="numeric"'
    assert f'{marked} aria-invalid="true"' in page
    assert 'value="1" inputmode="numeric">' in page  # the eggs: kept, not marked
    assert not Order.objects.exists() and _ordered(batch) == [0, 0]


def test_checking_the_total_orders_nothing(client, xu, batch):
    give_points(xu, 20)
    greens, eggs = items(batch)
    link = f"/r/shop/batches/{batch.qr_token}"
    checked = client.post(
        link,
        {f"item_{greens.pk}": "2", f"item_{eggs.pk}": "1", "points": "5", "action": "total",
         "slot": batch.slots.first().pk},
    )  # fmt: skip
    page = checked.content.decode()
    assert checked.status_code == 200 and "⚠" not in page
    assert "Total: ¥31.00" in page
    assert "You can use up to 8 points on this order." in page
    assert "Points used: 5" in page and "To pay at pickup: ¥26.00" in page
    assert 'value="5" inputmode="numeric">' in page
    assert not Order.objects.exists() and _ordered(batch) == [0, 0] and balance(xu) == 20


def test_a_box_that_is_not_a_number_is_marked(client, xu, batch):
    greens, eggs = items(batch)
    link = f"/r/shop/batches/{batch.qr_token}"
    refused = client.post(link, {f"item_{greens.pk}": "two", f"item_{eggs.pk}": "1", "points": "0"})
    page = refused.content.decode()
    assert "How many: enter a whole number, like 2." in page
    assert 'value="two" inputmode="numeric" aria-invalid="true"' in page
    assert not Order.objects.exists()


def _place(client: Any, batch: Any, points: int = 3) -> Order:
    greens, _eggs = items(batch)
    client.post(
        f"/r/shop/batches/{batch.qr_token}",
        {f"item_{greens.pk}": "2", "points": str(points), "slot": batch.slots.first().pk},
    )
    return Order.objects.get()


def test_the_order_page_shows_the_code_as_letters_and_qr_and_offers_to_cancel(client, xu, batch):
    give_points(xu, 10)
    order = _place(client, batch)
    response = client.get(f"/r/orders/{order.pk}")
    page = response.content.decode()
    assert f'<p class="code" aria-label="Pickup code">{order.pickup_code}</p>' in page
    assert '<div class="qr" role="img" aria-label="Pickup code as a QR code"><svg' in page
    assert f'href="/r/orders/{order.pk}/cancel"' in page and "You can cancel until" in page
    assert len(response.content) < 10 * 1024


def test_cancelling_asks_first_then_restores_stock_and_points_once(client, xu, batch):
    give_points(xu, 10)
    order = _place(client, batch, points=3)
    assert balance(xu) == 7 and _ordered(batch) == [2, 0]
    asked = client.get(f"/r/orders/{order.pk}/cancel")
    page = asked.content.decode()
    assert (
        asked.status_code == 200
        and "Cancel order" in page
        and "Your 3 points come back to you." in page
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED and balance(xu) == 7  # asking changed nothing
    done = client.post(f"/r/orders/{order.pk}/cancel")
    assert done.status_code == 302 and done["Location"] == f"/r/orders/{order.pk}"
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert balance(xu) == 10 and _ordered(batch) == [0, 0]
    again = client.post(f"/r/orders/{order.pk}/cancel")
    assert again.status_code == 302 and balance(xu) == 10 and _ordered(batch) == [0, 0]
    shown = client.get(f"/r/orders/{order.pk}").content.decode()
    assert order.pickup_code not in shown and "<svg" not in shown and "/cancel" not in shown


def test_after_the_cut_off_the_order_is_not_cancelled(client, xu, batch):
    order = _place(client, batch, points=0)
    type(batch).objects.filter(pk=batch.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    assert "/cancel" not in client.get(f"/r/orders/{order.pk}").content.decode()
    refused = client.post(f"/r/orders/{order.pk}/cancel")
    assert refused.status_code == 409
    page = refused.content.decode()
    assert "Orders for this batch have closed." in page  # the service's word
    assert "This order can no longer be cancelled here; ask the shop." in page
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED and _ordered(batch) == [2, 0]


def test_someone_elses_order_is_not_found_to_cancel(in_shop_tenant, xu, estate, batch, client):
    order = _place(client, batch, points=0)
    neighbour = estate["neighbour"]
    neighbour.phone = "+8613812345679"
    neighbour.save(update_fields=["phone"])
    other = page_client(in_shop_tenant)
    other.post("/r/sign-in", {"phone": "+8613812345679"})
    code = Message.objects.filter(resident=neighbour).latest("id").data["code"]
    assert other.post("/r/sign-in", {"phone": "+8613812345679", "code": code}).status_code == 302
    assert other.post(f"/r/orders/{order.pk}/cancel").status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED


def test_my_estate_shop_first_others_on_request(client, xu, estate, batch):
    elsewhere = EstateFactory(name="學府小區")
    other_shop = catalogue.shop_create(estate_id=elsewhere.pk, name="學府小店", zones=["preorders"])
    kale = catalogue.product_create(shop_id=other_shop.pk, name="芥蘭", unit="斤", price_fen=400)
    now = timezone.now()
    catalogue.batch_create(
        shop_id=other_shop.pk,
        supplier_id=estate["coop"].pk,
        title="學府本週蔬菜",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
        pickup_on=timezone.localdate() + timedelta(days=2),
        items=[catalogue.ItemSpec(product_id=kale.pk)],
    )
    mine = client.get("/r/shop").content.decode()
    assert mine.count('class="card"') == 1 and "萬象公館鄰家小店" in mine and "學府小店" not in mine
    assert 'href="/r/shop?shops=other"' in mine
    others = client.get("/r/shop?shops=other").content.decode()
    assert (
        others.count('class="card"') == 1
        and "學府小店" in others
        and "萬象公館鄰家小店" not in others
    )
    assert 'href="/r/shop"' in others


def test_dates_carry_the_weekday_and_do_not_wrap(client, batch):
    page = client.get("/r/shop").content.decode()
    day = batch.pickup_on
    weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][day.weekday()]
    assert f'<span class="d">{day:%m-%d}&nbsp;{weekday}</span>' in page


def test_parcels_show_shelf_arrival_and_return_deadline(client, xu, estate):
    parcel = parcel_log(
        shop_id=estate["shop"].pk,
        carrier="顺丰",
        tracking_number="SF1",
        household_id=xu.household_id,
        shelf="B-3",
    )
    response = client.get("/r/parcels")
    page = response.content.decode()
    arrived = timezone.localtime(parcel.arrived_at).date()
    back = arrived + timedelta(days=14)
    assert "Shelf: <strong>B-3</strong>" in page
    assert f'Arrived: <span class="d">{arrived:%m-%d}' in page
    assert f'Collect by <span class="d">{back:%m-%d}' in page
    assert len(response.content) < 10 * 1024


def test_a_waiting_parcel_shows_its_pickup_code_as_a_qr_code(client, xu, estate):
    import re

    first = parcel_log(
        shop_id=estate["shop"].pk,
        carrier="顺丰",
        tracking_number="SF2",
        household_id=xu.household_id,
    )
    second = parcel_log(
        shop_id=estate["shop"].pk,
        carrier="圆通",
        tracking_number="YT2",
        household_id=xu.household_id,
    )
    response = client.get("/r/parcels")
    page = response.content.decode()

    # one QR per parcel, each after its own letters, with words for a screen reader
    qrs = re.findall(
        r'<p class="code"[^>]*>(\w+)</p>\s*<div class="qr" role="img" aria-label="([^"]+)"><svg',
        page,
    )
    assert sorted(code for code, _label in qrs) == sorted([first.pickup_code, second.pickup_code])
    assert {label for _code, label in qrs} == {"Pickup code as a QR code"}
    assert len(response.content) < 10 * 1024


def test_a_product_photo_shows_on_the_batch_page_phone_sized_and_lazily(
    client, xu, estate, batch, settings, tmp_path
):
    import io

    from PIL import Image

    from tenants.shop.services.catalogue import product_photo_set

    settings.MEDIA_ROOT = tmp_path
    camera = io.BytesIO()
    scene = Image.effect_mandelbrot((3000, 2000), (-2.0, -1.2, 1.0, 1.2), 100)
    scene.convert("RGB").save(camera, "JPEG", quality=95)
    product_photo_set(product_id=estate["greens"].pk, content=camera.getvalue())
    estate["greens"].refresh_from_db()
    url = estate["greens"].photo.url

    response = client.get(f"/r/shop/batches/{batch.qr_token}")

    page = response.content.decode()
    tag = f'<img class="thumb" src="{url}" alt="" width="720" height="540" loading="lazy"'
    assert tag in page and page.count('<img class="thumb"') == 1  # the eggs have none
    assert len(response.content) < 10 * 1024
    served = client.get(url)
    photo = b"".join(served.streaming_content)
    assert served.status_code == 200 and len(photo) < 100 * 1024
    with Image.open(io.BytesIO(photo)) as kept:
        assert kept.size == (720, 480)
