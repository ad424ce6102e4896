"""A resident's birth year (personal data: masked, never in the audit log) and the answers
for ids a resident's body names that do not exist."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.errors import ValidationFailed
from tenants.audit.models import AuditEntry
from tenants.community import services
from tenants.community.models import Resident
from tests.conftest import key_client
from tests.factories import HouseholdFactory, ResidentFactory
from tests.tenants.community.world import build_world, call, problem

BASE = "/api/v1/community"


def post(client: Any, path: str, body: Any, **extra: Any) -> Any:
    return client.post(BASE + path, json.dumps(body), content_type="application/json", **extra)


def patch(client: Any, path: str, body: Any) -> Any:
    return client.patch(BASE + path, json.dumps(body), content_type="application/json")


def pointed(response: Any) -> tuple[int, str, list[str]]:
    body = response.json()
    return response.status_code, body["code"], [e["pointer"] for e in body.get("errors") or []]


def test_a_birth_year_is_kept_shown_and_changed_but_never_audited(tenant, api):
    created = post(api, "/residents", {"display_name": "徐伯", "birth_year": 1948})
    assert created.status_code == 201
    resident_id = created.json()["id"]
    assert created.json()["birth_year"] == 1948
    changed = patch(api, f"/residents/{resident_id}", {"birth_year": 1950})
    assert (changed.status_code, changed.json()["birth_year"]) == (200, 1950)
    assert api.get(f"{BASE}/residents/{resident_id}").json()["birth_year"] == 1950
    cleared = patch(api, f"/residents/{resident_id}", {"birth_year": None})
    assert (cleared.status_code, cleared.json()["birth_year"]) == (200, None)
    with tenant_context(tenant):
        assert Resident.objects.get(pk=resident_id).birth_year is None
        entries = list(
            AuditEntry.objects.filter(object_type="community.resident", object_id=str(resident_id))
            .order_by("id")
            .values_list("action", "changes")
        )
    assert [(action, changes.get("birth_year")) for action, changes in entries] == [
        ("resident.created", [None, "<personal>"]),
        ("resident.updated", ["<personal>", "<personal>"]),
        ("resident.updated", ["<personal>", None]),
    ]
    assert not any("1948" in str(c) or "1950" in str(c) for _a, c in entries)


def test_the_birth_year_is_null_without_personal_data_access(tenant, make_key):
    with tenant_context(tenant):
        resident = ResidentFactory(birth_year=1960)
    masked = key_client(tenant, make_key("community:read")).get(f"{BASE}/residents/{resident.pk}")
    assert (masked.json()["birth_year"], masked.json()["masked"]) == (None, True)
    listed = key_client(tenant, make_key("community:read")).get(f"{BASE}/residents").json()
    assert [item["birth_year"] for item in listed["items"]] == [None]
    full = key_client(tenant, make_key("community:read", "personal_data:read"))
    assert full.get(f"{BASE}/residents/{resident.pk}").json()["birth_year"] == 1960


def test_a_resident_sees_their_own_households_birth_years(tenant, make_key):
    world = build_world(tenant, make_key)
    with tenant_context(tenant):
        Resident.objects.filter(pk__in=[world.id("spouse"), world.id("stranger")]).update(
            birth_year=1955
        )
    owner = world.client("owner")
    assert call(owner, "get", f"{BASE}/residents/{world.id('spouse')}").json()["birth_year"] == 1955
    assert problem(call(owner, "get", f"{BASE}/residents/{world.id('stranger')}")) == (
        404,
        "resident_not_found",
    )
    # the district's tool without personal_data:read sees it masked
    district = world.client("district")
    assert call(district, "get", f"{BASE}/residents/{world.id('spouse')}").json()["birth_year"] is (
        None
    )


@pytest.mark.parametrize(
    "year",
    [1899, 0, -5, "1990", True, 1990.0, 2**70, "next year"],
)
def test_a_birth_year_out_of_range_or_not_a_whole_number_is_refused(tenant, api, year):
    if year == "next year":
        year = timezone.localdate().year + 1
    response = post(api, "/residents", {"display_name": "甲", "birth_year": year})
    assert pointed(response) == (422, "validation_failed", ["/body/birth_year"])
    with tenant_context(tenant):
        resident = ResidentFactory(birth_year=1970)
    response = patch(api, f"/residents/{resident.pk}", {"birth_year": year})
    assert pointed(response) == (422, "validation_failed", ["/body/birth_year"])
    with tenant_context(tenant):
        assert not Resident.objects.filter(display_name="甲").exists()
        assert Resident.objects.get(pk=resident.pk).birth_year == 1970


def test_this_year_is_a_birth_year_and_the_service_refuses_the_future_on_every_channel(tenant, api):
    this_year = timezone.localdate().year
    response = post(api, "/residents", {"display_name": "新生", "birth_year": this_year})
    assert (response.status_code, response.json()["birth_year"]) == (201, this_year)
    with tenant_context(tenant):
        with pytest.raises(ValidationFailed) as refused:
            services.resident_create(display_name="未來", birth_year=this_year + 1)
        assert (refused.value.code, refused.value.field) == ("birth_year_invalid", "birth_year")
        assert not Resident.objects.filter(display_name="未來").exists()


def test_unknown_ids_in_a_residents_body_are_422_on_their_field(tenant, api):
    with tenant_context(tenant):
        resident = ResidentFactory()
    cases = [
        (post(api, "/residents", {"display_name": "甲", "household_id": 987654}), "household_id"),
        (post(api, "/residents", {"display_name": "甲", "tag_ids": [987654]}), "tag_ids"),
        (patch(api, f"/residents/{resident.pk}", {"household_id": 987654}), "household_id"),
        (patch(api, f"/residents/{resident.pk}", {"tag_ids": [987654]}), "tag_ids"),
    ]
    codes = {"household_id": "household_not_found", "tag_ids": "tag_not_found"}
    for response, field in cases:
        assert pointed(response) == (422, codes[field], [f"/body/{field}"])
    with tenant_context(tenant):
        assert not Resident.objects.filter(display_name="甲").exists()


def test_a_leader_naming_an_unknown_flat_hears_422_and_a_resident_403(tenant, make_key):
    world = build_world(tenant, make_key)
    leader = world.client("leader")
    response = call(
        leader, "post", f"{BASE}/residents", {"display_name": "新", "household_id": 987654}
    )
    assert pointed(response) == (422, "household_not_found", ["/body/household_id"])
    response = call(
        leader, "patch", f"{BASE}/residents/{world.id('owner')}", {"household_id": 987654}
    )
    assert pointed(response) == (422, "household_not_found", ["/body/household_id"])
    # still 403 for a flat that exists but that they do not lead
    response = call(
        leader,
        "patch",
        f"{BASE}/residents/{world.id('owner')}",
        {"household_id": world.flats["201"].pk},
    )
    assert problem(response) == (403, "out_of_scope")
    # a resident who leads nothing is refused whatever the body names
    owner = world.client("owner")
    response = call(
        owner, "post", f"{BASE}/residents", {"display_name": "新", "household_id": 987654}
    )
    assert problem(response) == (403, "not_for_residents")
    with tenant_context(tenant):
        assert Resident.objects.get(pk=world.id("owner")).household_id == world.flats["101"].pk


def test_another_tenants_household_cannot_be_named_in_a_move(tenant, other_tenant, api, other_api):
    with tenant_context(tenant):
        alpha_flat = HouseholdFactory()
    with tenant_context(other_tenant):
        beta_resident = ResidentFactory(household=None)
    response = patch(other_api, f"/residents/{beta_resident.pk}", {"household_id": alpha_flat.pk})
    assert pointed(response) == (422, "household_not_found", ["/body/household_id"])
    with tenant_context(other_tenant):
        assert Resident.objects.get(pk=beta_resident.pk).household_id is None


def test_a_resident_registered_with_an_idempotency_key_is_registered_once(tenant, api):
    body = {"display_name": "王芳", "birth_year": 1980}
    first = post(api, "/residents", body, HTTP_IDEMPOTENCY_KEY="birth-1")
    again = post(api, "/residents", body, HTTP_IDEMPOTENCY_KEY="birth-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    with tenant_context(tenant):
        assert Resident.objects.filter(display_name="王芳", birth_year=1980).count() == 1


def test_the_admin_form_refuses_a_birth_year_in_the_future(in_tenant):
    from django.core.exceptions import ValidationError as FormError

    resident = Resident(display_name="甲", birth_year=timezone.localdate().year + 1)
    with pytest.raises(FormError) as refused:
        resident.full_clean()
    assert set(refused.value.message_dict) == {"birth_year"}
    Resident(display_name="乙", birth_year=1900).full_clean()
    with pytest.raises(FormError):
        Resident(display_name="丙", birth_year=1899).full_clean()
