"""The points API: writes need an Idempotency-Key, residents only touch their own points."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from linli.registry.services import module_set_enabled
from tenants.points.models import Account, Transaction
from tests.conftest import key_client
from tests.factories import ResidentFactory


@pytest.fixture
def points_on(tenant, other_tenant):
    module_set_enabled(slug="alpha", module="points", enabled=True)
    module_set_enabled(slug="beta", module="points", enabled=True)


@pytest.fixture
def people(tenant, points_on):
    with tenant_context(tenant):
        volunteer, elder = ResidentFactory(), ResidentFactory()
        shop = Account.objects.create(kind="shop", code="shop:1", name="鄰家小店")
    return {"volunteer": volunteer, "elder": elder, "shop": shop}


def post(client, path, body, key="k-1", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(path, json.dumps(body), content_type="application/json", **headers, **extra)


def test_award_then_redeem_then_statement(api, people):
    v, shop = people["volunteer"], people["shop"]
    award = post(
        api,
        "/api/v1/points/awards",
        {"resident_id": v.pk, "category": "default", "hours": 3, "source": "helpteam.request:7"},
        key="a1",
    )
    assert award.status_code == 201
    assert sorted(p["amount"] for p in award.json()["postings"]) == [-30, 30]
    redeem = post(
        api,
        "/api/v1/points/redemptions",
        {"resident_id": v.pk, "amount": 12, "to_account_id": shop.pk},
        key="r1",
    )
    assert redeem.status_code == 201
    account = api.get(f"/api/v1/points/residents/{v.pk}/account").json()
    assert account["balance"] == 18
    lines = api.get(f"/api/v1/points/accounts/{account['id']}/statement").json()["items"]
    assert [(line["kind"], line["amount"], line["balance_after"]) for line in lines] == [
        ("earn", 30, 30),
        ("redeem", -12, 18),
    ]
    summary = api.get("/api/v1/points/summary").json()
    assert (summary["issued"], summary["redeemed"], summary["outstanding"]) == (30, 12, 18)


def test_a_resident_without_points_has_a_zero_balance(api, people):
    body = api.get(f"/api/v1/points/residents/{people['elder'].pk}/account").json()
    assert (body["id"], body["balance"]) == (None, 0)


def test_writes_need_an_idempotency_key(api, people):
    response = post(
        api,
        "/api/v1/points/adjustments",
        {"account_id": people["shop"].pk, "amount": 5, "reason": "x"},
        key=None,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_required"


def test_a_retry_moves_points_once(tenant, api, people):
    v = people["volunteer"]
    body = {"resident_id": v.pk, "category": "default", "hours": 1, "source": "s1"}
    first, second = (
        post(api, "/api/v1/points/awards", body, key="same"),
        post(api, "/api/v1/points/awards", body, key="same"),
    )
    assert first.json() == second.json()
    with tenant_context(tenant):
        assert Transaction.objects.filter(kind="earn").count() == 1


def test_redeeming_beyond_the_balance_is_409_and_changes_nothing(api, people):
    response = post(
        api,
        "/api/v1/points/redemptions",
        {"resident_id": people["volunteer"].pk, "amount": 5, "to_account_id": people["shop"].pk},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_points"


def test_acting_residents_spend_only_their_own_points(tenant, make_key, people):
    token = make_key("points:write", "residents:act")
    me = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(people["elder"].pk))
    response = post(
        me,
        "/api/v1/points/redemptions",
        {"resident_id": people["volunteer"].pk, "amount": 1, "to_account_id": people["shop"].pk},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "not_your_points"
    response = post(
        me,
        "/api/v1/points/awards",
        {
            "resident_id": people["elder"].pk,
            "category": "default",
            "hours": 1,
            "source": "self-award",
        },
        key="k-2",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "not_for_residents"
    # someone else's account is not there for them: the same 404 as a missing resident
    theirs = me.get(f"/api/v1/points/residents/{people['volunteer'].pk}/account")
    assert (theirs.status_code, theirs.json()["code"]) == (404, "resident_not_found")


def test_points_module_off_is_404(tenant, make_key, people):
    module_set_enabled(slug="alpha", module="points", enabled=False)
    client = key_client(tenant, make_key("points:read"))
    response = client.get("/api/v1/points/summary")
    assert response.status_code == 404
    assert response.json()["code"] == "module_disabled"


def test_another_tenants_accounts_do_not_exist_here(api, other_api, people):
    v = people["volunteer"]
    post(
        api,
        "/api/v1/points/awards",
        {"resident_id": v.pk, "category": "default", "hours": 1, "source": "x"},
    )
    account_id = api.get(f"/api/v1/points/residents/{v.pk}/account").json()["id"]
    response = other_api.get(f"/api/v1/points/accounts/{account_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "account_not_found"
    response = post(
        other_api,
        "/api/v1/points/redemptions",
        {"resident_id": v.pk, "amount": 1, "to_account_id": people["shop"].pk},
    )
    # alpha's resident is nobody in beta: the body names no such person
    assert (response.status_code, response.json()["code"]) == (422, "resident_not_found")
