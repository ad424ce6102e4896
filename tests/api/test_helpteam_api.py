"""The scheme's own story, end to end through the API, plus isolation and query counts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.services import module_set_enabled
from tenants.helpteam.models import HelpRequest, Volunteer
from tests.conftest import key_client
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory
from tests.tenants.helpteam.conftest import window_opened


@pytest.fixture
def landing(tenant, other_tenant):
    for slug in ("alpha", "beta"):
        module_set_enabled(slug=slug, module="helpteam", enabled=True)
        module_set_enabled(slug=slug, module="points", enabled=True)
    with tenant_context(tenant):
        unit = UnitFactory()
        parent = ResidentFactory(household=HouseholdFactory(unit=unit, flat_number="301"))
        neighbour = ResidentFactory(household=HouseholdFactory(unit=unit, flat_number="302"))
        Volunteer.objects.create(resident=neighbour)
    return {"parent": parent, "neighbour": neighbour}


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def test_the_neighbour_across_the_landing_picks_up_the_child(tenant, make_key, landing):
    token = make_key("helpteam:write", "points:read", "residents:act")
    parent = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(landing["parent"].pk))
    neighbour = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(landing["neighbour"].pk))
    tomorrow_five = (timezone.localtime() + timedelta(days=1)).replace(
        hour=17, minute=0, second=0, microsecond=0
    )
    # A posts "pick up my child tomorrow at 17:00"
    asked = post(
        parent,
        "/api/v1/helpteam/requests",
        {
            "category": "child_pickup",
            "description": "明天17:00幫忙接孩子放學",
            "window_start": tomorrow_five.isoformat(),
            "window_end": (tomorrow_five + timedelta(hours=1)).isoformat(),
        },
    )
    assert asked.status_code == 201, asked.json()
    request_id = asked.json()["id"]
    assert asked.json()["household_id"] == landing["parent"].household_id
    # B, across the landing, claims it, does it
    claimed = post(neighbour, f"/api/v1/helpteam/requests/{request_id}/claim")
    assert claimed.json()["status"] == "claimed"
    # tomorrow at 17:00 comes
    with tenant_context(tenant):
        window_opened(HelpRequest.objects.get(pk=request_id))
    assert (
        post(neighbour, f"/api/v1/helpteam/requests/{request_id}/done").json()["status"] == "done"
    )
    # A confirms
    confirmed = post(parent, f"/api/v1/helpteam/requests/{request_id}/confirm", {"hours": 1})
    assert confirmed.status_code == 200
    # B's balance rose by the rule's amount (default rule: 10 points an hour)
    account = neighbour.get(f"/api/v1/points/residents/{landing['neighbour'].pk}/account")
    assert account.json()["balance"] == 10
    # A's request shows as confirmed
    assert parent.get(f"/api/v1/helpteam/requests/{request_id}").json()["status"] == "confirmed"


def test_the_requester_cannot_claim_and_a_stranger_cannot_confirm(tenant, make_key, landing):
    token = make_key("helpteam:write", "residents:act")
    parent = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(landing["parent"].pk))
    start = timezone.now() + timedelta(hours=3)
    r = post(
        parent,
        "/api/v1/helpteam/requests",
        {
            "category": "plumbing",
            "description": "漏水",
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
        },
    ).json()
    own = post(parent, f"/api/v1/helpteam/requests/{r['id']}/claim")
    assert (own.status_code, own.json()["code"]) == (403, "not_a_volunteer")
    leader_tool = key_client(tenant, make_key("helpteam:write"))
    too_early = post(leader_tool, f"/api/v1/helpteam/requests/{r['id']}/confirm", {"hours": 1})
    assert too_early.status_code == 409
    assert too_early.json()["code"] == "not_done"


def test_another_tenants_requests_do_not_exist_here(tenant, api, other_api, landing):
    start = timezone.now() + timedelta(hours=3)
    created = post(
        api,
        "/api/v1/helpteam/requests",
        {
            "requester_id": landing["parent"].pk,
            "category": "x",
            "description": "y",
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=1)).isoformat(),
        },
    ).json()
    for method, path in [
        ("get", f"/api/v1/helpteam/requests/{created['id']}"),
        ("post", f"/api/v1/helpteam/requests/{created['id']}/claim"),
        ("post", f"/api/v1/helpteam/requests/{created['id']}/cancel"),
        ("get", f"/api/v1/helpteam/requests/{created['id']}/suggestions"),
    ]:
        response = getattr(other_api, method)(
            path, **({"data": "{}", "content_type": "application/json"} if method == "post" else {})
        )
        assert response.status_code == 404, (path, response.status_code)
        assert response.json()["code"] == "help_request_not_found"
    assert other_api.get("/api/v1/helpteam/requests").json()["items"] == []


@pytest.mark.parametrize("path", ["/api/v1/helpteam/requests", "/api/v1/helpteam/activities"])
def test_lists_run_a_constant_number_of_queries(tenant, api, landing, path):
    start = timezone.now() + timedelta(hours=3)
    from tenants.helpteam.models import Activity
    from tenants.helpteam.services import request_create

    with tenant_context(tenant):
        for _ in range(30):
            request_create(
                requester_id=landing["parent"].pk,
                category="x",
                description="y",
                window_start=start,
                window_end=start + timedelta(hours=1),
            )
            Activity.objects.create(
                title="t",
                estate=landing["parent"].household.unit.building.estate,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                capacity=5,
            )
    api.get(path)
    with CaptureQueriesContext(connection) as small:
        assert api.get(path + "?limit=2").status_code == 200
    with CaptureQueriesContext(connection) as large:
        assert api.get(path + "?limit=100").status_code == 200
    assert len(small.captured_queries) == len(large.captured_queries)


def test_residents_see_open_requests_of_their_own_estate_only(tenant, make_key, landing):
    with tenant_context(tenant):
        from tenants.helpteam.services import request_create

        elsewhere = ResidentFactory()  # another estate
        start = timezone.now() + timedelta(hours=3)
        far = request_create(
            requester_id=elsewhere.pk,
            category="x",
            description="y",
            window_start=start,
            window_end=start + timedelta(hours=1),
        )
        near = request_create(
            requester_id=landing["parent"].pk,
            category="x",
            description="y",
            window_start=start,
            window_end=start + timedelta(hours=1),
        )
    token = make_key("helpteam:read", "residents:act")
    neighbour = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(landing["neighbour"].pk))
    ids = [r["id"] for r in neighbour.get("/api/v1/helpteam/requests").json()["items"]]
    assert ids == [near.pk]
    assert neighbour.get(f"/api/v1/helpteam/requests/{far.pk}").status_code == 404


def test_a_building_leader_acting_in_the_app_confirms_for_an_elderly_neighbour(
    tenant, make_key, landing
):
    from decimal import Decimal

    from tenants.community.roles import role_assign
    from tenants.helpteam.models import HelpRequest
    from tenants.helpteam.services import request_claim, request_create, request_done

    with tenant_context(tenant):
        building = landing["parent"].household.unit.building
        leader = ResidentFactory(household=HouseholdFactory(unit=UnitFactory(building=building)))
        outsider = ResidentFactory()
        role_assign(
            resident_id=leader.pk, role="building_leader", scope="building", place_id=building.pk
        )
        start = timezone.now() - timedelta(hours=1)  # the window has opened
        r = request_create(
            requester_id=landing["parent"].pk,
            category="x",
            description="y",
            window_start=start,
            window_end=start + timedelta(hours=2),
        )
        request_claim(request_id=r.pk, volunteer_resident_id=landing["neighbour"].pk)
        request_done(request_id=r.pk, volunteer_resident_id=landing["neighbour"].pk)
    token = make_key("helpteam:write", "residents:act")
    stranger = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(outsider.pk))
    assert (
        post(stranger, f"/api/v1/helpteam/requests/{r.pk}/confirm", {"hours": 1}).status_code == 404
    )
    as_leader = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(leader.pk))
    response = post(as_leader, f"/api/v1/helpteam/requests/{r.pk}/confirm", {"hours": 1})
    assert response.status_code == 200, response.json()
    with tenant_context(tenant):
        assert HelpRequest.objects.get(pk=r.pk).hours == Decimal("1.00")


# --- who may do what: the defects the one access model fixed ----------------------------------


@pytest.fixture
def place(tenant, make_key, landing):
    """The parent's building, its leader (who also volunteers) and two more volunteers of the
    estate; a request of the parent's, open."""
    from tenants.community.roles import role_assign
    from tenants.helpteam.services import request_create

    with tenant_context(tenant):
        building = landing["parent"].household.unit.building
        leader = ResidentFactory(household=HouseholdFactory(unit=UnitFactory(building=building)))
        role_assign(
            resident_id=leader.pk, role="building_leader", scope="building", place_id=building.pk
        )
        Volunteer.objects.create(resident=leader)
        other = ResidentFactory(
            household=HouseholdFactory(unit=UnitFactory(building__estate=building.estate))
        )
        Volunteer.objects.create(resident=other)
        start = timezone.now() - timedelta(hours=1)  # the window has opened
        r = request_create(
            requester_id=landing["parent"].pk,
            category="plumbing",
            description="漏水",
            window_start=start,
            window_end=start + timedelta(hours=2),
        )
    token = make_key("helpteam:write", "points:read", "residents:act")

    def acting(resident):
        return key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(resident.pk))

    return {"leader": leader, "other": other, "request": r, "acting": acting}


