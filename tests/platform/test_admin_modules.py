"""A tenant's admin shows only the modules it runs; a disabled module's pages answer 404."""

from __future__ import annotations

from django.test import Client

from linli.registry.services import module_set_enabled
from tests.conftest import ADMIN_PASSWORD, host_of


def admin(tenant) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    return client


def test_disabled_modules_are_hidden_from_the_tenant_admin(tenant, in_tenant):
    module_set_enabled(slug="alpha", module="shop", enabled=False)
    module_set_enabled(slug="alpha", module="helpteam", enabled=True)
    client = admin(tenant)
    index = client.get("/admin/").content.decode()
    assert "/admin/helpteam/" in index and "/admin/shop/" not in index
    assert "/admin/community/" in index  # always on
    assert client.get("/admin/shop/order/").status_code == 404
    assert client.get("/admin/shop/").status_code == 404
    assert client.get("/admin/helpteam/helprequest/").status_code == 200
    module_set_enabled(slug="alpha", module="shop", enabled=True)
    client = admin(tenant)
    assert client.get("/admin/shop/order/").status_code == 200
    assert "/admin/shop/" in client.get("/admin/").content.decode()
