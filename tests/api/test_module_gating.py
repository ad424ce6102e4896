"""A disabled module's API answers 404 module_disabled; switching it on takes effect at once."""

from __future__ import annotations

import pytest

from linli.cli import main
from linli.errors import ValidationFailed
from linli.registry.services import module_set_enabled
from tests.conftest import key_client

# A test router (/shop/ping) the API document does not hold.
pytestmark = [pytest.mark.urls("tests.api.gating_urls"), pytest.mark.undocumented]


def test_disabled_module_is_404_then_enabled_then_disabled_again(tenant, make_key):
    client = key_client(tenant, make_key("shop:read"))
    off = client.get("/api/v1/shop/ping")
    assert off.status_code == 404
    assert off.json()["code"] == "module_disabled"

    module_set_enabled(slug="alpha", module="shop", enabled=True)
    on = client.get("/api/v1/shop/ping")
    assert on.status_code == 200
    assert on.json() == {"module": "shop"}

    assert main(["modules", "disable", "shop", "--tenant", "alpha"]) == 0
    assert client.get("/api/v1/shop/ping").json()["code"] == "module_disabled"


def test_enabling_for_one_tenant_leaves_the_other_alone(tenant, other_tenant, make_key):
    module_set_enabled(slug="alpha", module="shop", enabled=True)
    beta = key_client(other_tenant, make_key("shop:read", on=other_tenant))
    assert beta.get("/api/v1/shop/ping").json()["code"] == "module_disabled"


def test_an_unauthenticated_call_is_401_before_anything_else(tenant):
    from django.test import Client

    from tests.conftest import host_of

    response = Client(HTTP_HOST=host_of(tenant)).get("/api/v1/shop/ping")
    assert response.status_code == 401


def test_community_cannot_be_switched_off(db, tenant):
    with pytest.raises(ValidationFailed) as err:
        module_set_enabled(slug="alpha", module="community", enabled=False)
    assert err.value.code == "module_always_on"