def test_a_volunteer_who_leads_the_place_never_confirms_their_own_service(
    tenant, make_key, landing, place
):
    from tenants.helpteam.models import HelpRequest

    leader = place["acting"](place["leader"])
    base = f"/api/v1/helpteam/requests/{place['request'].pk}"
    assert post(leader, base + "/claim").json()["status"] == "claimed"
    assert post(leader, base + "/done").json()["status"] == "done"
    # when: the leader who did the work confirms it, or enters its hours
    own = post(leader, base + "/confirm", {"hours": 1})
    hours = post(
        leader,
        "/api/v1/helpteam/hours",
        {"entries": [{"request_id": place["request"].pk, "hours": 1}]},
    )
    # then: refused, and nothing is confirmed or awarded
    assert (own.status_code, own.json()["code"]) == (403, "own_service")
    assert (hours.status_code, hours.json()["code"]) == (403, "own_service")
    with tenant_context(tenant):
        unchanged = HelpRequest.objects.get(pk=place["request"].pk)
    assert (unchanged.status, unchanged.points_transaction_id) == ("done", None)
    # the requester (or another leader, or the district) confirms
    confirmed = post(place["acting"](landing["parent"]), base + "/confirm", {"hours": 1})
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "confirmed")


def test_a_second_volunteer_claiming_gets_409_already_claimed(tenant, landing, place):
    base = f"/api/v1/helpteam/requests/{place['request'].pk}"
    assert post(place["acting"](landing["neighbour"]), base + "/claim").status_code == 200
    for loser in (place["other"], place["leader"]):  # a plain volunteer, one with a role
        second = post(place["acting"](loser), base + "/claim")
        assert (second.status_code, second.json()["code"]) == (409, "already_claimed")
    # still 409 once the work has started
    assert post(place["acting"](landing["neighbour"]), base + "/start").status_code == 200
    late = post(place["acting"](place["other"]), base + "/claim")
    assert (late.status_code, late.json()["code"]) == (409, "already_claimed")


def test_permission_refusals_are_403_and_state_conflicts_409(tenant, landing, place):
    base = f"/api/v1/helpteam/requests/{place['request'].pk}"
    neighbour = place["acting"](landing["neighbour"])
    parent = place["acting"](landing["parent"])
    assert post(neighbour, base + "/claim").status_code == 200
    for response, code in [
        (post(neighbour, base + "/cancel"), "not_requester"),  # the volunteer cancels
        (post(neighbour, base + "/feedback", {"rating": 5}), "not_requester"),
        (post(place["acting"](place["leader"]), base + "/start"), "not_your_claim"),
        (post(parent, base + "/dispute", {"reason": "x"}), None),  # allowed: then the state
    ]:
        if code is None:
            assert (response.status_code, response.json()["code"]) == (409, "not_disputable")
        else:
            assert (response.status_code, response.json()["code"]) == (403, code)
    too_early = post(parent, base + "/confirm", {"hours": 1})
    assert (too_early.status_code, too_early.json()["code"]) == (409, "not_done")
