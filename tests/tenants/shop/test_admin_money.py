"""Prices typed in yuan in the shop's admin, as on a price tag (they are stored in fen)."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants.shop.models import BatchItem, Product
from tests.conftest import ADMIN_PASSWORD, host_of


def _client(tenant, language: str = "en") -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    return client


def _product_form(estate, price: str) -> dict[str, str]:
    soy = estate["soy"]
    return {
        "shop": str(soy.shop_id),
        "supplier": "",
        "name": soy.name,
        "unit": soy.unit,
        "price_fen": price,
        "points_share": str(soy.points_share),
        "stock": str(soy.stock),
        "active": "on",
    }


def test_the_price_is_shown_and_typed_in_yuan(tenant, estate):
    client = _client(tenant)
    url = f"/admin/shop/product/{estate['soy'].pk}/change/"

    page = client.get(url).content.decode()
    assert 'name="price_fen" value="12.00"' in page
    assert "price (yuan)" in page and "(fen)" not in page

    saved = client.post(url, _product_form(estate, "13.5"))
    assert saved.status_code == 302
    assert Product.objects.get(pk=estate["soy"].pk).price_fen == 1350


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12.345", "no more than 2 decimal places"),
        ("-1", "greater than or equal to 0"),
        ("一块", "Enter a number"),
        ("99999999", "less than or equal to 21474836.47"),
    ],
)
def test_a_price_that_is_not_money_is_refused_and_nothing_changes(tenant, estate, typed, message):
    url = f"/admin/shop/product/{estate['soy'].pk}/change/"
    refused = _client(tenant).post(url, _product_form(estate, typed))

    assert refused.status_code == 200
    assert message in refused.content.decode()
    assert Product.objects.get(pk=estate["soy"].pk).price_fen == 1200


def test_the_price_label_is_chinese_on_a_chinese_page(tenant, estate):
    page = _client(tenant, "zh-hans").get(f"/admin/shop/product/{estate['soy'].pk}/change/")
    assert "价格（元）" in page.content.decode()  # noqa: RUF001 - Chinese brackets


def test_a_batch_item_price_is_typed_in_yuan_too(tenant, estate, batch):
    item = BatchItem.objects.filter(batch=batch).order_by("pk").first()
    page = _client(tenant).get(f"/admin/shop/preorderbatch/{batch.pk}/change/").content.decode()
    field = f'name="items-0-price_fen" value="{item.price_fen / 100:.2f}"'
    assert field in page


def test_saving_an_unchanged_price_records_no_change(tenant, estate):
    from django.contrib.admin.models import LogEntry

    url = f"/admin/shop/product/{estate['soy'].pk}/change/"
    saved = _client(tenant).post(url, _product_form(estate, "12.00"))

    assert saved.status_code == 302
    entry = LogEntry.objects.filter(object_id=str(estate["soy"].pk)).latest("action_time")
    assert "price" not in entry.get_change_message().lower()
    assert Product.objects.get(pk=estate["soy"].pk).price_fen == 1200
