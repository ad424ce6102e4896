"""Input an attacker tried: every case answers a problem document, never a 500, and
lax values (``false`` for a number, a list for an object) are refused, not coerced."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.services import module_set_enabled
from tenants.community.models import Resident
from tenants.helpteam.models import HelpRequest, Volunteer
from tenants.helpteam.services import request_claim, request_create
from tenants.notices.models import ChannelPreference
from tenants.shop.models import Product
from tests.factories import ResidentFactory

PROBLEM = "application/problem+json"


def send(client, method, path, body, **extra):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return getattr(client, method)(path, data, content_type="application/json", **extra)


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code
    return body


@pytest.fixture
def modules(tenant):
    for module in ("helpteam", "points", "deliberation", "shop"):
        module_set_enabled(slug="alpha", module=module, enabled=True)


@pytest.fixture
def claimed(tenant, modules):
    with tenant_context(tenant):
        requester, helper = ResidentFactory(), ResidentFactory()
        Volunteer.objects.create(resident=helper)
        start = timezone.now() + timedelta(hours=5)
        r = request_create(
            requester_id=requester.pk,
            category="plumbing",
            description="漏水",
            window_start=start,
            window_end=start + timedelta(hours=2),
        )
        request_claim(request_id=r.pk, volunteer_resident_id=helper.pk)
    return r, helper


@pytest.mark.parametrize("raw", ["²", "١٢", "1e3", " 1", "-1", "9" * 30])
def test_an_acting_resident_header_that_is_not_ascii_digits_is_not_found(api, raw):
    response = api.get("/api/v1/community/residents", HTTP_LINLI_ACTING_RESIDENT=raw)
    assert_problem(response, 404, "acting_resident_not_found")


def test_an_id_past_64_bits_in_a_body_is_a_field_error(api, tenant, modules):
    with tenant_context(tenant):
        household_id = ResidentFactory().household_id
    body = {"leader_id": 2**64, "household_id": household_id, "kind": "visit"}
    response = send(api, "post", "/api/v1/deliberation/contacts", body)
    problem = assert_problem(response, 422, "validation_failed")
    assert [e["pointer"] for e in problem["errors"]] == ["/body/leader_id"]


def test_a_non_ascii_check_in_token_is_just_wrong(api, tenant, claimed):
    r, helper = claimed
    response = send(
        api,
        "post",
        f"/api/v1/helpteam/requests/{r.pk}/check-in",
        {"token": "二维码", "volunteer_resident_id": helper.pk},
    )
    assert_problem(response, 422, "code_invalid")
    with tenant_context(tenant):
        assert HelpRequest.objects.get(pk=r.pk).status == HelpRequest.Status.CLAIMED


def test_quiet_hours_with_an_offset_are_refused_before_anything_is_written(api, tenant):
    with tenant_context(tenant):
        resident = ResidentFactory()
    response = send(
        api,
        "put",
        f"/api/v1/notices/residents/{resident.pk}/preferences",
        {"channels": ["sms"], "quiet_start": "22:00+08:00", "quiet_end": "07:00"},
    )
    problem = assert_problem(response, 422, "validation_failed")
    assert [e["pointer"] for e in problem["errors"]] == ["/body/quiet_start"]
    with tenant_context(tenant):
        assert not ChannelPreference.objects.filter(resident_id=resident.pk).exists()


def test_multipart_without_a_boundary_is_a_bad_request(api, tenant, modules):
    response = api.post(
        "/api/v1/shop/products/1/photo", b"--x\r\n", content_type="multipart/form-data"
    )
    assert_problem(response, 400, "body_malformed")


def test_a_json_body_over_the_limit_is_413_without_being_read(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"display_name": "王" * 2000}).encode()
    response = send(api, "post", "/api/v1/community/residents", body)
    assert_problem(response, 413, "payload_too_large")
    with_key = send(api, "post", "/api/v1/community/residents", body, HTTP_IDEMPOTENCY_KEY="big")
    assert_problem(with_key, 413, "payload_too_large")


@pytest.mark.parametrize("price", [False, True, "120", 12.0])
def test_a_price_must_be_a_whole_number_not_a_boolean_or_text(api, tenant, modules, price):
    with tenant_context(tenant):
        from tenants.shop.models import Shop

        estate_id = ResidentFactory().household.unit.building.estate_id
        shop = Shop.objects.create(estate_id=estate_id, name="鄰里小店")
    body = {"shop_id": shop.pk, "name": "土雞蛋", "unit": "盒", "price_fen": price}
    problem = assert_problem(
        send(api, "post", "/api/v1/shop/products", body), 422, "validation_failed"
    )
    assert "/body/price_fen" in [e["pointer"] for e in problem["errors"]]
    with tenant_context(tenant):
        assert not Product.objects.exists()


@pytest.mark.parametrize("body", [[None, None], [], "text", 3, None])
def test_a_patch_body_that_is_not_an_object_is_refused(api, tenant, body):
    with tenant_context(tenant):
        resident = ResidentFactory(display_name="原名")
    response = send(api, "patch", f"/api/v1/community/residents/{resident.pk}", body)
    assert_problem(response, 422, "validation_failed")
    with tenant_context(tenant):
        assert Resident.objects.get(pk=resident.pk).display_name == "原名"


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b'{"display_name": "a",}'])
def test_a_body_that_is_not_json_is_a_bad_request(api, raw):
    assert_problem(send(api, "post", "/api/v1/community/residents", raw), 400, "body_malformed")


@pytest.mark.parametrize("month", ["0", "202611", "2026-13", "1970-01", "x"])
def test_a_month_is_a_real_month(api, modules, month):
    response = api.get(f"/api/v1/helpteam/leaderboard?month={month}")
    assert_problem(response, 422, "validation_failed")


def test_a_month_may_be_given_as_year_and_month(api, modules):
    assert api.get("/api/v1/helpteam/leaderboard?month=2026-11").status_code == 200
    assert api.get("/api/v1/helpteam/leaderboard?month=2026-11-01").status_code == 200
