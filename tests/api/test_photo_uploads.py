"""Photos through the API: an oversize upload is refused by its declared length before it
is read, a photo must decode, the URL the API answers with serves the photo on the
tenant's own host only, and a replaced photo's file goes once the change commits."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context
from PIL import Image

from linli.registry.services import module_set_enabled
from linli.uploads import MAX_UPLOAD_BODY_BYTES, PHOTO_NOT_AN_IMAGE
from tenants.deliberation.models import TopicPhoto
from tenants.deliberation.services import topic_raise
from tenants.helpteam.models import HelpRequest, Volunteer
from tenants.helpteam.services import request_claim, request_create
from tenants.shop.models import Product
from tenants.shop.services import catalogue
from tests.factories import ResidentFactory
from tests.photos import jpeg, noise_png, png

PROBLEM = "application/problem+json"
PNG_AND_HTML = b"\x89PNG\r\n\x1a\n<html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def things(tenant, media):
    """A product, a claimed help request and a topic of alpha's."""
    for module in ("shop", "helpteam", "deliberation"):
        module_set_enabled(slug="alpha", module=module, enabled=True)
    with tenant_context(tenant):
        requester, helper = ResidentFactory(), ResidentFactory()
        estate = requester.household.unit.building.estate
        shop = catalogue.shop_create(estate_id=estate.pk, name="鄰里小店", zones=["daily_goods"])
        product = catalogue.product_create(shop_id=shop.pk, name="荔枝", unit="斤", price_fen=900)
        supplier = catalogue.supplier_create(name="大業村合作社", kind="cooperative")
        batch = catalogue.batch_create(
            shop_id=shop.pk,
            supplier_id=supplier.pk,
            title="荔枝季",
            opens_at=timezone.now() - timedelta(hours=1),
            closes_at=timezone.now() + timedelta(days=1),
            pickup_on=timezone.localdate() + timedelta(days=2),
            items=[catalogue.ItemSpec(product_id=product.pk)],
        )
        Volunteer.objects.create(resident=helper)
        start = timezone.now() + timedelta(hours=5)
        help_request = request_create(
            requester_id=requester.pk,
            category="plumbing",
            description="漏水",
            window_start=start,
            window_end=start + timedelta(hours=2),
        )
        request_claim(request_id=help_request.pk, volunteer_resident_id=helper.pk)
        topic = topic_raise(
            raised_by_id=requester.pk,
            title="樓道燈不亮",
            description="三樓樓道燈壞了一週",
            category="facilities",
            scope="building",
            place_id=requester.household.unit.building_id,
        )
    return {
        "product": product,
        "request": help_request,
        "helper": helper,
        "topic": topic,
        "batch": batch,
    }


def uploads(things) -> list[tuple[str, dict]]:
    """Every photo endpoint, with the form fields it needs besides the photo."""
    return [
        (f"/api/v1/shop/products/{things['product'].pk}/photo", {}),
        (
            f"/api/v1/helpteam/requests/{things['request'].pk}/evidence",
            {"volunteer_resident_id": things["helper"].pk},
        ),
        (f"/api/v1/deliberation/topics/{things['topic'].pk}/photos", {"kind": "problem"}),
        (f"/api/v1/shop/batches/{things['batch'].pk}/photo", {}),
    ]


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file())


def assert_problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == code


@pytest.mark.parametrize("endpoint", [0, 1, 2, 3], ids=["product", "evidence", "topic", "batch"])
@pytest.mark.parametrize("idempotency", [{}, {"HTTP_IDEMPOTENCY_KEY": "big-1"}], ids=["", "key"])
def test_an_upload_declaring_more_than_the_limit_is_413_and_never_read(
    api, things, media, endpoint, idempotency
):
    # given: a 60 MB Content-Length over a 10-byte body; the test client's input stream
    # raises if anything reads past those 10 bytes, so a 413 here means nothing read it
    path, _fields = uploads(things)[endpoint]
    # when
    response = api.generic(
        "POST",
        path,
        b"--x\r\n\r\n..",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(60 * 1024 * 1024),
        **idempotency,
    )
    # then
    assert_problem(response, 413, "payload_too_large")
    assert stored_files(media) == []


