"""The events feed and webhook management through the API: scopes, personal data, isolation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.services import module_set_enabled
from tenants.events.models import Delivery, WebhookEndpoint
from tenants.events.services import event_record
from tenants.shop.services import catalogue, parcels
from tests.conftest import key_client
from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def happenings(tenant, other_tenant):
    """A parcel arrives at alpha's shop; a resident of alpha is erased; beta has its own."""
    for slug in ("alpha", "beta"):
        module_set_enabled(slug=slug, module="shop", enabled=True)
    with tenant_context(tenant):
        estate = EstateFactory()
        shop = catalogue.shop_create(estate_id=estate.pk, name="店", zones=["parcels"])
        home = HouseholdFactory(unit__building__estate=estate)
        parcel = parcels.parcel_log(
            shop_id=shop.pk,
            carrier="順豐",
            tracking_number="SF1",
            household_id=home.pk,
            recipient_name="徐先生",
        )
        event_record(type="resident.erased", object_id=5, payload={"resident_id": 5})
    with tenant_context(other_tenant):
        event_record(type="resident.erased", object_id=6, payload={"resident_id": 6})
    return {"parcel": parcel}


def test_the_feed_shows_the_modules_a_key_may_read(tenant, make_key, happenings):
    shop_reader = key_client(tenant, make_key("shop:read"))
    items = shop_reader.get("/api/v1/events").json()["items"]
    types = [e["type"] for e in items]
    assert "parcel.arrived" in types and "batch.opened" not in types
    assert "resident.erased" not in types  # community events need community:read
    parcel_event = next(e for e in items if e["type"] == "parcel.arrived")
    assert parcel_event["data"]["id"] == happenings["parcel"].pk
    assert parcel_event["personal"] is None
    both = key_client(tenant, make_key("shop:read", "community:read", "personal_data:read"))
    items = both.get("/api/v1/events?type=parcel.arrived&type=resident.erased").json()["items"]
    assert {e["type"] for e in items} == {"parcel.arrived", "resident.erased"}
    personal = next(e for e in items if e["type"] == "parcel.arrived")["personal"]
    assert personal == {"recipient_name": "徐先生", "tracking_number": "SF1"}
    assert [e["id"] for e in items] == sorted(e["id"] for e in items)  # oldest first


def test_the_feed_pages_and_filters_by_time(tenant, make_key, happenings):
    client = key_client(tenant, make_key("shop:read", "community:read"))
    first = client.get("/api/v1/events?limit=1").json()
    assert len(first["items"]) == 1 and first["next"]
    rest = client.get(f"/api/v1/events?limit=50&cursor={first['next']}").json()
    assert first["items"][0]["id"] < rest["items"][0]["id"]
    future = (timezone.now() + timedelta(hours=1)).isoformat().replace("+", "%2B")
    assert client.get(f"/api/v1/events?since={future}").json()["items"] == []


def test_one_tenants_events_never_reach_another(other_tenant, make_key, happenings):
    beta = key_client(other_tenant, make_key("community:read", "shop:read", on=other_tenant))
    items = beta.get("/api/v1/events").json()["items"]
    assert [(e["type"], e["data"]) for e in items] == [("resident.erased", {"resident_id": 6})]


def test_residents_cannot_read_the_feed(tenant, make_key, happenings):
    with tenant_context(tenant):
        resident = ResidentFactory()
    client = key_client(
        tenant,
        make_key("community:read", "residents:act"),
        HTTP_LINLI_ACTING_RESIDENT=str(resident.pk),
    )
    response = client.get("/api/v1/events")
    assert response.status_code == 403 and response.json()["code"] == "not_for_residents"


def test_the_catalogue_lists_every_type_with_its_schema(api):
    types = {t["type"]: t for t in api.get("/api/v1/events/types").json()}
    assert {"order.ready", "parcel.arrived", "help_request.claimed", "resident.erased"} <= set(
        types
    )
    assert types["order.ready"]["module"] == "shop"
    assert "money_due_fen" in types["order.ready"]["payload_schema"]["properties"]


def test_managing_webhooks_needs_its_scope_and_refuses_private_targets(tenant, make_key):
    plain = key_client(tenant, make_key("shop:write"))
    refused = post(plain, "/api/v1/webhooks", {"url": "https://example.org/hook"})
    assert refused.status_code == 403 and refused.json()["code"] == "scope_missing"
    manager = key_client(tenant, make_key("webhooks:manage", "shop:read"))
    for url in ("http://127.0.0.1:9000/x", "http://169.254.169.254/x", "http://10.0.0.1/x"):
        response = post(manager, "/api/v1/webhooks", {"url": url})
        assert response.status_code == 422 and response.json()["code"] == "url_not_public"
    unknown = post(
        manager, "/api/v1/webhooks", {"url": "http://10.0.0.1/x", "event_types": ["nope"]}
    )
    assert unknown.status_code == 422
    with tenant_context(tenant):
        assert not WebhookEndpoint.objects.exists()


def test_webhook_crud_and_the_delivery_log(tenant, other_tenant, make_key, settings):
    settings.LINLI_WEBHOOK_ALLOW = ["127.0.0.1/32"]
    module_set_enabled(slug="alpha", module="shop", enabled=True)
    manager = key_client(tenant, make_key("webhooks:manage", "shop:read"))
    created = post(
        manager,
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/hook", "event_types": ["parcel.arrived"]},
    )
    assert created.status_code == 201, created.json()
    hook = created.json()
    assert hook["secret"].startswith("whsec_")
    assert hook["modules"] == ["community", "shop"] and hook["personal_data"] is False
    listed = manager.get("/api/v1/webhooks").json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    rolled = post(manager, f"/api/v1/webhooks/{hook['id']}/roll-secret").json()
    assert rolled["secret"] != hook["secret"]
    patched = manager.patch(
        f"/api/v1/webhooks/{hook['id']}",
        json.dumps({"active": False}),
        content_type="application/json",
    )
    assert patched.json()["active"] is False
    manager.patch(
        f"/api/v1/webhooks/{hook['id']}",
        json.dumps({"active": True}),
        content_type="application/json",
    )
    with tenant_context(tenant):
        event_record(
            type="parcel.arrived",
            object_id=1,
            payload={"id": 1, "shop_id": 1, "household_id": 1, "carrier": "x", "status": "waiting",
                     "reminders_sent": 0},
        )  # fmt: skip
        from tenants.events.delivery import deliveries_run

        deliveries_run()  # port 9 refuses: a failed attempt in the log
        delivery = Delivery.objects.get()
    log = manager.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert log[0]["status"] == "pending" and log[0]["attempts"] == 1
    assert log[0]["log"][0]["status_code"] is None and log[0]["log"][0]["error"]
    again = post(manager, f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver")
    assert again.status_code == 200 and again.json()["status"] == "pending"
    # beta's manager sees none of it
    beta = key_client(other_tenant, make_key("webhooks:manage", on=other_tenant))
    assert beta.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404
    assert post(beta, f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver").status_code == 404
    assert beta.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 404
    assert manager.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 204
    with tenant_context(tenant):
        assert not WebhookEndpoint.objects.exists()
