"""Through the API: work is marked done no earlier than its window opens (409
``window_not_started``); a leader of the place, or the district's tool, records it early
with an ``early_reason``, which the request then shows (``done_early_reason``)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.services import module_set_enabled
from tenants.audit.models import AuditEntry
from tenants.community.roles import role_assign
from tenants.helpteam.models import HelpRequest, Volunteer
from tenants.helpteam.services import request_claim, request_create
from tests.conftest import key_client
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory
from tests.tenants.helpteam.conftest import window_opened

REASON = "The family asked to come this evening"


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def answer(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


@pytest.fixture
def tomorrow(tenant, make_key):
    """A request for tomorrow claimed by a plain volunteer, another claimed by a volunteer who
    leads the requester's building, and clients acting for each of them and for the district."""
    module_set_enabled(slug="alpha", module="helpteam", enabled=True)
    with tenant_context(tenant):
        unit = UnitFactory()
        requester = ResidentFactory(household=HouseholdFactory(unit=unit))
        volunteer = ResidentFactory(household=HouseholdFactory(unit=unit))
        leader = ResidentFactory(
            household=HouseholdFactory(unit=UnitFactory(building=unit.building))
        )
        role_assign(
            resident_id=leader.pk,
            role="building_leader",
            scope="building",
            place_id=unit.building_id,
        )
        requests = {}
        for who in (volunteer, leader):
            Volunteer.objects.create(resident=who)
            start = timezone.now() + timedelta(days=1)
            r = request_create(
                requester_id=requester.pk,
                category="plumbing",
                description="漏水",
                window_start=start,
                window_end=start + timedelta(hours=2),
            )
            request_claim(request_id=r.pk, volunteer_resident_id=who.pk)
            requests[who.pk] = r
    token = make_key("helpteam:write", "residents:act")

    def acting(resident):
        return key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(resident.pk))

    return {
        "volunteer": volunteer,
        "leader": leader,
        "plain": requests[volunteer.pk],  # the plain volunteer's claim
        "led": requests[leader.pk],  # the leader's own claim
        "acting": acting,
        "district": key_client(tenant, token),
    }


def stored(tenant, r) -> HelpRequest:
    with tenant_context(tenant):
        return HelpRequest.objects.get(pk=r.pk)


def done_url(r) -> str:
    return f"/api/v1/helpteam/requests/{r.pk}/done"


def test_done_before_the_window_is_a_409_problem_and_nothing_changes(tenant, tomorrow):
    response = post(tomorrow["acting"](tomorrow["volunteer"]), done_url(tomorrow["plain"]))
    assert answer(response) == (409, "window_not_started")
    assert response["Content-Type"].startswith("application/problem+json")
    # in the tenant's language
    assert response.json()["detail"] == "这项帮助约在稍后进行，时间未到，不能标记为完成。"  # noqa: RUF001
    after = stored(tenant, tomorrow["plain"])
    assert (after.status, after.done_at, after.done_early_reason) == ("claimed", None, "")
    # a leader who claimed it, without a reason: the same
    led = post(tomorrow["acting"](tomorrow["leader"]), done_url(tomorrow["led"]))
    assert answer(led) == (409, "window_not_started")
    assert stored(tenant, tomorrow["led"]).status == "claimed"


def test_a_leader_records_it_early_with_a_reason_and_the_request_shows_it(tenant, tomorrow):
    leader = tomorrow["acting"](tomorrow["leader"])
    response = post(leader, done_url(tomorrow["led"]), {"early_reason": REASON})
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["done_early_reason"]) == ("done", REASON)
    shown = leader.get(f"/api/v1/helpteam/requests/{tomorrow['led'].pk}").json()
    assert shown["done_early_reason"] == REASON
    after = stored(tenant, tomorrow["led"])
    assert (after.status, after.done_early_reason) == ("done", REASON)
    with tenant_context(tenant):
        entry = AuditEntry.objects.get(
            object_id=str(tomorrow["led"].pk), action="help_request.done_early"
        )
    assert entry.acting_resident_id == tomorrow["leader"].pk
    assert entry.changes["done_early_reason"] == [None, REASON]


def test_the_districts_tool_records_a_volunteers_work_early_with_a_reason(tenant, tomorrow):
    response = post(
        tomorrow["district"],
        done_url(tomorrow["plain"]),
        {"volunteer_resident_id": tomorrow["volunteer"].pk, "early_reason": REASON},
    )
    assert (response.status_code, response.json()["done_early_reason"]) == (200, REASON)
    assert stored(tenant, tomorrow["plain"]).status == "done"


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_leaders_blank_reason_is_a_422_on_that_field(tenant, tomorrow, blank):
    leader = tomorrow["acting"](tomorrow["leader"])
    response = post(leader, done_url(tomorrow["led"]), {"early_reason": blank})
    assert answer(response) == (422, "reason_required")
    assert [e["pointer"] for e in response.json()["errors"]] == ["/body/early_reason"]
    assert stored(tenant, tomorrow["led"]).status == "claimed"


def test_a_plain_volunteer_cannot_give_an_early_reason(tenant, tomorrow):
    volunteer = tomorrow["acting"](tomorrow["volunteer"])
    response = post(volunteer, done_url(tomorrow["plain"]), {"early_reason": REASON})
    assert answer(response) == (403, "early_for_leaders")
    after = stored(tenant, tomorrow["plain"])
    assert (after.status, after.done_early_reason) == ("claimed", "")


def test_once_the_window_opens_it_is_done_and_not_early(tenant, tomorrow):
    with tenant_context(tenant):
        window_opened(tomorrow["plain"], hours_ago=0)
    response = post(tomorrow["acting"](tomorrow["volunteer"]), done_url(tomorrow["plain"]))
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["done_early_reason"]) == ("done", None)


def test_the_done_operation_documents_its_early_reason(api):
    document = api.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/helpteam/requests/{request_id}/done"]["post"]
    assert {"200", "403", "404", "409", "422"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert set(schema["properties"]) == {"volunteer_resident_id", "early_reason"}
    out = document["components"]["schemas"]["HelpRequestOut"]
    assert "done_early_reason" in out["required"]
