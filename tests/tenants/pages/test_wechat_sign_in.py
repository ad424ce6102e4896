"""Signing in inside WeChat: the first time WeChat's web authorisation names the user and
the resident proves their phone once; after that one tap signs them in. WeChat itself is a
local stand-in serving its documented answers (tests/wechat_standin.py)."""

from __future__ import annotations

import http.client
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.notices.models import Message
from tenants.pages.models import ResidentSession, WeChatBinding
from tests.conftest import host_of
from tests.wechat_standin import WeChat, wechat_standin

APP_ID, SECRET = "wx0123456789abcdef", "s3cret-of-the-official-account"
OPENID = "oQx9a1b2c3d4e5f6g7h8i9j0kLmN"
PHONE = "+8613812345678"
IN_WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)
SIGN_IN_WITH_WECHAT = "Sign in with WeChat"


@pytest.fixture
def wechat(settings) -> Iterator[WeChat]:
    with wechat_standin(APP_ID, SECRET) as stand_in:
        settings.LINLI_WECHAT_APP_ID, settings.LINLI_WECHAT_APP_SECRET = APP_ID, SECRET
        settings.LINLI_WECHAT_OAUTH_BASE = f"{stand_in.base}connect/"
        settings.LINLI_WECHAT_API_BASE = stand_in.base
        stand_in.openid = OPENID
        yield stand_in


@pytest.fixture
def xu(estate):
    resident = estate["xu"]
    resident.phone = PHONE
    resident.save(update_fields=["phone"])
    return resident


def phone_in_wechat(tenant: Any) -> Client:
    return Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en", HTTP_USER_AGENT=IN_WECHAT)


def _authorise(wechat: WeChat, location: str) -> str:
    """What WeChat's browser does with the authorize address: WeChat answers with a
    redirect back to Linli; the path and query of that address."""
    url = urlsplit(location)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=5)
    connection.request("GET", f"{url.path}?{url.query}")
    answer = connection.getresponse()
    assert answer.status == 302, answer.read()[:200]
    back = urlsplit(answer.getheader("Location", ""))
    connection.close()
    return f"{back.path}?{back.query}"


def _tap_wechat(client: Client, wechat: WeChat, next_path: str = "/r/points") -> Any:
    started = client.get(f"/r/wechat?next={next_path}")
    assert started.status_code == 302
    return client.get(_authorise(wechat, started["Location"]))


def _prove_phone(client: Client) -> Any:
    client.post("/r/sign-in", {"phone": PHONE})
    code = Message.objects.filter(kind="pages.sign_in_code").order_by("-id")[0].data["code"]
    return client.post("/r/sign-in", {"phone": PHONE, "code": code, "next": "/r/points"})


def test_the_first_time_the_phone_is_proved_once_then_one_tap_signs_in(in_shop_tenant, xu, wechat):
    client = phone_in_wechat(in_shop_tenant)
    page = client.get("/r/sign-in?next=/r/points").content.decode()
    assert SIGN_IN_WITH_WECHAT in page and 'href="/r/wechat?next=/r/points"' in page

    # off to WeChat: our app, the way back, only the openid asked for, a state
    started = client.get("/r/wechat?next=/r/points")
    assert started.status_code == 302
    sent = urlsplit(started["Location"])
    asked = {k: v[0] for k, v in parse_qs(sent.query).items()}
    assert sent.path == "/connect/oauth2/authorize" and sent.fragment == "wechat_redirect"
    assert asked["appid"] == APP_ID and asked["scope"] == "snsapi_base"
    assert asked["redirect_uri"] == "http://alpha.localhost/r/wechat/back"
    assert len(asked["state"]) >= 16
    # back from WeChat the first time: WeChat knows them, Linli does not yet
    first = client.get(_authorise(wechat, started["Location"]))
    assert (first.status_code, first["Location"]) == (302, "/r/sign-in?next=/r/points")
    assert "linli_r" not in first.cookies or not first.cookies["linli_r"].value
    assert "WeChat knows you now" in client.get(first["Location"]).content.decode()
    assert not WeChatBinding.objects.exists()
    # the phone proved once: signed in, and WeChat tied to Mr Xu
    proved = _prove_phone(client)
    assert (proved.status_code, proved["Location"]) == (302, "/r/points")
    [binding] = WeChatBinding.objects.all()
    assert binding.resident_id == xu.pk and binding.openid_digest != OPENID

    # another day, a new browser session inside WeChat: one tap, no code
    later = phone_in_wechat(in_shop_tenant)
    sessions = ResidentSession.objects.count()
    messages = Message.objects.filter(kind="pages.sign_in_code").count()
    tapped = _tap_wechat(later, wechat)
    assert (tapped.status_code, tapped["Location"]) == (302, "/r/points")
    assert later.get("/r/points").status_code == 200
    assert ResidentSession.objects.count() == sessions + 1
    assert Message.objects.filter(kind="pages.sign_in_code").count() == messages  # no SMS
    binding.refresh_from_db()
    assert binding.last_used_at is not None


