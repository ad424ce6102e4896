"""Notices through the API: a resident's own preferences and messages, leaders' notices and
surveys, and no tenant seeing another's."""

from __future__ import annotations

import json

from django_tenants.utils import tenant_context

from tenants.notices.models import Message
from tests.conftest import key_client
from tests.factories import BuildingFactory, HouseholdFactory, ResidentFactory, UnitFactory


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def test_a_notice_with_a_survey_from_sending_to_answers(tenant, other_tenant, make_key):
    with tenant_context(tenant):
        building = BuildingFactory()
        unit = UnitFactory(building=building)
        people = [ResidentFactory(household=HouseholdFactory(unit=unit)) for _ in range(3)]
    leader = key_client(tenant, make_key("community:write"))
    sent = post(
        leader,
        "/api/v1/notices/announcements",
        {
            "title": "樓道清理",
            "body": "週六上午清理樓道雜物",
            "target": "building",
            "target_id": building.pk,
            "questions": [{"text": "能參加嗎", "choices": ["能", "不能"]}],
        },
    )
    assert sent.status_code == 201, sent.json()
    notice = sent.json()
    assert notice["counts"]["recipients"] == 3 and notice["counts"]["read"] == 0
    token = make_key("community:write", "residents:act")
    first = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(people[0].pk))
    inbox = first.get("/api/v1/notices/messages").json()["items"]
    assert [m["announcement_id"] for m in inbox] == [notice["id"]]
    answered = post(
        first, f"/api/v1/notices/announcements/{notice['id']}/answers", {"answers": {"1": 0}}
    )
    assert answered.status_code == 200 and answered.json() == {"answered": 1}
    bad = post(
        first, f"/api/v1/notices/announcements/{notice['id']}/answers", {"answers": {"1": 5}}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "answer_invalid"
    second = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(people[1].pk))
    message_id = second.get("/api/v1/notices/messages").json()["items"][0]["id"]
    assert post(second, f"/api/v1/notices/messages/{message_id}/read").json()["read_at"]
    # someone else's message is not found for them
    assert post(first, f"/api/v1/notices/messages/{message_id}/read").status_code == 404
    counts = leader.get(f"/api/v1/notices/announcements/{notice['id']}").json()["counts"]
    assert counts["read"] == 2
    results = leader.get(f"/api/v1/notices/announcements/{notice['id']}/results").json()
    assert results == [{"question": 1, "building_id": building.pk, "building": building.name,
                        "counts": [1, 0]}]  # fmt: skip
    # residents cannot send notices
    refused = post(
        first,
        "/api/v1/notices/announcements",
        {"title": "x", "body": "y", "target": "building", "target_id": building.pk},
    )
    assert refused.status_code == 403 and refused.json()["code"] == "not_for_residents"
    # another tenant sees nothing of it
    beta = key_client(other_tenant, make_key("community:write", on=other_tenant))
    assert beta.get(f"/api/v1/notices/announcements/{notice['id']}").status_code == 404
    with tenant_context(other_tenant):
        assert not Message.objects.exists()


def test_a_resident_sets_their_own_channels_and_quiet_hours(tenant, make_key):
    with tenant_context(tenant):
        me, other = ResidentFactory(), ResidentFactory()
    token = make_key("community:write", "residents:act")
    client = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(me.pk))
    body = {"channels": ["wechat", "sms"], "wechat_openid": "o-1", "quiet_start": "22:00:00",
            "quiet_end": "07:00:00"}  # fmt: skip
    saved = client.put(
        f"/api/v1/notices/residents/{me.pk}/preferences",
        json.dumps(body),
        content_type="application/json",
    )
    assert saved.status_code == 200 and saved.json()["channels"] == ["wechat", "sms"]
    assert (
        client.get(f"/api/v1/notices/residents/{me.pk}/preferences").json()["quiet_end"]
        == "07:00:00"
    )
    theirs = client.put(
        f"/api/v1/notices/residents/{other.pk}/preferences",
        json.dumps(body),
        content_type="application/json",
    )
    # someone else's preferences are not there for them: the same 404 as a missing resident
    assert theirs.status_code == 404 and theirs.json()["code"] == "resident_not_found"
    wrong = client.put(
        f"/api/v1/notices/residents/{me.pk}/preferences",
        json.dumps({"channels": ["email"]}),
        content_type="application/json",
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "email_required"


def test_another_tenants_key_reaches_no_resident_or_message_here(tenant, other_tenant, make_key):
    from tenants.notices.services import message_store, preference_set

    with tenant_context(tenant):
        here = [ResidentFactory() for _ in range(3)][-1]  # an id beta does not have
        preference_set(resident_id=here.pk, channels=["sms"])
        message_store(resident_id=here.pk, kind="k", subject="s", body="alpha only")
    beta = key_client(other_tenant, make_key("community:write", on=other_tenant))
    got = beta.get(f"/api/v1/notices/residents/{here.pk}/preferences")
    assert got.status_code == 404 and got.json()["code"] == "resident_not_found"
    assert beta.get(f"/api/v1/notices/messages?resident_id={here.pk}").json()["items"] == []
    put = beta.put(
        f"/api/v1/notices/residents/{here.pk}/preferences",
        json.dumps({"channels": ["email"], "email": "x@example.org"}),
        content_type="application/json",
    )
    assert put.status_code == 404
    with tenant_context(tenant):
        from tenants.notices.models import ChannelPreference

        assert ChannelPreference.objects.get(resident=here).channels == ["sms"]
