"""A council decides with its quorum, or on its convener's explicit word that it had none,
through the API: the exact answers, and what is (not) recorded."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.services import module_set_enabled
from tenants.audit.models import AuditEntry
from tenants.community.roles import role_assign
from tenants.deliberation.council import meeting_schedule
from tenants.deliberation.models import AgendaItem, Topic
from tenants.deliberation.services import topic_raise, topic_transition
from tests.conftest import key_client
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory

API = "/api/v1/deliberation"


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def council(tenant, make_key) -> dict[str, Any]:
    """An estate of four households; its two secretaries; a meeting one of them convened
    with two topics on its agenda, which one household attended (two are needed)."""
    module_set_enabled(slug="alpha", module="deliberation", enabled=True)
    with tenant_context(tenant):
        unit: Any = UnitFactory()
        estate = unit.building.estate_id
        # factories are typed as themselves; what they make is a model
        residents: list[Any] = [
            ResidentFactory(household=HouseholdFactory(unit=unit)) for _ in range(4)
        ]
        convener: Any = ResidentFactory(household=None)
        other_secretary: Any = ResidentFactory(household=None)
        for secretary in (convener, other_secretary):
            role_assign(
                resident_id=secretary.pk, role="estate_secretary", scope="estate", place_id=estate
            )
        topics = []
        for title in ("亂停車", "電梯異響"):
            topic = topic_raise(
                raised_by_id=residents[0].pk,
                title=title,
                description="d",
                category="facilities",
                scope="estate",
                place_id=estate,
            )
            topics.append(topic_transition(topic_id=topic.pk, to="accepted", actor_id=None).pk)
        meeting = meeting_schedule(
            title="鄰里議事會",
            estate_id=estate,
            starts_at=timezone.now(),
            convener_id=convener.pk,
            topic_ids=topics,
        )
        items = list(AgendaItem.objects.filter(meeting=meeting).values_list("pk", flat=True))
    token = make_key("deliberation:read", "deliberation:write", "residents:act")
    district = key_client(tenant, token)
    as_ = {
        who: key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(person.pk))
        for who, person in [
            ("convener", convener),
            ("other_secretary", other_secretary),
            ("resident", residents[0]),
        ]
    }
    assert post(as_["resident"], f"{API}/meetings/{meeting.pk}/attendance", {}).status_code == 200
    return {
        "tenant": tenant,
        "district": district,
        "as": as_,
        "convener": convener.pk,
        "other_secretary": other_secretary.pk,
        "meeting": meeting.pk,
        "items": items,
        "decide": [f"{API}/meetings/{meeting.pk}/items/{item}/decision" for item in items],
    }


def problem(response: Any) -> tuple[int, str]:
    return (response.status_code, response.json()["code"])


def nothing_decided(council: dict[str, Any]) -> None:
    with tenant_context(council["tenant"]):
        items = AgendaItem.objects.filter(pk__in=council["items"])
        assert list(items.values_list("decided", "decided_without_quorum")) == [(False, False)] * 2
        assert set(
            Topic.objects.filter(agenda_items__in=items).values_list("status", flat=True)
        ) == {"on_agenda"}
        assert not AuditEntry.objects.filter(action__startswith="meeting.decided").exists()


def test_without_quorum_a_decision_is_refused_and_nothing_recorded(council):
    for client in (
        council["district"],
        council["as"]["convener"],
        council["as"]["other_secretary"],
    ):
        assert problem(post(client, council["decide"][0], {"outcome": "劃線"})) == (
            409,
            "no_quorum",
        )
    shown = council["district"].get(f"{API}/meetings/{council['meeting']}").json()
    assert (shown["present_households"], shown["quorum_required"], shown["quorum_reached"]) == (
        1,
        2,
        False,
    )
    assert [i["decided_without_quorum"] for i in shown["agenda"]] == [False, False]
    nothing_decided(council)


def test_the_convener_decides_without_quorum_flagged_and_audited(council):
    # when: the convener, acting for themself, decides without quorum and says why
    body = {"outcome": "劃線", "without_quorum": True, "reason": "颱風夜到場不足"}
    response = post(council["as"]["convener"], council["decide"][0], body)
    # then: recorded, flagged, the reason shown; the other item untouched
    assert response.status_code == 200
    first, second = response.json()["agenda"]
    assert (first["decided"], first["decided_without_quorum"], first["without_quorum_reason"]) == (
        True,
        True,
        "颱風夜到場不足",
    )
    assert (second["decided"], second["decided_without_quorum"]) == (False, False)
    with tenant_context(council["tenant"]):
        [entry] = AuditEntry.objects.filter(action__startswith="meeting.decided")
        assert (entry.action, entry.object_id) == (
            "meeting.decided_without_quorum",
            str(council["items"][0]),
        )
        assert entry.acting_resident_id == council["convener"]
        assert entry.changes["quorum"] == [None, [4, 1, 2]]
    # and the district's tool, naming the convener, decides the second the same way
    named = {**body, "reason": "同上", "convener_id": council["convener"]}
    response = post(council["district"], council["decide"][1], named)
    assert response.status_code == 200
    assert response.json()["agenda"][1]["without_quorum_reason"] == "同上"


def test_deciding_without_quorum_without_a_reason_is_422(council):
    for body in ({"without_quorum": True}, {"without_quorum": True, "reason": " "}):
        response = post(council["as"]["convener"], council["decide"][0], body)
        assert problem(response) == (422, "reason_required")
        assert [e["pointer"] for e in response.json()["errors"]] == ["/body/reason"]
    nothing_decided(council)


def test_only_the_convener_decides_without_quorum(council):
    body = {"without_quorum": True, "reason": "颱風夜到場不足"}
    # a secretary of the estate who did not convene it, and a resident who attended
    for who in ("other_secretary", "resident"):
        assert problem(post(council["as"][who], council["decide"][0], body)) == (
            403,
            "not_convener",
        )
    # the district's tool may not decide without quorum in its own name, nor name another
    unnamed = post(council["district"], council["decide"][0], body)
    assert problem(unnamed) == (422, "resident_required")
    assert [e["pointer"] for e in unnamed.json()["errors"]] == ["/body/convener_id"]
    other = {**body, "convener_id": council["other_secretary"]}
    assert problem(post(council["district"], council["decide"][0], other)) == (403, "not_convener")
    # a person names only themself
    for_convener = {**body, "convener_id": council["convener"]}
    assert problem(post(council["as"]["other_secretary"], council["decide"][0], for_convener)) == (
        403,
        "not_yourself",
    )
    nothing_decided(council)


def test_the_api_document_tells_the_rule(tenant_client):
    document = tenant_client.get("/api/v1/openapi.json").json()
    operation = document["paths"][
        "/api/v1/deliberation/meetings/{meeting_id}/items/{item_id}/decision"
    ]["post"]
    assert {"200", "403", "409", "422"} <= set(operation["responses"])
    schemas = document["components"]["schemas"]
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schemas[body_ref.rsplit("/", 1)[-1]]["properties"]
    assert {"outcome", "without_quorum", "reason", "convener_id"} <= set(body)
    item = next(s for name, s in schemas.items() if name.endswith("AgendaItemOut"))
    assert {"decided_without_quorum", "without_quorum_reason"} <= set(item["required"])