def test_one_byte_over_the_limit_is_refused_and_the_limit_itself_is_read(api, things, media):
    path, _fields = uploads(things)[0]
    over = api.generic(
        "POST",
        path,
        b"--x--\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(MAX_UPLOAD_BODY_BYTES + 1),
    )
    assert_problem(over, 413, "payload_too_large")
    with pytest.raises(AssertionError, match="Cannot read more than the available bytes"):
        # at the limit the body is read (and this stream has less than it claims)
        api.generic(
            "POST",
            path,
            b"--x--\r\n",
            content_type="multipart/form-data; boundary=x",
            CONTENT_LENGTH=str(MAX_UPLOAD_BODY_BYTES),
        )


@pytest.mark.parametrize("endpoint", [0, 1, 2, 3], ids=["product", "evidence", "topic", "batch"])
def test_a_png_signature_followed_by_html_is_refused(api, things, media, endpoint):
    path, fields = uploads(things)[endpoint]
    photo = SimpleUploadedFile("cat.png", PNG_AND_HTML, "image/png")
    response = api.post(path, {"photo": photo, **fields}, HTTP_ACCEPT_LANGUAGE="en")
    assert_problem(response, 422, "file_type_invalid")
    assert response.json()["errors"] == [
        {"pointer": "/body/photo", "message": str(PHOTO_NOT_AN_IMAGE)}
    ]
    assert stored_files(media) == []


def test_a_product_photo_is_kept_phone_sized_and_served_on_this_tenants_host_only(
    api, things, media, tenant_client, other_client
):
    # given
    content = png((16, 9))
    path, _fields = uploads(things)[0]
    # when
    response = api.post(path, {"photo": SimpleUploadedFile("lychee.png", content, "image/png")})
    # then: kept as a JPEG for phones (the size it had: it is smaller than a phone's)
    assert response.status_code == 200, response.content
    url = response.json()["photo_url"]
    assert url.startswith("/media/alpha/shop/products/product-") and url.endswith(".jpg")
    served = tenant_client.get(url)
    assert served.status_code == 200
    with Image.open(io.BytesIO(b"".join(served.streaming_content))) as kept:
        assert (kept.format, kept.size) == ("JPEG", (16, 9))
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert other_client.get(url).status_code == 404


def test_a_topic_photos_url_serves_it(api, things, media, tenant_client, other_client):
    content = jpeg((12, 12))
    path, fields = uploads(things)[2]
    response = api.post(path, {"photo": SimpleUploadedFile("l.jpg", content), **fields})
    assert response.status_code == 200, response.content
    [photo] = response.json()["photos"]
    served = tenant_client.get(photo["url"])
    assert (served.status_code, served["Content-Type"]) == (200, "image/jpeg")
    assert b"".join(served.streaming_content) == content
    assert other_client.get(photo["url"]).status_code == 404


def test_a_photo_of_3_mb_with_an_idempotency_key_is_accepted(api, things, media):
    """The idempotency fingerprint reads the body whole: Django's default limit for that
    (2.5 MB) refused a photo the API takes."""
    content = noise_png((1000, 1000))
    assert 2.5 * 1024 * 1024 < len(content) < 5 * 1024 * 1024
    path, _fields = uploads(things)[0]
    response = api.post(
        path,
        {"photo": SimpleUploadedFile("big.png", content, "image/png")},
        HTTP_IDEMPOTENCY_KEY="photo-1",
    )
    assert response.status_code == 200, response.content[:300]
    [kept] = stored_files(media)
    with Image.open(kept) as photo:  # a product photo is kept phone-sized
        assert (photo.format, photo.size) == ("JPEG", (720, 720))


