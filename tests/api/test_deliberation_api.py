from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from linli.registry.services import module_set_enabled
from tests.conftest import key_client
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory


@pytest.fixture
def neighbours(tenant, other_tenant):
    for slug in ("alpha", "beta"):
        module_set_enabled(slug=slug, module="deliberation", enabled=True)
    with tenant_context(tenant):
        unit = UnitFactory()
        return [ResidentFactory(household=HouseholdFactory(unit=unit)) for _ in range(2)]


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_a_corridor_light_from_raising_to_resolved(tenant, make_key, api, neighbours):
    token = make_key("deliberation:write", "residents:act")
    me = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(neighbours[0].pk))
    you = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(neighbours[1].pk))
    raised = post(
        me,
        "/api/v1/deliberation/topics",
        {
            "title": "樓道燈不亮",
            "description": "三樓",
            "category": "facilities",
            "scope": "unit",
            "place_id": neighbours[0].household.unit_id,
        },
    )
    assert raised.status_code == 201
    topic_id = raised.json()["id"]
    assert (
        post(you, f"/api/v1/deliberation/topics/{topic_id}/support", {}).json()["supporters"] == 1
    )
    refused = post(me, f"/api/v1/deliberation/topics/{topic_id}/transition", {"to": "accepted"})
    assert (refused.status_code, refused.json()["code"]) == (403, "not_for_residents")
    for step in ["accepted", "on_agenda", "decided", "in_progress", "resolved"]:
        assert (
            post(
                api, f"/api/v1/deliberation/topics/{topic_id}/transition", {"to": step}
            ).status_code
            == 200
        )
    wrong = post(api, f"/api/v1/deliberation/topics/{topic_id}/transition", {"to": "accepted"})
    assert (wrong.status_code, wrong.json()["code"]) == (409, "transition_not_allowed")
    timeline = me.get(f"/api/v1/deliberation/topics/{topic_id}").json()["timeline"]
    assert [e["to_status"] for e in timeline][-1] == "resolved"


def test_another_tenants_topics_do_not_exist_here(tenant, api, other_api, neighbours):
    topic = post(
        api,
        "/api/v1/deliberation/topics",
        {
            "raised_by_id": neighbours[0].pk,
            "title": "t",
            "description": "d",
            "category": "c",
            "scope": "unit",
            "place_id": neighbours[0].household.unit_id,
        },
    ).json()
    for method, path, body in [
        ("get", f"/api/v1/deliberation/topics/{topic['id']}", None),
        ("get", f"/api/v1/deliberation/topics/{topic['id']}/comments", None),
        ("post", f"/api/v1/deliberation/topics/{topic['id']}/support", {"resident_id": 1}),
        (
            "post",
            f"/api/v1/deliberation/topics/{topic['id']}/comments",
            {"resident_id": 1, "body": "x"},
        ),
        ("post", f"/api/v1/deliberation/topics/{topic['id']}/transition", {"to": "accepted"}),
        ("post", f"/api/v1/deliberation/topics/{topic['id']}/merge", {"into_id": topic["id"]}),
    ]:
        response = other_api.get(path) if method == "get" else post(other_api, path, body)
        assert (response.status_code, response.json()["code"]) == (404, "topic_not_found"), path
    assert other_api.get("/api/v1/deliberation/topics").json()["items"] == []
