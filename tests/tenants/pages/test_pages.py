"""Resident pages: sign-in by phone code (and its abuse limits), the pre-order story from the
batch's QR link to the pickup code, page weight, and one tenant's session never another's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.models import Tenant
from tenants.notices.models import Message
from tenants.pages import signin
from tenants.pages.models import ResidentSession, SignInCode
from tenants.shop.models import Order
from tests.conftest import host_of
from tests.tenants.shop.conftest import give_points, items

PHONE = "+8613812345678"


@pytest.fixture
def xu(estate):
    resident = estate["xu"]
    resident.phone = PHONE
    resident.save(update_fields=["phone"])
    return resident


def page_client(tenant: Tenant) -> Client:
    return Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")


def sign_in(client: Client, phone: str = PHONE) -> None:
    client.post("/r/sign-in", {"phone": "138 1234 5678"})
    code = Message.objects.filter(kind="pages.sign_in_code").order_by("-id")[0].data["code"]
    response = client.post("/r/sign-in", {"phone": phone, "code": code, "next": "/r/"})
    assert response.status_code == 302 and response["Location"] == "/r/"


def test_sign_in_with_the_code_sent_to_the_phone(in_shop_tenant, xu):
    client = page_client(in_shop_tenant)
    assert client.get("/r/")["Location"] == "/r/sign-in?next=/r/"
    asked = client.post("/r/sign-in", {"phone": "138 1234 5678"})
    assert asked.status_code == 200 and "We sent a code" in asked.content.decode()
    [message] = Message.objects.filter(kind="pages.sign_in_code")
    assert message.resident_id == xu.pk and message.data["code"] in message.body
    wrong = client.post("/r/sign-in", {"phone": PHONE, "code": "000000"})
    assert "That code is not right" in wrong.content.decode()
    signed = client.post("/r/sign-in", {"phone": PHONE, "code": message.data["code"]})
    assert signed.status_code == 302
    cookie = signed.cookies["linli_r"]
    assert cookie["httponly"] and cookie["max-age"] == 180 * 86400
    home = client.get("/r/")
    assert home.status_code == 200 and "徐大爺" in home.content.decode()
    # the same code does not work twice
    again = page_client(in_shop_tenant).post(
        "/r/sign-in", {"phone": PHONE, "code": message.data["code"]}
    )
    assert "expired" in again.content.decode()
    # signing out revokes the session for good
    client.post("/r/sign-out")
    assert ResidentSession.objects.get().revoked_at is not None
    client.cookies["linli_r"] = cookie.value
    assert client.get("/r/").status_code == 302


def test_code_guessing_is_locked_out(in_shop_tenant, xu):
    code = signin.code_request(phone=PHONE)
    for _ in range(signin.MAX_TRIES):
        with pytest.raises(Exception) as caught:
            signin.code_verify(phone=PHONE, code="999999" if code != "999999" else "111111")
        assert caught.value.code == "code_invalid"
    with pytest.raises(Exception) as caught:
        signin.code_verify(phone=PHONE, code=code)  # even the right one, now
    assert caught.value.code == "sign_in_locked"
    assert not ResidentSession.objects.exists()


def test_codes_expire(in_shop_tenant, xu):
    code = signin.code_request(phone=PHONE)
    SignInCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Exception) as caught:
        signin.code_verify(phone=PHONE, code=code)
    assert caught.value.code == "code_expired"


def test_one_phone_cannot_flood_sms(in_shop_tenant, xu):
    signin.code_request(phone=PHONE)
    with pytest.raises(Exception) as caught:
        signin.code_request(phone=PHONE)
    assert caught.value.code == "too_many_codes"
    # a minute apart, five an hour at most
    for minutes_ago in (10, 20, 30, 40):
        SignInCode.objects.filter(pk=SignInCode.objects.order_by("-id").first().pk).update(
            created_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
        signin.code_request(phone=PHONE)
    SignInCode.objects.filter(pk=SignInCode.objects.order_by("-id").first().pk).update(
        created_at=timezone.now() - timedelta(minutes=50)
    )
    with pytest.raises(Exception) as caught:
        signin.code_request(phone=PHONE)
    assert caught.value.code == "too_many_codes"
    assert Message.objects.filter(kind="pages.sign_in_code").count() == 5


def test_an_unknown_phone_gets_the_same_answer_and_no_message(in_shop_tenant, xu):
    response = page_client(in_shop_tenant).post("/r/sign-in", {"phone": "13900000000"})
    assert "We sent a code" in response.content.decode()
    assert not Message.objects.exists()
    bad = page_client(in_shop_tenant).post("/r/sign-in", {"phone": "12"})
    assert bad.status_code == 200 and "not a valid phone number" in bad.content.decode()


def test_the_pre_order_story_from_the_qr_link_to_the_pickup_code(in_shop_tenant, xu, batch):
    give_points(xu, 20)
    greens, eggs = items(batch)
    client = page_client(in_shop_tenant)
    link = f"/r/shop/batches/{batch.qr_token}"
    anonymous = client.get(link).content.decode()
    assert "大業村本週蔬菜" in anonymous and "Sign in to order" in anonymous
    sign_in(client)
    page = client.get(link).content.decode()
    assert "Place my order" in page and "¥3.00" in page and "20 left" in page
    slot = batch.slots.first().pk
    # more points than the share allows: a clear error, nothing ordered
    refused = client.post(link, {f"item_{greens.pk}": "2", "points": "9", "slot": slot})
    assert refused.status_code == 200 and "At most 3 points" in refused.content.decode()
    assert not Order.objects.exists()
    placed = client.post(
        link, {f"item_{greens.pk}": "2", f"item_{eggs.pk}": "1", "points": "8", "slot": slot}
    )
    order = Order.objects.get()
    assert placed["Location"] == f"/r/orders/{order.pk}"
    shown = client.get(placed["Location"]).content.decode()
    assert order.pickup_code in shown and "¥23.00" in shown
    assert (order.total_fen, order.points_used, order.money_due_fen) == (3100, 8, 2300)
    statement = client.get("/r/points").content.decode()
    assert "My points: 12" in statement and "<strong>-8</strong>" in statement
    home = client.get("/r/").content.decode()
    assert f"/r/orders/{order.pk}" in home


def test_pages_are_light_and_self_contained(in_shop_tenant, xu, batch):
    client = page_client(in_shop_tenant)
    sign_in(client)
    for path in ["/r/", "/r/shop", f"/r/shop/batches/{batch.qr_token}", "/r/orders",
                 "/r/parcels", "/r/points", "/r/sign-in"]:  # fmt: skip
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content
        assert len(body) < 100 * 1024, (path, len(body))
        assert b"http://" not in body.replace(b"http://testserver", b"") and b"https://" not in body


def test_a_session_and_a_batch_belong_to_one_tenant(
    tenant, other_tenant, in_shop_tenant, xu, batch
):
    client = page_client(tenant)
    sign_in(client)
    token = client.cookies["linli_r"].value
    beta = page_client(other_tenant)
    beta.cookies["linli_r"] = token
    assert beta.get("/r/").status_code == 302  # not signed in there
    with tenant_context(other_tenant):
        from linli.registry.services import module_set_enabled

        module_set_enabled(slug="beta", module="shop", enabled=True)
    assert page_client(other_tenant).get(f"/r/shop/batches/{batch.qr_token}").status_code == 404
    someone = client.get(f"/r/orders/{999_999}")
    assert someone.status_code == 404


def test_forms_refuse_a_post_without_the_csrf_token(in_shop_tenant, xu):
    strict = Client(HTTP_HOST=host_of(in_shop_tenant), enforce_csrf_checks=True)
    assert strict.post("/r/sign-in", {"phone": PHONE}).status_code == 403
    assert not SignInCode.objects.exists()


def test_the_larger_text_switch_is_kept_and_brings_you_back(in_shop_tenant, xu):
    client = page_client(in_shop_tenant)
    sign_in(client)
    before = client.get("/r/parcels").content.decode()
    assert '<html lang="en">' in before and 'value="large">Larger text</button>' in before

    switched = client.post("/r/text-size", {"size": "large", "next": "/r/parcels"})

    assert (switched.status_code, switched["Location"]) == (302, "/r/parcels")
    cookie = switched.cookies["linli_text"]
    assert (cookie.value, cookie["path"], cookie["httponly"]) == ("large", "/r/", True)
    for path in ("/r/parcels", "/r/", "/r/points"):
        page = client.get(path).content.decode()
        assert '<html lang="en" class="large">' in page, path
        assert 'value="normal">Normal text</button>' in page
    # and back to the normal size
    normal = client.post("/r/text-size", {"size": "normal", "next": "/r/"})
    assert normal.cookies["linli_text"].value == ""
    assert 'class="large"' not in client.get("/r/").content.decode()


def test_the_switch_is_there_before_signing_in_and_never_leaves_the_site(in_shop_tenant):
    client = page_client(in_shop_tenant)
    assert 'action="/r/text-size"' in client.get("/r/sign-in").content.decode()
    for target in ("https://evil.example/", "//evil.example/r/", "/admin/", "", "/r/\\x"):
        moved = client.post("/r/text-size", {"size": "large", "next": target})
        assert moved.status_code == 302
        assert moved["Location"] in ("/r/", "/r/%5Cx"), target
    assert client.get("/r/text-size").status_code == 405
    # anything but "large" is the normal size, never an error
    assert client.post("/r/text-size", {"size": "巨大" * 1000}).status_code == 302
