"""Photos uploaded in a tenant's admin pass the API's check and get a random name; the
file a row stops naming (replaced, cleared, deleted with its row) goes once that commits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from linli.registry.services import module_set_enabled
from tenants.deliberation.models import Topic
from tenants.deliberation.services import topic_photo_add, topic_raise
from tenants.shop.models import Product
from tenants.shop.services import catalogue
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import EstateFactory, ResidentFactory
from tests.photos import jpeg, png


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def product(tenant, in_tenant, media) -> Product:
    module_set_enabled(slug="alpha", module="shop", enabled=True)
    estate: Any = EstateFactory()
    shop = catalogue.shop_create(estate_id=estate.pk, name="鄰里小店", zones=["daily_goods"])
    return catalogue.product_create(shop_id=shop.pk, name="荔枝", unit="斤", price_fen=900)


@pytest.fixture
def admin(tenant, in_tenant) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    return client


def change(admin: Client, product: Product, **fields):
    form = {
        "shop": product.shop_id,
        "name": product.name,
        "unit": product.unit,
        "price_fen": product.price_fen,
        "points_share": product.points_share,
        "active": "on",
        **fields,
    }
    return admin.post(f"/admin/shop/product/{product.pk}/change/", form)


def files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file())


def test_a_page_under_a_photos_name_is_refused(admin, product, media):
    fake = SimpleUploadedFile("lychee.png", b"\x89PNG\r\n\x1a\n<script>alert(1)</script>")
    response = change(admin, product, photo=fake)
    assert response.status_code == 200  # the form again, with the error
    assert "Send a JPEG or PNG photo." in response.content.decode()
    assert files(media) == []
    product.refresh_from_db()
    assert product.photo.name == ""


def test_a_photo_is_kept_under_a_random_name_and_the_replaced_one_deleted(
    admin, product, media, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        first = change(admin, product, photo=SimpleUploadedFile("荔枝.png", png()))
    assert first.status_code == 302, first.content[:500]
    [kept] = files(media)
    assert kept.parent == media / "alpha" / "shop" / "products"
    assert kept.name.startswith("photo-") and kept.suffix == ".jpg"  # kept phone-sized
    # when: another photo
    with django_capture_on_commit_callbacks(execute=True):
        second = change(admin, product, photo=SimpleUploadedFile("荔枝.png", jpeg()))
    # then
    assert second.status_code == 302
    [replacement] = files(media)
    assert replacement != kept and replacement.suffix == ".jpg"
    # when: the photo is cleared
    with django_capture_on_commit_callbacks(execute=True):
        change(admin, product, **{"photo-clear": "on"})
    # then
    assert files(media) == []
    product.refresh_from_db()
    assert product.photo.name == ""


def test_a_product_deleted_in_the_admin_takes_its_photo(
    admin, product, media, django_capture_on_commit_callbacks
):
    catalogue.product_photo_set(product_id=product.pk, content=png())
    assert len(files(media)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/admin/shop/product/{product.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Product.objects.exists()
    assert files(media) == []


def test_topics_deleted_in_the_admin_take_their_photos(
    admin, in_tenant, media, django_capture_on_commit_callbacks
):
    module_set_enabled(slug="alpha", module="deliberation", enabled=True)
    resident = ResidentFactory()
    topic = topic_raise(
        raised_by_id=resident.pk,
        title="樓道燈不亮",
        description="三樓樓道燈壞了一週",
        category="facilities",
        scope="building",
        place_id=resident.household.unit.building_id,
    )
    for kind in ("problem", "after"):
        topic_photo_add(topic_id=topic.pk, kind=kind, content=png())
    assert len(files(media)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/admin/deliberation/topic/",
            {"action": "delete_selected", "_selected_action": [topic.pk], "post": "yes"},
        )
    assert response.status_code == 302
    assert not Topic.objects.exists()
    assert files(media) == []
