"""Scopes per module and level; acting for a resident, audited."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenants.audit.models import AuditEntry
from tests.conftest import key_client
from tests.factories import HouseholdFactory, ResidentFactory


def test_read_scope_reads_but_does_not_write(tenant, make_key):
    client = key_client(tenant, make_key("community:read"))
    assert client.get("/api/v1/community/residents").status_code == 200
    response = client.post(
        "/api/v1/community/residents", {"display_name": "王芳"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "scope_missing"
    assert "community:write" in response.json()["detail"]
    with tenant_context(tenant):
        from tenants.community.models import Resident

        assert not Resident.objects.filter(display_name="王芳").exists()


def test_write_scope_implies_read(tenant, make_key):
    client = key_client(tenant, make_key("community:write"))
    assert client.get("/api/v1/community/residents").status_code == 200


def test_another_modules_scope_is_not_enough(tenant, make_key):
    client = key_client(tenant, make_key("shop:write", "points:read"))
    response = client.get("/api/v1/community/estates")
    assert response.status_code == 403
    assert response.json()["code"] == "scope_missing"


def test_personal_data_is_masked_without_its_scope(tenant, make_key):
    with tenant_context(tenant):
        resident = ResidentFactory(display_name="張小明", phone="+8613812341234")
    masked = key_client(tenant, make_key("community:read"))
    full = key_client(tenant, make_key("community:read", "personal_data:read"))
    path = f"/api/v1/community/residents/{resident.pk}"
    hidden = masked.get(path).json()
    assert (hidden["display_name"], hidden["phone"], hidden["tags"], hidden["masked"]) == (
        "張**",
        "138****1234",
        None,
        True,
    )
    shown = full.get(path).json()
    assert (shown["display_name"], shown["phone"], shown["tags"], shown["masked"]) == (
        "張小明",
        "+8613812341234",
        [],
        False,
    )


def test_acting_needs_the_residents_act_scope(tenant, make_key):
    with tenant_context(tenant):
        resident = ResidentFactory()
    client = key_client(
        tenant, make_key("community:read"), HTTP_LINLI_ACTING_RESIDENT=str(resident.pk)
    )
    response = client.get("/api/v1/community/residents")
    assert response.status_code == 403
    assert response.json()["code"] == "scope_missing"


def test_acting_resident_sees_their_household_only_and_is_audited(tenant, make_key):
    with tenant_context(tenant):
        home = HouseholdFactory()
        me = ResidentFactory(household=home, display_name="李秀英", phone="+8613900000001")
        spouse = ResidentFactory(household=home, display_name="李建國", phone="+8613900000002")
        neighbour = ResidentFactory(display_name="陳阿姨", phone="+8613900000003")
    token = make_key("community:read", "residents:act")
    client = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(me.pk))
    # the household is visible, unmasked to its own members
    listed = client.get("/api/v1/community/residents").json()["items"]
    assert [(r["id"], r["display_name"]) for r in listed] == [
        (me.pk, "李秀英"),
        (spouse.pk, "李建國"),
    ]
    # the neighbour does not exist for this request
    response = client.get(f"/api/v1/community/residents/{neighbour.pk}")
    assert response.status_code == 404
    assert response.json()["code"] == "resident_not_found"
    # both the key and the resident are in the audit log, once per request
    with tenant_context(tenant):
        entries = list(AuditEntry.objects.filter(action="api.acting_for_resident").order_by("id"))
    assert len(entries) == 2
    assert {(e.acting_resident_id, e.object_id) for e in entries} == {(me.pk, str(me.pk))}
    assert all(e.actor_key_id is not None for e in entries)
    assert entries[0].changes == {"request": [None, "GET /api/v1/community/residents"]}


def test_acting_for_an_unknown_or_moved_out_resident_is_404(tenant, make_key):
    with tenant_context(tenant):
        from tenants.community.services import resident_move_out

        gone = ResidentFactory()
        resident_move_out(resident_id=gone.pk)
    token = make_key("community:read", "residents:act")
    for value in [str(gone.pk), "999999", "abc", "-1"]:
        client = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=value)
        response = client.get("/api/v1/community/residents")
        assert response.status_code == 404, value
        assert response.json()["code"] == "acting_resident_not_found"


INTEGRATIONS = [
    ("district", 200, None),  # the district's own tool
    ("district_pd", 200, None),
    ("leader", 403, "not_for_residents"),  # the feed spans the tenant, not their building
    ("district_admin", 403, "not_for_residents"),  # a person, even one who leads everything
    ("owner", 403, "not_for_residents"),
]


@pytest.mark.parametrize(("caller", "status", "code"), INTEGRATIONS)
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/webhooks"])
def test_only_the_districts_tool_reads_events_and_manages_webhooks(
    tenant, make_key, caller, status, code, path
):
    from tests.tenants.community.world import build_world, problem

    world = build_world(tenant, make_key)
    assert problem(world.client(caller).get(path)) == (status, code)
