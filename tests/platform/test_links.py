"""Links Linli sends out are built from configuration, never from the request's Host."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django_tenants.utils import tenant_context

from tests.conftest import host_of


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    return mail.outbox


def test_a_password_reset_link_ignores_the_port_in_the_host_header(tenant, mailbox):
    with tenant_context(tenant):
        get_user_model().objects.filter(username="admin-alpha").update(email="chief@example.org")
    host = host_of(tenant)
    attacker = Client(HTTP_HOST=f"{host}:6666", HTTP_ACCEPT_LANGUAGE="en")
    asked = attacker.post("/admin/password_reset/", {"email": "chief@example.org"})
    assert asked.status_code == 302
    [message] = mailbox
    links = re.findall(r"https?://\S+", message.body)
    assert links and all(link.startswith(f"http://{host}/reset/") for link in links), links
    assert "6666" not in message.body


def test_a_signup_link_ignores_the_port_in_the_host_header(
    db, mailbox, django_capture_on_commit_callbacks
):
    platform = Client(HTTP_HOST="localhost:6666")
    with django_capture_on_commit_callbacks(execute=True):
        sent = platform.post(
            "/api/v1/platform/signups",
            {
                "district_name": "岑溪市糯垌鎮",
                "slug": "nuodong",
                "region": "廣西",
                "locale": "zh-hans",
                "time_zone": "Asia/Shanghai",
                "admin_name": "黃主任",
                "email": "huang@nuodong.example",
                "password": "a-long-good-passphrase-42",
                "modules": [],
            },
            content_type="application/json",
        )
    assert sent.status_code == 201
    [message] = mailbox
    assert re.search(r"http://localhost/signup/verify/\S+", message.body)
    assert "6666" not in message.body


def test_links_on_a_public_deployment_are_https_on_the_primary_domain(tenant, settings, rf):
    from linli.http import absolute_url

    settings.LINLI_BASE_DOMAIN = "linli.example"
    request = rf.get("/", HTTP_HOST="evil.example:6666")
    request.tenant = tenant
    assert absolute_url(request, "/r/pass/x") == f"https://{host_of(tenant)}/r/pass/x"
    request.tenant = None
    assert absolute_url(request, "/signup/verify") == "https://linli.example/signup/verify"
