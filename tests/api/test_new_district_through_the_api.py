"""A new district, from its signup to a running community, through the API alone.

The district signs up on the platform's API, confirms its email, and issues its first
key in its admin (the one step a person takes: an API key is never mailed). Everything
after goes through ``/api/v1/``: a narrower key for its resident app, its modules and
their settings, its areas, estates, buildings, units and flats, its residents and a
property company. Each answer is checked against the API's document as it comes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import tenant_context

from linli.registry.models import Tenant
from tenants.community.models import Estate, Household, Organisation, Resident

SIGNUP = {
    "district_name": "岑溪市归义镇",
    "slug": "guiyi",
    "region": "广西 梧州",
    "locale": "zh-hans",
    "time_zone": "Asia/Shanghai",
    "admin_name": "陈主任",
    "email": "chen@guiyi.example",
    "password": "Neighbours-help-2026",
    "modules": ["helpteam"],
}


class Api:
    """A client of the new district's API holding one key."""

    def __init__(self, token: str) -> None:
        self.client = Client(
            HTTP_HOST="guiyi.localhost",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_ACCEPT_LANGUAGE="en",
        )

    def send(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        if body is None:
            response = getattr(self.client, method)(f"/api/v1{path}")
        else:
            response = getattr(self.client, method)(
                f"/api/v1{path}", json.dumps(body), content_type="application/json"
            )
        assert response.status_code == status, (method, path, response.content[:500])
        return response.json() if response.content else None


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    return mail.outbox


def _signed_up(mailbox: list[Any], capture: Any) -> Client:
    """Sign up through the platform API; follow the emailed link into the new admin."""
    platform = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    with capture(execute=True):
        created = platform.post(
            "/api/v1/platform/signups", json.dumps(SIGNUP), content_type="application/json"
        )
    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    [message] = mailbox
    found = re.search(r"http://localhost(/signup/verify/\S+)", message.body)
    assert found is not None, message.body
    link = found.group(1)
    landed = platform.get(link)
    assert landed.status_code == 302
    admin = Client(HTTP_HOST="guiyi.localhost", HTTP_ACCEPT_LANGUAGE="en")
    welcome = landed["Location"].replace("http://guiyi.localhost", "")
    assert admin.get(welcome)["Location"] == "/admin/"
    return admin


def _first_key(admin: Client) -> str:
    """The one step in the admin: the district's first key, holding tenant:admin."""
    scopes = ["tenant:admin", "community:write", "personal_data:read", "helpteam:write"]
    issued = admin.post(
        "/admin/api_access/apikey/add/",
        {"name": "setup", "scopes": scopes, "expires_at": "", "rate_limit": ""},
        follow=True,
    )
    assert issued.status_code == 200
    [token] = re.findall(r"lk_[A-Za-z0-9]+_[A-Za-z0-9_-]+", issued.content.decode())
    return token


def test_a_new_district_sets_itself_up_through_the_api_alone(
    db, mailbox, django_capture_on_commit_callbacks
):
    admin = _signed_up(mailbox, django_capture_on_commit_callbacks)
    setup = Api(_first_key(admin))

    # who it is, and a key for its resident app that holds less than the setup key
    tenant = setup.send("get", "/tenant")
    assert (tenant["slug"], tenant["modules"]) == ("guiyi", ["community", "helpteam"])
    app_key = setup.send(
        "post", "/tenant/keys", {"name": "resident app", "scopes": ["community:read"]}, 201
    )
    assert app_key["scopes"] == ["community:read"]
    refused = setup.send(
        "post", "/tenant/keys", {"name": "too much", "scopes": ["shop:write"]}, 403
    )
    assert refused["code"] == "scope_not_held"

    # its modules: deliberation on, its council's quorum set
    setup.send("put", "/tenant/modules/deliberation", {"enabled": True})
    settings = setup.send("get", "/tenant/modules/deliberation/settings")
    changed = setup.send(
        "patch",
        "/tenant/modules/deliberation/settings",
        {"quorum_share": 0.6},
    )
    assert changed["settings"]["quorum_share"] == 0.6
    assert changed["version"] > settings["version"]
    assert "deliberation" in setup.send("get", "/tenant")["modules"]

    # its places: a street, a community under it, an estate, a building, a unit, a flat
    street_level = setup.send("post", "/community/area-levels", {"depth": 1, "name": "街道"}, 201)
    community_level = setup.send(
        "post", "/community/area-levels", {"depth": 2, "name": "社区"}, 201
    )
    street = setup.send(
        "post", "/community/areas", {"name": "归义街道", "level_id": street_level["id"]}, 201
    )
    community = setup.send(
        "post",
        "/community/areas",
        {"name": "新城社区", "level_id": community_level["id"], "parent_id": street["id"]},
        201,
    )
    estate = setup.send(
        "post",
        "/community/estates",
        {"name": "幸福小区", "address": "归义镇新城路 8 号", "area_id": community["id"]},
        201,
    )
    building = setup.send(
        "post", "/community/buildings", {"estate_id": estate["id"], "name": "3栋"}, 201
    )
    unit = setup.send(
        "post", "/community/units", {"building_id": building["id"], "name": "1单元"}, 201
    )
    flat = setup.send(
        "post", "/community/households", {"unit_id": unit["id"], "flat_number": "101"}, 201
    )

    # its residents, and the property company that looks after the estate
    xu = setup.send(
        "post",
        "/community/residents",
        {
            "display_name": "徐伯",
            "phone": "13812340070",
            "household_id": flat["id"],
            "birth_year": 1954,
            "contact_consent": True,
        },
        201,
    )
    company = setup.send(
        "post",
        "/community/organisations",
        {"name": "幸福物业", "kind": "property_management", "contact_phone": "13800001111"},
        201,
    )
    setup.send(
        "post",
        f"/community/organisations/{company['id']}/members",
        {"resident_id": xu["id"], "title": "业主代表"},
        201,
    )

    # what the resident app's key sees: the community, without personal data
    app = Api(app_key["token"])
    [listed] = app.send("get", "/community/residents")["items"]
    assert listed["id"] == xu["id"] and listed["display_name"] != "徐伯"
    assert app.send("get", f"/community/estates/{estate['id']}")["name"] == "幸福小区"
    assert (
        app.send("post", "/community/units", {"building_id": building["id"], "name": "2单元"}, 403)[
            "code"
        ]
        == "scope_missing"
    )

    # and all of it is in the new district's own schema
    guiyi = Tenant.objects.get(schema_name="guiyi")
    with tenant_context(guiyi):
        assert list(Estate.objects.values_list("name", flat=True)) == ["幸福小区"]
        assert Household.objects.get().unit_id == unit["id"]
        resident = Resident.objects.get()
        assert (resident.display_name, resident.birth_year) == ("徐伯", 1954)
        assert Organisation.objects.get().name == "幸福物业"
