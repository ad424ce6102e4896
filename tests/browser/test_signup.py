"""A district signs up in a browser: the form, the link from the email, landing in its new
admin, turning a module on and seeing its menu appear."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import connection

from tests.browser.conftest import check, close_other_connections, serve

SLUG = "browser_signup"


@pytest.fixture
def platform(django_db_setup, django_db_blocker, settings) -> Iterator[str]:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    with django_db_blocker.unblock():
        try:
            with serve() as port:
                yield f"localhost:{port}"
        finally:
            from linli.accounts.models import Signup
            from linli.registry.models import Tenant
            from linli.registry.services import tenant_delete

            connection.close()
            if Tenant.objects.filter(schema_name=SLUG).exists():
                tenant_delete(slug=SLUG)
            Signup.objects.filter(slug=SLUG).delete()
            close_other_connections()


def test_a_district_signs_up_and_turns_a_module_on(platform, phone_page):
    page: Any = phone_page
    page.set_viewport_size({"width": 1024, "height": 900})
    page.goto(f"http://{platform}/signup")
    page.fill("#district_name", "糯垌鎮")
    page.fill("#slug", SLUG)
    page.fill("#region", "廣西 梧州")
    page.fill("#admin_name", "黃主任")
    page.fill("#email", "huang@nuodong.example")
    page.fill("#password", "Neighbours-help-2026")
    page.check("input[name=modules][value=helpteam]")
    check(page, "signup-1-form")
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    check(page, "signup-2-check-your-email")
    [message] = mail.outbox
    link = re.search(r"http://\S+/signup/verify/\S+", message.body).group(0)
    page.goto(link)
    page.wait_for_url(f"**{SLUG.replace('_', '-')}.localhost:*/admin/")
    assert "/admin/helpteam/" in page.content()
    assert "/admin/shop/" not in page.content()
    check(page, "signup-3-new-admin", accessibility=False)
    page.goto(page.url.replace("/admin/", "/admin/modules/"))
    page.locator("#module-shop input[type=submit]").first.click()
    page.goto(page.url.replace("/admin/modules/", "/admin/"))
    assert "/admin/shop/" in page.content()
    check(page, "signup-4-shop-turned-on", accessibility=False)