def test_a_callback_without_this_browsers_state_signs_no_one_in(in_shop_tenant, xu, wechat):
    owner = phone_in_wechat(in_shop_tenant)
    _tap_wechat(owner, wechat)
    _prove_phone(owner)
    # an attacker gets a victim to open a callback the attacker started: refused
    attacker = phone_in_wechat(in_shop_tenant)
    started = attacker.get("/r/wechat?next=/r/")
    back = _authorise(wechat, started["Location"])
    victim = phone_in_wechat(in_shop_tenant)
    refused = victim.get(back)
    assert refused.status_code == 400
    assert "This sign-in took too long" in refused.content.decode()
    assert victim.get("/r/").status_code == 302  # still signed out
    # a state that is not the one sent, with the right cookie
    tampered = back.replace("state=", "state=x")
    assert attacker.get(tampered).status_code == 400


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        ("invalid", "WeChat did not confirm the sign-in"),
        ("expired", "WeChat did not confirm the sign-in"),
        ("declined", "WeChat sign-in was not allowed"),
        ("secret", "WeChat did not confirm the sign-in"),
    ],
)
def test_wechats_refusals_end_on_the_sign_in_page_not_an_error(
    in_shop_tenant, xu, wechat, settings, spoil, message
):
    client = phone_in_wechat(in_shop_tenant)
    started = client.get("/r/wechat?next=/r/")
    if spoil == "declined":
        wechat.declines = True
    back = _authorise(wechat, started["Location"])
    if spoil == "invalid":
        back = back.replace("code=", "code=not-", 1)
    elif spoil == "expired":
        wechat.expire_codes()
    elif spoil == "secret":
        settings.LINLI_WECHAT_APP_SECRET = "a-rotated-secret"

    refused = client.get(back)

    assert refused.status_code == 400
    page = refused.content.decode()
    assert message in page and 'id="phone"' in page  # the phone box is right there
    assert not WeChatBinding.objects.exists() and not ResidentSession.objects.exists()


def test_a_code_is_good_once(in_shop_tenant, xu, wechat):
    client = phone_in_wechat(in_shop_tenant)
    _tap_wechat(client, wechat)
    _prove_phone(client)
    started = client.get("/r/wechat?next=/r/")
    back = _authorise(wechat, started["Location"])
    assert client.get(back).status_code == 302
    # the same callback again (its state is spent too)
    assert client.get(back).status_code == 400


def test_the_openid_is_never_shown_logged_or_kept(in_shop_tenant, xu, wechat, caplog):
    caplog.set_level(logging.DEBUG)
    client = phone_in_wechat(in_shop_tenant)
    first = _tap_wechat(client, wechat)
    proved = _prove_phone(client)
    later = _tap_wechat(phone_in_wechat(in_shop_tenant), wechat)
    import base64

    for response in (first, proved, later):
        assert OPENID.encode() not in response.content
        for morsel in response.cookies.values():  # not even base64-encoded in a cookie
            readable = morsel.value + base64.urlsafe_b64decode(
                morsel.value.split(":")[0] + "==="
            ).decode("latin-1")
            assert OPENID not in readable
    assert OPENID not in caplog.text
    assert not WeChatBinding.objects.filter(openid_digest__contains=OPENID).exists()


def test_a_binding_in_one_district_signs_no_one_in_in_another(
    in_shop_tenant, other_tenant, xu, wechat
):
    alpha = phone_in_wechat(in_shop_tenant)
    _tap_wechat(alpha, wechat)
    _prove_phone(alpha)
    beta = phone_in_wechat(other_tenant)
    with tenant_context(other_tenant):
        arrived = _tap_wechat(beta, wechat, "/r/")
        assert arrived.status_code == 302 and arrived["Location"].startswith("/r/sign-in")
        assert not WeChatBinding.objects.exists()
        assert not ResidentSession.objects.exists()


def test_a_resident_who_moved_out_is_not_signed_in_by_wechat(in_shop_tenant, xu, wechat):
    from datetime import date

    client = phone_in_wechat(in_shop_tenant)
    _tap_wechat(client, wechat)
    _prove_phone(client)
    xu.status, xu.moved_out_on = "moved_out", date(2026, 11, 30)
    xu.save(update_fields=["status", "moved_out_on"])

    tapped = _tap_wechat(phone_in_wechat(in_shop_tenant), wechat)

    assert tapped["Location"].startswith("/r/sign-in")


def test_no_wechat_button_outside_wechat_or_without_an_official_account(
    in_shop_tenant, xu, settings
):
    browser = Client(HTTP_HOST=host_of(in_shop_tenant), HTTP_ACCEPT_LANGUAGE="en")
    settings.LINLI_WECHAT_APP_ID, settings.LINLI_WECHAT_APP_SECRET = APP_ID, SECRET
    assert SIGN_IN_WITH_WECHAT not in browser.get("/r/sign-in").content.decode()
    settings.LINLI_WECHAT_APP_ID = ""
    in_wechat = phone_in_wechat(in_shop_tenant)
    assert SIGN_IN_WITH_WECHAT not in in_wechat.get("/r/sign-in").content.decode()
    assert in_wechat.get("/r/wechat").status_code == 404
    assert in_wechat.get("/r/wechat/back?code=x&state=y").status_code == 404
    assert in_wechat.post("/r/wechat").status_code == 405
