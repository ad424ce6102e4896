"""Notices' policy, one table per kind of action: every kind of caller by preferences,
messages, notices and surveys, through the API, with the exact status and problem code.
The rules live in ``tenants.notices.access``; the world is ``tests/tenants/community/world.py``.
"""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenants.notices.models import Announcement, ChannelPreference, Message, SurveyAnswer
from tenants.notices.services import announcement_send, message_store
from tests.tenants.community.world import World, build_world, call, problem

OK, CREATED = (200, None), (201, None)
NO_RESIDENT = (404, "resident_not_found")
NO_MESSAGE = (404, "message_not_found")
NO_NOTICE = (404, "announcement_not_found")
NOT_YOURSELF = (403, "not_yourself")
NOT_FOR_RESIDENTS = (403, "not_for_residents")
OUT_OF_SCOPE = (403, "out_of_scope")


@pytest.fixture
def world(tenant, make_key) -> World:
    world = build_world(tenant, make_key)
    with tenant_context(tenant):
        one, two = world.units["one"].building, world.units["two"].building
        world.extra = {
            "message": message_store(
                resident_id=world.id("owner"), kind="k", subject="s", body="for the owner"
            ),
            "to_one": announcement_send(
                title="樓道清理",
                body="週六",
                target="building",
                target_id=one.pk,
                questions=[("能參加嗎", ["能", "不能"])],
            ),
            "to_two": announcement_send(
                title="停水", body="週日", target="building", target_id=two.pk
            ),
            "one": one,
            "two": two,
        }
    return world


# --- a resident's own preferences and messages ---------------------------------------------------

PREFERENCES = [
    ("district", OK),  # the district's tool names anyone
    ("owner", OK),  # their own
    ("spouse", NO_RESIDENT),  # not even the household's
    ("leader", NO_RESIDENT),  # nor a leader's
    ("district_admin", NO_RESIDENT),  # a person names only themself
    ("stranger", NO_RESIDENT),
]


@pytest.mark.parametrize(("caller", "answer"), PREFERENCES)
def test_who_reads_the_owners_preferences(world, caller, answer):
    path = f"/api/v1/notices/residents/{world.id('owner')}/preferences"
    assert problem(call(world.client(caller), "get", path)) == answer


@pytest.mark.parametrize(("caller", "answer"), PREFERENCES)
def test_who_sets_the_owners_preferences(world, caller, answer):
    path = f"/api/v1/notices/residents/{world.id('owner')}/preferences"
    response = call(world.client(caller), "put", path, {"channels": ["sms"]})
    assert problem(response) == answer
    with tenant_context(world.tenant):
        assert ChannelPreference.objects.filter(resident=world.people["owner"]).exists() is (
            answer == OK
        )


# (caller, resident named in the query: "owner" or None) → the answer
MESSAGES = [
    ("district", "owner", OK),
    ("district", None, (422, "resident_required")),  # the tool must say whose
    ("owner", None, OK),  # naming no one is naming themself
    ("owner", "owner", OK),
    ("spouse", "owner", NOT_YOURSELF),
    ("leader", "owner", NOT_YOURSELF),
    ("district_admin", "owner", NOT_YOURSELF),
]


@pytest.mark.parametrize(("caller", "whose", "answer"), MESSAGES)
def test_who_lists_the_owners_messages(world, caller, whose, answer):
    query = f"?resident_id={world.id(whose)}" if whose else ""
    response = call(world.client(caller), "get", f"/api/v1/notices/messages{query}")
    assert problem(response) == answer
    if answer == OK:
        assert [m["body"] for m in response.json()["items"]] == ["for the owner", "週六"]


READ = [
    ("owner", None, OK),
    ("district", "owner", OK),
    ("district", "spouse", NO_MESSAGE),  # not that resident's message
    ("spouse", None, NO_MESSAGE),  # the same 404 as a missing message
    ("leader", None, NO_MESSAGE),
    ("spouse", "owner", NOT_YOURSELF),
]


@pytest.mark.parametrize(("caller", "whose", "answer"), READ)
def test_who_marks_the_owners_message_read(world, caller, whose, answer):
    query = f"?resident_id={world.id(whose)}" if whose else ""
    path = f"/api/v1/notices/messages/{world.extra['message'].pk}/read{query}"
    assert problem(call(world.client(caller), "post", path)) == answer
    with tenant_context(world.tenant):
        read = Message.objects.get(pk=world.extra["message"].pk).read_at is not None
    assert read is (answer == OK)


