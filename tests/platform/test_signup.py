"""A district signs up on the platform host, verifies its email and lands in its own admin;
every bad input is refused clearly and nothing is half-provisioned."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.accounts.models import Signup
from linli.accounts.services import signup_start
from linli.errors import LinliError
from linli.registry.models import Tenant
from linli.registry.validators import SLUG_ENDS_WITH_UNDERSCORE, SLUG_IDNA_FORM, SLUG_PUNYCODE

FORM = {
    "district_name": "岑溪市糯垌鎮",
    "slug": "nuodong",
    "region": "廣西 梧州",
    "locale": "zh-hans",
    "time_zone": "Asia/Shanghai",
    "admin_name": "黃主任",
    "email": "huang@nuodong.example",
    "password": "Neighbours-help-2026",
    "modules": ["helpteam", "points"],
}


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    return mail.outbox


def test_sign_up_verify_and_land_in_the_new_admin(db, mailbox, django_capture_on_commit_callbacks):
    platform = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    assert "Sign up your district" in platform.get("/signup").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        sent = platform.post("/signup", FORM)
    assert "Check your email" in sent.content.decode()
    assert not Tenant.objects.filter(schema_name="nuodong").exists()  # nothing before verifying
    [message] = mailbox
    assert message.to == ["huang@nuodong.example"]
    link = re.search(r"http://localhost/signup/verify/\S+", message.body).group(0)
    landed = platform.get(link.replace("http://localhost", ""))
    assert landed.status_code == 302
    assert landed["Location"].startswith("http://nuodong.localhost/signup/welcome/")
    tenant = Tenant.objects.get(schema_name="nuodong")
    assert (tenant.name, tenant.status, tenant.locale) == ("岑溪市糯垌鎮", "trial", "zh-hans")
    assert sorted(tenant.enabled_modules) == ["community", "helpteam", "points"]
    # on the tenant's host: logged in once, into the admin
    admin = Client(HTTP_HOST="nuodong.localhost", HTTP_ACCEPT_LANGUAGE="en")
    welcome = landed["Location"].replace("http://nuodong.localhost", "")
    assert admin.get(welcome)["Location"] == "/admin/"
    index = admin.get("/admin/")
    assert index.status_code == 200 and "/admin/helpteam/" in index.content.decode()
    assert "/admin/shop/" not in index.content.decode()
    # the login link works once; the verification link too
    assert Client(HTTP_HOST="nuodong.localhost").get(welcome)["Location"] == "/admin/login/"
    again = platform.get(link.replace("http://localhost", ""))
    assert again.status_code == 400 and "already confirmed" in again.content.decode()
    with tenant_context(tenant):
        from django.contrib.auth import get_user_model

        admin_user = get_user_model().objects.get(username="huang@nuodong.example")
        assert admin_user.is_superuser and admin_user.check_password(FORM["password"])


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"slug": "admin"}, "slug_reserved"),
        ({"slug": "Bad-Slug"}, "slug_invalid"),
        ({"slug": "fuckville"}, "slug_reserved"),
        ({"slug": "tenb_"}, "slug_ends_with_underscore"),
        ({"slug": "xn__enxi_k6d"}, "slug_punycode"),
        ({"slug": "ab__c"}, "slug_idna_form"),
        ({"slug": "alpha"}, "slug_taken"),
        ({"password": "12345678"}, "password_weak"),
        ({"email": "not-an-email"}, "email_invalid"),
        ({"modules": ["teleport"]}, "module_invalid"),
        ({"time_zone": "Mars/Olympus"}, "time_zone_invalid"),
        ({"honeypot": "http://spam.example"}, "signup_refused"),
    ],
)
def test_bad_signups_are_refused_and_nothing_is_kept(tenant, change, code):
    with pytest.raises(LinliError) as caught:
        signup_start(**{**FORM, **change})
    assert caught.value.code == code
    assert not Signup.objects.exists()


def test_an_address_waiting_for_verification_is_taken_until_the_link_expires(db):
    signup_start(**FORM)
    with pytest.raises(LinliError) as caught:
        signup_start(**{**FORM, "email": "other@example.org"})
    assert caught.value.code == "slug_taken"
    Signup.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _signup, _token = signup_start(**{**FORM, "email": "other@example.org"})
    assert list(Signup.objects.values_list("email", flat=True)) == ["other@example.org"]


def test_an_expired_link_provisions_nothing(db):
    from linli.accounts.services import signup_verify

    _signup, token = signup_start(**FORM)
    Signup.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(LinliError) as caught:
        signup_verify(token=token)
    assert caught.value.code == "signup_expired"
    assert not Tenant.objects.filter(schema_name="nuodong").exists()


def test_one_network_signs_up_five_times_an_hour(db):
    for n in range(5):
        signup_start(**{**FORM, "slug": f"district{n}x", "ip": "203.0.113.9"})
    with pytest.raises(LinliError) as caught:
        signup_start(**{**FORM, "slug": "district9x", "ip": "203.0.113.9"})
    assert caught.value.code == "too_many_signups" and caught.value.status == 429


@pytest.mark.parametrize(
    ("slug", "code", "message"),
    [
        ("tenb_", "slug_ends_with_underscore", SLUG_ENDS_WITH_UNDERSCORE),
        ("xn__enxi_k6d", "slug_punycode", SLUG_PUNYCODE),
        ("ab__c", "slug_idna_form", SLUG_IDNA_FORM),
    ],
)
def test_the_api_says_a_slug_that_makes_no_dns_label_is_not_available(
    platform_client, slug, code, message
):
    response = platform_client.get(
        f"/api/v1/platform/signups/availability?slug={slug}", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert response.json() == {
        "slug": slug,
        "available": False,
        "code": code,
        "message": str(message),
    }
    created = platform_client.post(
        "/api/v1/platform/signups",
        json.dumps({**FORM, "slug": slug}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert created.status_code == 422
    assert created.json()["code"] == code
    assert not Signup.objects.exists()


def test_the_api_checks_availability_and_takes_signups(platform_client, mailbox):
    free = platform_client.get("/api/v1/platform/signups/availability?slug=nuodong").json()
    assert free == {"slug": "nuodong", "available": True, "code": None, "message": None}
    taken = platform_client.get("/api/v1/platform/signups/availability?slug=alpha").json()
    assert (taken["available"], taken["code"]) == (False, "slug_taken")
    created = platform_client.post(
        "/api/v1/platform/signups", json.dumps(FORM), content_type="application/json"
    )
    assert created.status_code == 201 and created.json()["status"] == "pending"
    weak = platform_client.post(
        "/api/v1/platform/signups",
        json.dumps({**FORM, "slug": "other", "password": "password"}),
        content_type="application/json",
    )
    assert weak.status_code == 422 and weak.json()["code"] == "password_weak"


def test_every_problem_on_the_form_is_told_at_once_at_its_field(db):
    platform = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="zh-hans")
    form = {**FORM, "district_name": "", "slug": "Bad Slug!", "email": "not-an-email",
            "password": "12345678", "admin_name": "王主任"}  # fmt: skip

    refused = platform.post("/signup", form)

    assert refused.status_code == 422
    page = refused.content.decode()
    assert "有 4 处需要改正" in page
    for field in ("district_name", "slug", "email", "password"):
        assert f'id="{field}-problem"' in page, field
        assert f'href="#{field}"' in page, field
    assert "网址（子域名）须为 2 到 40 个字符" in page  # noqa: RUF001
    assert "标识" not in page
    # what was typed stays, the name among it, and nothing is kept
    assert 'value="王主任"' in page and 'value="Bad Slug!"' in page
    assert 'id="admin_name-problem"' not in page
    assert "https://cenxi.localhost/" in page  # the example, not the address refused
    assert not Signup.objects.exists()


def test_the_time_zone_is_chosen_and_the_address_previewed(db):
    platform = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    page = platform.get("/signup").content.decode()
    assert '<select id="time_zone" name="time_zone">' in page
    assert '<option value="Asia/Shanghai" selected>' in page
    assert "Your district's address: https://cenxi.localhost/" in page
    typed = platform.post("/signup", {**FORM, "slug": "nuodong", "email": "x"}).content.decode()
    assert "https://nuodong.localhost/" in typed
    unknown = platform.post("/signup", {**FORM, "time_zone": "Mars/Olympus"})
    assert unknown.status_code == 422
    assert 'id="time_zone-problem"' in unknown.content.decode()
    assert "Unknown time zone" in unknown.content.decode()


def test_the_platform_home_links_to_signup(db):
    home = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="zh-hans").get("/")
    assert 'href="/signup"' in home.content.decode()


def test_the_api_names_every_field_that_is_not_right(platform_client, mailbox):
    body = {"district_name": "糯垌镇", "slug": "Bad Slug", "email": "nope", "password": "short",
            "admin_name": "王主任"}  # fmt: skip
    refused = platform_client.post(
        "/api/v1/platform/signups", body, content_type="application/json"
    )
    assert refused.status_code == 422
    pointers = [e["pointer"] for e in refused.json()["errors"]]
    assert pointers == ["/body/slug", "/body/email", "/body/password"]
    assert refused.json()["code"] == "slug_invalid"
    assert not Signup.objects.exists()


def test_linli_up_gives_the_platform_a_development_login_once(db):
    from linli.registry.demo import DEMO_ADMIN_PASSWORD, demo_platform_admin_ensure

    assert demo_platform_admin_ensure() == "ops"
    assert demo_platform_admin_ensure() == "ops"  # a second start changes nothing
    from django.contrib.auth import get_user_model

    [ops] = get_user_model().objects.filter(username="ops")
    assert ops.is_superuser and ops.is_staff
    platform = Client(HTTP_HOST="localhost")
    signed = platform.post("/admin/login/", {"username": "ops", "password": DEMO_ADMIN_PASSWORD})
    assert signed.status_code == 302
    assert platform.get("/admin/ops/tenants/").status_code == 200