def test_a_replaced_product_photo_is_deleted_once_the_change_commits(
    api, things, media, tenant, django_capture_on_commit_callbacks
):
    # given
    path, _fields = uploads(things)[0]
    with django_capture_on_commit_callbacks(execute=True):
        api.post(path, {"photo": SimpleUploadedFile("a.png", png(), "image/png")})
    [first] = stored_files(media)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(path, {"photo": SimpleUploadedFile("b.jpg", jpeg(), "image/jpeg")})
    # then
    assert response.status_code == 200
    [second] = stored_files(media)
    assert second != first and second.suffix == ".jpg"
    with tenant_context(tenant):
        assert media / "alpha" / Product.objects.get().photo.name == second


def test_a_replaced_photo_stays_when_the_replacing_change_rolls_back(
    things, media, tenant, django_capture_on_commit_callbacks
):
    product = things["product"]
    with tenant_context(tenant):
        with django_capture_on_commit_callbacks(execute=True):
            catalogue.product_photo_set(product_id=product.pk, content=png())
        [first] = stored_files(media)
        # when: the replacement fails after the new photo is saved
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            catalogue.product_photo_set(product_id=product.pk, content=jpeg())
            raise RuntimeError("the change failed")
        # then: the row still names the first photo, and it is there
        assert media / "alpha" / Product.objects.get().photo.name == first
        assert first.exists()


def test_replaced_help_evidence_is_deleted_once_the_change_commits(
    api, things, media, tenant, django_capture_on_commit_callbacks
):
    path, fields = uploads(things)[1]
    for content in (png(), jpeg()):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(path, {"photo": SimpleUploadedFile("w", content), **fields})
        assert response.status_code == 200, response.content
    [kept] = stored_files(media)
    assert kept.suffix == ".jpg"
    with tenant_context(tenant):
        assert media / "alpha" / HelpRequest.objects.get().evidence.name == kept


def test_topic_photos_are_added_not_replaced(api, things, media, tenant):
    path, fields = uploads(things)[2]
    for content in (png(), jpeg()):
        api.post(path, {"photo": SimpleUploadedFile("t", content), **fields})
    assert len(stored_files(media)) == 2
    with tenant_context(tenant):
        assert TopicPhoto.objects.count() == 2


def test_a_batch_photo_is_kept_phone_sized_and_shown_on_its_page(api, things, media, tenant_client):
    from PIL import Image as PILImage

    camera = io.BytesIO()
    PILImage.effect_mandelbrot((2000, 1500), (-2.0, -1.2, 1.0, 1.2), 60).convert("RGB").save(
        camera, "JPEG", quality=95
    )
    batch = things["batch"]
    response = api.post(
        f"/api/v1/shop/batches/{batch.pk}/photo",
        {"photo": SimpleUploadedFile("harvest.jpg", camera.getvalue(), "image/jpeg")},
    )
    assert response.status_code == 200, response.content[:300]
    url = response.json()["photo_url"]
    assert url.startswith("/media/alpha/shop/batches/batch-") and url.endswith(".jpg")
    [kept] = stored_files(media)
    with Image.open(kept) as photo:
        assert (photo.format, photo.size) == ("JPEG", (720, 540))
    assert api.get(f"/api/v1/shop/batches/{batch.pk}").json()["photo_url"] == url
    page = tenant_client.get(f"/r/shop/batches/{batch.qr_token}").content.decode()
    assert f'<img class="thumb" src="{url}"' in page


def test_another_districts_key_cannot_set_a_batch_photo(other_api, things, media):
    module_set_enabled(slug="beta", module="shop", enabled=True)
    response = other_api.post(
        f"/api/v1/shop/batches/{things['batch'].pk}/photo",
        {"photo": SimpleUploadedFile("x.png", png(), "image/png")},
    )
    assert_problem(response, 404, "batch_not_found")
    assert stored_files(media) == []