# --- leaders' notices ----------------------------------------------------------------------------

SEND = [
    ("district", "building:one", CREATED),
    ("district", "tag", CREATED),
    ("district_admin", "building:two", CREATED),
    ("leader", "building:one", CREATED),  # the building they lead
    ("leader", "building:two", OUT_OF_SCOPE),  # and nowhere else
    ("leader", "estate", OUT_OF_SCOPE),  # a building leader does not lead the estate
    ("leader", "tag", OUT_OF_SCOPE),  # everyone with a tag: the district's
    ("other_leader", "building:one", OUT_OF_SCOPE),
    ("owner", "building:one", NOT_FOR_RESIDENTS),
    ("volunteer", "building:two", NOT_FOR_RESIDENTS),
]


@pytest.mark.parametrize(("caller", "target", "answer"), SEND)
def test_who_sends_notices_where(world, caller, target, answer):
    from tenants.community.models import ResidentTag

    with tenant_context(world.tenant):
        ResidentTag.objects.create(name="黨員")
    body = {
        "building:one": {"target": "building", "target_id": world.extra["one"].pk},
        "building:two": {"target": "building", "target_id": world.extra["two"].pk},
        "estate": {"target": "estate", "target_id": world.extra["one"].estate_id},
        "tag": {"target": "tag", "target_tag": "黨員"},
    }[target]
    before = _notices(world)
    response = call(
        world.client(caller),
        "post",
        "/api/v1/notices/announcements",
        {"title": "t", "body": "b", **body},
    )
    assert problem(response) == answer
    assert _notices(world) == before + (1 if answer == CREATED else 0)
    if answer == CREATED and caller != "district":  # a person is recorded as the sender
        with tenant_context(world.tenant):
            sent = Announcement.objects.get(pk=response.json()["id"])
        assert sent.sent_by_id == world.id(caller)


def _notices(world: World) -> int:
    with tenant_context(world.tenant):
        return Announcement.objects.count()


SEE = [
    ("district", "to_one", OK),
    ("district_admin", "to_two", OK),
    ("leader", "to_one", OK),  # went to the building they lead
    ("leader", "to_two", NO_NOTICE),
    ("other_leader", "to_one", NO_NOTICE),
    ("other_leader", "to_two", OK),
    ("owner", "to_one", NOT_FOR_RESIDENTS),  # a recipient reads the message, not the counts
    ("volunteer", "to_two", NOT_FOR_RESIDENTS),
]


@pytest.mark.parametrize(("caller", "notice", "answer"), SEE)
def test_who_reads_a_notices_counts_and_results(world, caller, notice, answer):
    path = f"/api/v1/notices/announcements/{world.extra[notice].pk}"
    client = world.client(caller)
    assert problem(call(client, "get", path)) == answer
    assert problem(call(client, "get", f"{path}/results")) == answer


def test_a_leader_reads_back_the_notice_they_sent(world):
    client = world.client("leader")
    sent = call(
        client,
        "post",
        "/api/v1/notices/announcements",
        {"title": "t", "body": "b", "target": "building", "target_id": world.extra["one"].pk},
    ).json()
    assert problem(call(client, "get", f"/api/v1/notices/announcements/{sent['id']}")) == OK


ANSWER = [
    ("owner", "to_one", OK),  # they were sent it
    ("leader", "to_one", OK),  # so was the leader, who lives there
    ("stranger", "to_one", NO_NOTICE),  # not sent to them: as if missing
    ("owner", "to_two", NO_NOTICE),
    ("district", "to_one", (403, "acting_resident_required")),  # only a person answers
]


@pytest.mark.parametrize(("caller", "notice", "answer"), ANSWER)
def test_who_answers_which_survey(world, caller, notice, answer):
    path = f"/api/v1/notices/announcements/{world.extra[notice].pk}/answers"
    response = call(world.client(caller), "post", path, {"answers": {"1": 0}})
    assert problem(response) == answer
    with tenant_context(world.tenant):
        assert SurveyAnswer.objects.exists() is (answer == OK)
