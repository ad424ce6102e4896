"""Organisations (property companies, owners' committees, utilities...) and resident tags
through the API: listing and filtering, masking of the contact person, the district's
writes, refusals, isolation between tenants."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.audit.models import AuditEntry
from tenants.community.models import Organisation, OrganisationMember, ResidentTag
from tests.conftest import key_client
from tests.factories import ResidentFactory
from tests.tenants.community.world import build_world, call, problem

BASE = "/api/v1/community"
COMPANY = {
    "name": "岑溪物業管理有限公司",
    "kind": "property_management",
    "contact_name": "陳經理",
    "contact_phone": "138 1234 0070",
    "address": "岑溪市岑城路8號",
}


def post(client: Any, path: str, body: Any, **extra: Any) -> Any:
    return client.post(BASE + path, json.dumps(body), content_type="application/json", **extra)


def patch(client: Any, path: str, body: Any) -> Any:
    return client.patch(BASE + path, json.dumps(body), content_type="application/json")


def pointed(response: Any) -> tuple[int, str, list[str]]:
    body = response.json()
    return response.status_code, body["code"], [e["pointer"] for e in body.get("errors") or []]


def organisation(**fields: Any) -> Organisation:
    values = {"name": "岑溪業主委員會", "kind": "owners_committee", **fields}
    return Organisation.objects.create(**values)


def test_the_district_adds_an_organisation_and_the_audit_log_keeps_no_contact(tenant, api):
    response = post(api, "/organisations", COMPANY)
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "name": "岑溪物業管理有限公司",
        "kind": "property_management",
        "contact_name": "陳經理",
        "contact_phone": "+8613812340070",
        "address": "岑溪市岑城路8號",
        "active": True,
        "masked": False,
    }
    assert api.get(f"{BASE}/organisations/{body['id']}").json() == body
    with tenant_context(tenant):
        entry = AuditEntry.objects.get(action="organisation.created")
    assert entry.object_id == str(body["id"])
    assert entry.actor_key_id is not None
    assert entry.changes["contact_name"] == [None, "<personal>"]
    assert entry.changes["contact_phone"] == [None, "<personal>"]
    assert entry.changes["name"] == [None, "岑溪物業管理有限公司"]
    assert "陳經理" not in str(entry.changes)
    assert "+8613812340070" not in str(entry.changes)


def test_an_owners_committee_is_a_kind_of_organisation(tenant, api):
    response = post(
        api, "/organisations", {"name": "學府小區業主委員會", "kind": "owners_committee"}
    )
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["contact_phone"]) == ("owners_committee", "")
    listed = api.get(f"{BASE}/organisations?kind=owners_committee").json()["items"]
    assert [item["id"] for item in listed] == [response.json()["id"]]


def test_the_contact_person_is_masked_without_personal_data_access(tenant, make_key):
    with tenant_context(tenant):
        org = organisation(contact_name="陳經理", contact_phone="+8613812341234")
    masked = key_client(tenant, make_key("community:read")).get(f"{BASE}/organisations/{org.pk}")
    assert masked.status_code == 200
    assert masked.json() == {
        "id": org.pk,
        "name": "岑溪業主委員會",
        "kind": "owners_committee",
        "contact_name": "陳**",
        "contact_phone": "138****1234",
        "address": "",
        "active": True,
        "masked": True,
    }
    full = key_client(tenant, make_key("community:read", "personal_data:read"))
    shown = full.get(f"{BASE}/organisations/{org.pk}").json()
    assert (shown["contact_name"], shown["contact_phone"], shown["masked"]) == (
        "陳經理",
        "+8613812341234",
        False,
    )


def test_organisations_filter_by_kind_name_and_activity(tenant, api):
    with tenant_context(tenant):
        water = organisation(name="岑溪市自來水公司", kind="utility")
        power = organisation(name="岑溪市供電局", kind="utility", active=False)
        committee = organisation(name="學府業主委員會")

    def ids(query: str) -> list[int]:
        response = api.get(f"{BASE}/organisations{query}")
        assert response.status_code == 200, query
        return [item["id"] for item in response.json()["items"]]

    assert ids("") == [water.pk, power.pk, committee.pk]
    assert ids("?kind=utility") == [water.pk, power.pk]
    assert ids("?kind=utility&active=true") == [water.pk]
    assert ids("?active=false") == [power.pk]
    assert ids("?name=業主") == [committee.pk]
    assert ids("?name=%E5%B2%91%E6%BA%AA") == [water.pk, power.pk]  # 岑溪
    assert ids("?name=nothing") == []
    first = api.get(f"{BASE}/organisations?limit=2").json()
    assert [i["id"] for i in first["items"]] == [water.pk, power.pk]
    rest = api.get(f"{BASE}/organisations?limit=2&cursor={first['next']}").json()
    assert ([i["id"] for i in rest["items"]], rest["next"]) == ([committee.pk], None)
    for bad in ["?kind=bank", "?active=maybe", "?name=a%00b", "?name=" + "x" * 201]:
        assert pointed(api.get(f"{BASE}/organisations{bad}"))[:2] == (
            422,
            "validation_failed",
        ), bad


def test_a_page_of_organisations_costs_the_same_queries_whatever_its_size(
    tenant, make_key, django_assert_max_num_queries
):
    with tenant_context(tenant):
        for n in range(30):
            organisation(name=f"單位{n}", kind="partner_unit", contact_name="王某")
    client = key_client(tenant, make_key("community:read"))
    client.get(f"{BASE}/organisations?limit=1")  # warm the host and key caches
    with django_assert_max_num_queries(12) as small:
        assert len(client.get(f"{BASE}/organisations?limit=1").json()["items"]) == 1
    with django_assert_max_num_queries(12) as big:
        assert len(client.get(f"{BASE}/organisations?limit=200").json()["items"]) == 30
    assert len(big.captured_queries) == len(small.captured_queries)


def test_changing_an_organisation_changes_only_what_is_sent(tenant, api):
    with tenant_context(tenant):
        org = organisation(contact_name="陳經理", contact_phone="+8613812341234")
    response = patch(api, f"/organisations/{org.pk}", {"active": False, "address": " 新路1號 "})
    assert response.status_code == 200
    body = response.json()
    assert (body["active"], body["address"], body["contact_name"], body["kind"]) == (
        False,
        "新路1號",
        "陳經理",
        "owners_committee",
    )
    response = patch(api, f"/organisations/{org.pk}", {"contact_phone": "", "kind": "company"})
    assert (response.json()["contact_phone"], response.json()["kind"]) == ("", "company")
    with tenant_context(tenant):
        entries = list(AuditEntry.objects.filter(action="organisation.updated").order_by("id"))
    assert [e.changes for e in entries] == [
        {"active": [True, False], "address": ["", "新路1號"]},
        {"contact_phone": ["<personal>", ""], "kind": ["owners_committee", "company"]},
    ]


def test_organisation_names_are_unique(tenant, api):
    with tenant_context(tenant):
        organisation(name="甲公司", kind="company")
        other = organisation(name="乙公司", kind="company")
    assert pointed(post(api, "/organisations", {"name": "甲公司", "kind": "company"})) == (
        409,
        "organisation_exists",
        ["/body/name"],
    )
    assert pointed(patch(api, f"/organisations/{other.pk}", {"name": "甲公司"})) == (
        409,
        "organisation_exists",
        ["/body/name"],
    )
    with tenant_context(tenant):
        assert Organisation.objects.filter(name="甲公司").count() == 1
        assert Organisation.objects.get(pk=other.pk).name == "乙公司"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"kind": "company"}, "/body/name"),
        ({"name": "甲"}, "/body/kind"),
        ({"name": "甲", "kind": "bank"}, "/body/kind"),
        ({"name": "公" * 201, "kind": "company"}, "/body/name"),
        ({"name": "a\u0000", "kind": "company"}, "/body/name"),
        ({"name": "甲", "kind": "company", "active": 1}, "/body/active"),
        ({"name": "甲", "kind": "company", "contact_name": "名" * 65}, "/body/contact_name"),
        ({"name": "甲", "kind": "company", "contact_phone": 13812345678}, "/body/contact_phone"),
    ],
)
def test_a_bad_organisation_body_is_a_422_on_its_field(tenant, api, body, pointer):
    assert pointed(post(api, "/organisations", body)) == (422, "validation_failed", [pointer])
    with tenant_context(tenant):
        assert not Organisation.objects.exists()


def test_a_contact_phone_that_is_no_phone_number_is_refused_on_its_field(tenant, api):
    body = {"name": "甲", "kind": "company", "contact_phone": "12"}
    assert pointed(post(api, "/organisations", body)) == (
        422,
        "phone_invalid",
        ["/body/contact_phone"],
    )
    assert pointed(post(api, "/organisations", {**body, "contact_phone": None, "name": " "})) == (
        422,
        "name_required",
        ["/body/name"],
    )


def test_an_unknown_organisation_is_404(api):
    for response in [
        api.get(f"{BASE}/organisations/987654"),
        patch(api, "/organisations/987654", {"active": False}),
    ]:
        assert problem(response) == (404, "organisation_not_found")


@pytest.mark.parametrize(
    ("caller", "answer"),
    [
        ("district", (201, None)),
        ("district_admin", (201, None)),
        ("leader", (403, "not_for_residents")),
        ("owner", (403, "not_for_residents")),
        ("volunteer", (403, "not_for_residents")),
    ],
)
def test_only_the_district_keeps_organisations(tenant, make_key, caller, answer):
    world = build_world(tenant, make_key)
    with tenant_context(tenant):
        org = organisation()
    client = world.client(caller)
    response = call(client, "post", f"{BASE}/organisations", {"name": "新單位", "kind": "company"})
    assert problem(response) == answer
    response = call(client, "patch", f"{BASE}/organisations/{org.pk}", {"active": False})
    assert problem(response) == ((200, None) if answer[0] == 201 else answer)
    # everyone sees them (a topic is given to one)
    assert call(client, "get", f"{BASE}/organisations/{org.pk}").status_code == 200
    with tenant_context(tenant):
        assert Organisation.objects.filter(name="新單位").exists() is (answer[0] == 201)
        assert Organisation.objects.get(pk=org.pk).active is (answer[0] != 201)


def test_a_key_without_the_scope_cannot_read_or_write_organisations(tenant, make_key):
    with tenant_context(tenant):
        org = organisation()
    reader = key_client(tenant, make_key("community:read"))
    assert problem(post(reader, "/organisations", {"name": "新", "kind": "company"})) == (
        403,
        "scope_missing",
    )
    assert problem(patch(reader, f"/organisations/{org.pk}", {"active": False})) == (
        403,
        "scope_missing",
    )
    other = key_client(tenant, make_key("deliberation:write"))
    assert problem(other.get(f"{BASE}/organisations")) == (403, "scope_missing")
    assert problem(other.get(f"{BASE}/tags")) == (403, "scope_missing")
    with tenant_context(tenant):
        assert list(Organisation.objects.values_list("name", "active")) == [
            ("岑溪業主委員會", True)
        ]


def test_another_tenants_organisations_are_not_found_on_this_host(tenant, other_tenant, other_api):
    with tenant_context(tenant):
        org = organisation(contact_name="陳經理")
        ResidentTag.objects.create(name="黨員")
    assert problem(other_api.get(f"{BASE}/organisations/{org.pk}")) == (
        404,
        "organisation_not_found",
    )
    assert problem(patch(other_api, f"/organisations/{org.pk}", {"name": "貝塔"})) == (
        404,
        "organisation_not_found",
    )
    assert other_api.get(f"{BASE}/organisations").json() == {"items": [], "next": None}
    assert other_api.get(f"{BASE}/tags").json() == {"items": [], "next": None}
    with tenant_context(tenant):
        assert Organisation.objects.get(pk=org.pk).name == "岑溪業主委員會"


def test_an_organisation_added_with_an_idempotency_key_is_added_once(tenant, api):
    first = post(api, "/organisations", COMPANY, HTTP_IDEMPOTENCY_KEY="org-1")
    again = post(api, "/organisations", COMPANY, HTTP_IDEMPOTENCY_KEY="org-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    with tenant_context(tenant):
        assert Organisation.objects.count() == 1


# --- tags ----------------------------------------------------------------------------------


def test_the_resident_tags_are_listed_in_id_order(tenant, make_key):
    with tenant_context(tenant):
        party = ResidentTag.objects.create(name="黨員")
        alone = ResidentTag.objects.create(name="獨居老人", outreach_frequency="weekly")
    client = key_client(tenant, make_key("community:read"))
    response = client.get(f"{BASE}/tags")
    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {"id": party.pk, "name": "黨員", "outreach_frequency": ""},
            {"id": alone.pk, "name": "獨居老人", "outreach_frequency": "weekly"},
        ],
        "next": None,
    }
    first = client.get(f"{BASE}/tags?limit=1").json()
    assert [t["id"] for t in first["items"]] == [party.pk]
    assert [t["id"] for t in client.get(f"{BASE}/tags?cursor={first['next']}").json()["items"]] == [
        alone.pk
    ]
    assert problem(client.get(f"{BASE}/tags?limit=0")) == (422, "validation_failed")
    assert problem(client.get(f"{BASE}/tags?cursor=garbage")) == (422, "cursor_invalid")


# --- members -------------------------------------------------------------------------------


def test_the_district_adds_lists_and_removes_an_organisations_members(tenant, api):
    with tenant_context(tenant):
        org = organisation()
        chair = ResidentFactory()
    added = post(
        api, f"/organisations/{org.pk}/members", {"resident_id": chair.pk, "title": "主任"}
    )
    assert added.status_code == 201
    member_id = added.json()["id"]
    assert added.json() == {
        "id": member_id,
        "organisation_id": org.pk,
        "resident_id": chair.pk,
        "title": "主任",
    }
    listed = api.get(f"{BASE}/organisations/{org.pk}/members").json()
    assert listed == {"items": [added.json()], "next": None}
    again = post(api, f"/organisations/{org.pk}/members", {"resident_id": chair.pk})
    assert pointed(again) == (409, "member_exists", ["/body/resident_id"])
    removed = api.delete(f"{BASE}/organisations/{org.pk}/members/{member_id}")
    assert removed.status_code == 204
    assert api.get(f"{BASE}/organisations/{org.pk}/members").json()["items"] == []
    gone = api.delete(f"{BASE}/organisations/{org.pk}/members/{member_id}")
    assert problem(gone) == (404, "member_not_found")
    with tenant_context(tenant):
        assert not OrganisationMember.objects.exists()
        actions = list(
            AuditEntry.objects.filter(action__startswith="organisation.member")
            .order_by("id")
            .values_list("action", "changes")
        )
    assert actions == [
        (
            "organisation.member_added",
            {
                "organisation_id": [None, org.pk],
                "resident_id": [None, chair.pk],
                "title": [None, "主任"],
            },
        ),
        (
            "organisation.member_removed",
            {"organisation_id": [org.pk, None], "resident_id": [chair.pk, None]},
        ),
    ]


def test_a_member_must_be_an_active_resident_of_a_known_organisation(tenant, api):
    with tenant_context(tenant):
        org, other = organisation(), organisation(name="別的單位", kind="company")
        gone = ResidentFactory(status="moved_out", moved_out_on=timezone.localdate())
        member = OrganisationMember.objects.create(organisation=other, resident=ResidentFactory())
    for body, code, pointer in [
        ({"resident_id": 987654}, "resident_not_found", "/body/resident_id"),
        ({"resident_id": gone.pk}, "resident_not_found", "/body/resident_id"),
        ({"resident_id": "1"}, "validation_failed", "/body/resident_id"),
        ({"resident_id": 1, "title": "長" * 65}, "validation_failed", "/body/title"),
    ]:
        assert pointed(post(api, f"/organisations/{org.pk}/members", body))[:3] == (
            422,
            code,
            [pointer],
        ), body
    missing = post(api, "/organisations/987654/members", {"resident_id": member.resident_id})
    assert problem(missing) == (404, "organisation_not_found")
    assert problem(api.get(f"{BASE}/organisations/987654/members")) == (
        404,
        "organisation_not_found",
    )
    # a member of another organisation is not one of this one's
    wrong = api.delete(f"{BASE}/organisations/{org.pk}/members/{member.pk}")
    assert problem(wrong) == (404, "member_not_found")
    with tenant_context(tenant):
        assert list(OrganisationMember.objects.values_list("pk", flat=True)) == [member.pk]


@pytest.mark.parametrize("caller", ["leader", "owner", "volunteer"])
def test_only_the_district_keeps_members(tenant, make_key, caller):
    world = build_world(tenant, make_key)
    with tenant_context(tenant):
        org = organisation()
        member = OrganisationMember.objects.create(organisation=org, resident=world.people["owner"])
    client = world.client(caller)
    body = {"resident_id": world.id(caller)}
    response = call(client, "post", f"{BASE}/organisations/{org.pk}/members", body)
    assert problem(response) == (403, "not_for_residents")
    response = client.delete(f"{BASE}/organisations/{org.pk}/members/{member.pk}")
    assert problem(response) == (403, "not_for_residents")
    assert call(client, "get", f"{BASE}/organisations/{org.pk}/members").status_code == 200
    with tenant_context(tenant):
        assert list(OrganisationMember.objects.values_list("resident_id", flat=True)) == [
            world.id("owner")
        ]


def test_another_tenants_members_are_not_found_on_this_host(tenant, other_tenant, other_api):
    with tenant_context(tenant):
        org = organisation()
        member = OrganisationMember.objects.create(organisation=org, resident=ResidentFactory())
    assert problem(other_api.get(f"{BASE}/organisations/{org.pk}/members")) == (
        404,
        "organisation_not_found",
    )
    deleting = other_api.delete(f"{BASE}/organisations/{org.pk}/members/{member.pk}")
    assert problem(deleting) == (404, "organisation_not_found")
    adding = post(
        other_api, f"/organisations/{org.pk}/members", {"resident_id": member.resident_id}
    )
    assert problem(adding) == (404, "organisation_not_found")
    with tenant_context(tenant):
        assert OrganisationMember.objects.filter(pk=member.pk).exists()
