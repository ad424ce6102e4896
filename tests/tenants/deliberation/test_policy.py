"""Deliberation's policy table: every kind of caller by every action, with the exact status
and problem code, through the API and, where the resident pages offer the action, through
the pages too (one table, two channels). The world is drawn in ``world.py``.

Reading a cell: a number is success (200, 201); a pair is a refusal (status, code). Not
visible is 404 with the same body as missing; visible but not allowed is 403 with a code;
a state conflict is 409 (``topic.rate`` on an unresolved topic shows the permission is
judged first: the residents who may rate it get 409 ``not_resolved``, the others 403).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from tenants.audit.models import AuditEntry
from tenants.deliberation.models import AgendaItem, Contact, Meeting, Support, Topic
from tests.photos import png
from tests.tenants.deliberation.world import CALLERS, PEOPLE, World, build_world, post

API = "/api/v1/deliberation"
TNF = (404, "topic_not_found")
MNF = (404, "meeting_not_found")
LDR = (403, "not_a_leader")
OOS = (403, "out_of_scope")
OWN = (403, "own_topic")
NYH = (403, "not_your_household")
INV = (403, "not_invited")
ABS = (403, "not_present")
UNR = (409, "not_resolved")
NOQ = (409, "no_quorum")
NCV = (403, "not_convener")

Expected = int | tuple[int, str]


def row(*cells: Expected) -> dict[str, Expected]:
    """One cell per caller, in the order of ``CALLERS`` (the table's header)."""
    assert len(cells) == len(CALLERS)
    return dict(zip(CALLERS, cells, strict=True))


# action: (method, path, body, the body field naming the person, whom the district names)
# fmt: off
ACTIONS: dict[str, tuple[str, str, dict[str, Any] | None, str | None, str | None]] = {
    "topics.list": ("get", "/topics", None, None, None),
    "topic.get": ("get", "/topics/{topic}", None, None, None),
    "held.get": ("get", "/topics/{held}", None, None, None),
    "comments.list": ("get", "/topics/{topic}/comments", None, None, None),
    "topic.raise": ("post", "/topics", {"title": "電梯壞了", "description": "d",
                    "category": "facilities", "scope": "building", "place_id": "{building}"},
                    "raised_by_id", "author"),
    "topic.support": ("post", "/topics/{topic}/support", {}, "resident_id", "neighbour"),
    "topic.comment": ("post", "/topics/{topic}/comments", {"body": "我家門口也是"},
                      "resident_id", "neighbour"),
    "topic.rate": ("post", "/topics/{topic}/ratings", {"stars": 4}, "resident_id", "neighbour"),
    "topic.report": ("post", "/topics/{topic}/reports", {"reason": "wrong"},
                     "resident_id", "neighbour"),
    "topic.transition": ("post", "/topics/{topic}/transition", {"to": "in_progress"}, None, None),
    "topic.merge": ("post", "/topics/{duplicate}/merge", {"into_id": "{topic}"}, None, None),
    "topic.assign": ("post", "/topics/{topic}/assignment",
                     {"organisation_id": "{organisation}", "due_on": "2030-01-01"}, None, None),
    "held.review": ("post", "/topics/{held}/review", {"approve": True}, None, None),
    "photo.problem": ("photo", "/topics/{topic}/photos", {"kind": "problem"}, None, None),
    "photo.after": ("photo", "/topics/{topic}/photos", {"kind": "after"}, None, None),
    "meeting.create": ("post", "/meetings", {"estate_id": "{estate}", "building_id": "{building}",
                       "starts_at": "2030-01-01T19:00:00+08:00", "topic_ids": ["{agenda_topic}"]},
                       "convener_id", "leader"),
    "meeting.get": ("get", "/meetings/{meeting}", None, None, None),
    "meeting.attend": ("post", "/meetings/{meeting}/attendance", {}, "resident_id", "neighbour"),
    "vote.open": ("post", "/meetings/{meeting}/items/{item}/open", {}, None, None),
    "vote.cast": ("post", "/meetings/{meeting}/items/{item}/votes", {"choice": "for"},
                  "resident_id", "author"),
    "decision": ("post", "/meetings/{meeting}/items/{item}/decision", {"outcome": "劃線"},
                 None, None),
    "decision.no_quorum": ("post", "/meetings/{bare_meeting}/items/{bare_item}/decision",
                           {"outcome": "維修電梯"}, None, None),
    "decision.without_quorum": ("post", "/meetings/{bare_meeting}/items/{bare_item}/decision",
                                {"outcome": "維修電梯", "without_quorum": True,
                                 "reason": "颱風夜無人到場、電梯須即修"}, "convener_id", "leader"),
    "contact.log": ("post", "/contacts", {"household_id": "{household}", "kind": "visit"},
                    "leader_id", "leader"),
    "coverage": ("get", "/coverage", None, None, None),
}
# fmt: on

# fmt: off
TABLE: dict[str, dict[str, Expected]] = {
    #                   district author neighb. leader other_l far_l. estate_r volunt. outsider
    "topics.list":      row(200,   200,   200,   200,   200,   200,   200,   200,   200),
    # everyone living in estate E sees B1's topic; estate F does not
    "topic.get":        row(200,   200,   200,   200,   200,   TNF,   200,   200,   TNF),
    # held for review: its author, B1's leader and the district
    "held.get":         row(200,   200,   TNF,   200,   TNF,   TNF,   TNF,   TNF,   TNF),
    "comments.list":    row(200,   200,   200,   200,   200,   TNF,   200,   200,   TNF),
    # about where one lives, or a place one leads
    "topic.raise":      row(201,   201,   201,   201,   OOS,   OOS,   OOS,   OOS,   OOS),
    # residents where the topic is (B1's leader lives next door), but not its author
    "topic.support":    row(200,   OWN,   200,   OOS,   OOS,   TNF,   OOS,   OOS,   TNF),
    # residents where the topic is, and its leaders
    "topic.comment":    row(201,   201,   201,   201,   OOS,   TNF,   OOS,   OOS,   TNF),
    # residents where the topic is (it is not resolved yet: 409)
    "topic.rate":       row(UNR,   UNR,   UNR,   OOS,   OOS,   TNF,   OOS,   OOS,   TNF),
    # whoever sees it
    "topic.report":     row(200,   200,   200,   200,   200,   TNF,   200,   200,   TNF),
    # the leader actions: the district and B1's leader
    "topic.transition": row(200,   LDR,   LDR,   200,   OOS,   TNF,   LDR,   LDR,   TNF),
    "topic.merge":      row(200,   LDR,   LDR,   200,   OOS,   TNF,   LDR,   LDR,   TNF),
    "topic.assign":     row(200,   LDR,   LDR,   200,   OOS,   TNF,   LDR,   LDR,   TNF),
    "held.review":      row(200,   LDR,   TNF,   200,   TNF,   TNF,   TNF,   TNF,   TNF),
    # photos of the problem: residents where it is, and its leaders
    "photo.problem":    row(200,   200,   200,   200,   OOS,   TNF,   OOS,   OOS,   TNF),
    # photos of the fix: its leaders
    "photo.after":      row(200,   LDR,   LDR,   200,   OOS,   TNF,   LDR,   LDR,   TNF),
    "meeting.create":   row(201,   LDR,   LDR,   201,   OOS,   OOS,   LDR,   LDR,   LDR),
    "meeting.get":      row(200,   200,   200,   200,   200,   MNF,   200,   200,   MNF),
    # those who live in B1
    "meeting.attend":   row(200,   200,   200,   INV,   INV,   MNF,   INV,   INV,   MNF),
    "vote.open":        row(200,   LDR,   LDR,   200,   OOS,   MNF,   LDR,   LDR,   MNF),
    # those present (the author checked in)
    "vote.cast":        row(200,   200,   ABS,   ABS,   ABS,   MNF,   ABS,   ABS,   MNF),
    "decision":         row(200,   LDR,   LDR,   200,   OOS,   MNF,   LDR,   LDR,   MNF),
    # nobody came: whoever may run the meeting is told it has no quorum
    "decision.no_quorum":
                        row(NOQ,   LDR,   LDR,   NOQ,   OOS,   MNF,   LDR,   LDR,   MNF),
    # its convener alone (B1's leader) decides without quorum; the district names them
    "decision.without_quorum":
                        row(200,   NCV,   NCV,   200,   NCV,   MNF,   NCV,   NCV,   MNF),
    # a leader of the household's place
    "contact.log":      row(201,   LDR,   LDR,   201,   NYH,   NYH,   LDR,   LDR,   LDR),
    # the households a leader leads
    "coverage":         row(200,   LDR,   LDR,   200,   200,   200,   LDR,   LDR,   LDR),
}
# fmt: on
assert set(TABLE) == set(ACTIONS)

# The same actions on the resident pages (GET shows, POST redirects on success).
PAGES: dict[str, tuple[str, str, dict[str, str] | None]] = {
    "topic.get": ("get", "/r/topics/{topic}", None),
    "held.get": ("get", "/r/topics/{held}", None),
    "topic.support": ("post", "/r/topics/{topic}", {"action": "support"}),
    "topic.comment": ("post", "/r/topics/{topic}", {"action": "comment", "body": "我家門口也是"}),
}

CELLS = [(action, caller) for action in ACTIONS for caller in CALLERS]
PAGE_CELLS = [(action, who) for action in PAGES for who in PEOPLE]


@pytest.fixture
def world(tenant, make_key, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    return build_world(tenant, make_key)


def _fill(value: Any, things: dict[str, int]) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return things[value[1:-1]]
    if isinstance(value, list):
        return [_fill(v, things) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, things) for k, v in value.items()}
    return value


def call(world: World, action: str, caller: str, *, named: str | None = None) -> Any:
    """``action`` by ``caller``; the district's tool names ``named`` (else the table's)."""
    method, path, body, field, default = ACTIONS[action]
    url = API + path.format(**world.things)
    client = world.api(caller)
    if method == "get":
        return client.get(url)
    data = _fill(body or {}, world.things)
    if field is not None and caller == "district":
        who = named or default
        assert who is not None
        data[field] = world.id(who) if who in world.people else int(who)
    if method == "photo":
        photo = SimpleUploadedFile("p.png", png(), "image/png")
        return client.post(url, {**data, "photo": photo})
    return post(client, url, data)


def outcome(response: Any) -> Expected:
    if response.status_code < 400:
        return int(response.status_code)
    return (response.status_code, response.json()["code"])


@pytest.mark.parametrize(("action", "caller"), CELLS)
def test_the_api_answers_as_the_table_says(world, action, caller):
    response = call(world, action, caller)
    assert outcome(response) == TABLE[action][caller], response.content[:300]


@pytest.mark.parametrize(("action", "who"), PAGE_CELLS)
def test_the_resident_pages_answer_as_the_table_says(world, action, who):
    method, path, form = PAGES[action]
    client = world.page(who)
    url = path.format(**world.things)
    response = client.get(url) if method == "get" else client.post(url, form)
    expected = TABLE[action][who]
    if isinstance(expected, int):
        assert response.status_code == (200 if method == "get" else 302)
        return
    status, _code = expected
    assert response.status_code == status
    if status == 403:
        assert 'role="alert"' in response.content.decode()


def test_the_refused_change_nothing(world):
    """A refusal leaves no row behind: no support, no contact, no meeting, no move."""
    for caller in ("leader", "estate_resident", "outsider"):
        call(world, "topic.support", caller)
    for caller in ("other_leader", "neighbour"):
        call(world, "contact.log", caller)
        call(world, "meeting.create", caller)
        call(world, "topic.transition", caller)
    with tenant_context(world.tenant):
        assert not Support.objects.filter(topic_id=world.things["topic"]).exists()
        assert not Contact.objects.exists()
        assert set(Meeting.objects.values_list("pk", flat=True)) == {
            world.things["meeting"],
            world.things["bare_meeting"],
        }
        assert Topic.objects.get(pk=world.things["topic"]).status == "accepted"


LISTS = {
    "district": {"topic", "held", "duplicate", "agenda_topic"},
    "author": {"topic", "held", "duplicate", "agenda_topic"},
    "leader": {"topic", "held", "duplicate", "agenda_topic"},
    "neighbour": {"topic", "duplicate", "agenda_topic"},
    "other_leader": {"topic", "duplicate", "agenda_topic"},
    "estate_resident": {"topic", "duplicate", "agenda_topic"},
    "volunteer": {"topic", "duplicate", "agenda_topic"},
    "far_leader": set(),
    "outsider": set(),
}


@pytest.mark.parametrize("caller", CALLERS)
def test_each_list_holds_what_its_caller_sees_on_both_channels(
    world, caller, django_assert_max_num_queries
):
    names = {world.things[k]: k for k in ("topic", "held", "duplicate", "agenda_topic")}
    with django_assert_max_num_queries(12):
        listed = world.api(caller).get(API + "/topics?limit=100").json()["items"]
    assert {names[t["id"]] for t in listed if t["id"] in names} == LISTS[caller]
    held = [t for t in listed if t["id"] == world.things["held"]]
    assert [t["held_for_review"] for t in held] == ([True] if "held" in LISTS[caller] else [])
    if caller == "district":
        return
    page = world.page(caller).get("/r/topics").content.decode()
    shown = {k for k in names.values() if f'href="/r/topics/{world.things[k]}"' in page}
    assert shown == LISTS[caller]
    assert ('data-held="topic"' in page) == ("held" in LISTS[caller])


# --- naming someone: judged as if they acted -------------------------------------------------

# The code a named person gets where acting they would not even see the object.
NAMED_UNSEEN = {
    "topic.support": OOS,
    "topic.comment": OOS,
    "topic.rate": OOS,
    "topic.report": OOS,
    "meeting.attend": INV,
    "vote.cast": ABS,
    "decision.without_quorum": NCV,
}
NAMING = [a for a, spec in ACTIONS.items() if spec[3] is not None]


@pytest.mark.parametrize(("action", "who"), [(a, p) for a in NAMING for p in PEOPLE])
def test_a_person_the_district_names_is_judged_as_if_they_acted(world, action, who):
    acting = TABLE[action][who]
    expected = NAMED_UNSEEN[action] if isinstance(acting, tuple) and acting[0] == 404 else acting
    assert outcome(call(world, action, "district", named=who)) == expected


@pytest.mark.parametrize("action", NAMING)
def test_naming_no_one_or_no_resident_is_a_field_error(world, action):
    field = ACTIONS[action][3]
    missing = call(world, action, "district", named=str(10**9))
    assert outcome(missing) == (422, "resident_not_found")
    assert [e["pointer"] for e in missing.json()["errors"]] == [f"/body/{field}"]
    _method, path, body, _field, _who = ACTIONS[action]
    unnamed = post(
        world.api("district"), API + path.format(**world.things), _fill(body, world.things)
    )
    assert outcome(unnamed) == (422, "resident_required")


@pytest.mark.parametrize("action", NAMING)
def test_a_person_acting_names_only_themselves(world, action):
    _method, path, body, field, _who = ACTIONS[action]
    data = {**_fill(body, world.things), field: world.id("author")}
    response = post(world.api("leader"), API + path.format(**world.things), data)
    assert outcome(response) == (403, "not_yourself")
    data[field] = world.id("leader")  # naming oneself is the same as naming no one
    itself = post(world.api("leader"), API + path.format(**world.things), data)
    assert outcome(itself) == TABLE[action]["leader"]


# --- the defects the table was built for ---------------------------------------------------


def test_outreach_cannot_be_credited_to_a_resident_who_leads_nothing(world):
    # given: the neighbour leads nothing; acting for themself they may not log a contact
    assert outcome(call(world, "contact.log", "neighbour")) == LDR
    # when: the district's tool names them as the leader
    response = call(world, "contact.log", "district", named="neighbour")
    # then: the same refusal, and no coverage credited
    assert outcome(response) == LDR
    assert outcome(call(world, "contact.log", "district", named="other_leader")) == NYH
    with tenant_context(world.tenant):
        assert not Contact.objects.exists()


def test_a_meeting_is_convened_only_by_a_leader_of_its_place(world):
    assert outcome(call(world, "meeting.create", "district", named="neighbour")) == LDR
    assert outcome(call(world, "meeting.create", "district", named="other_leader")) == OOS
    unknown = call(world, "meeting.create", "district", named=str(10**9))  # was a 500
    assert outcome(unknown) == (422, "resident_not_found")
    assert unknown.json()["errors"][0]["pointer"] == "/body/convener_id"
    with tenant_context(world.tenant):
        assert set(Meeting.objects.values_list("pk", flat=True)) == {
            world.things["meeting"],
            world.things["bare_meeting"],
        }


def test_a_building_leader_acting_as_themself_leads_their_building_everywhere_and_no_more(
    world,
):
    assert outcome(call(world, "topic.transition", "leader")) == 200  # was not_for_residents
    assert outcome(call(world, "meeting.create", "leader")) == 201  # was not_for_residents
    assert outcome(call(world, "contact.log", "leader")) == 201
    assert outcome(call(world, "coverage", "leader")) == 200
    for action in ("topic.transition", "meeting.create", "decision"):
        assert outcome(call(world, action, "other_leader")) == OOS, action
    assert outcome(call(world, "contact.log", "other_leader")) == NYH
    with tenant_context(world.tenant):
        topic = Topic.objects.get(pk=world.things["topic"])
        assert topic.events.last().actor_id == world.id("leader")  # the timeline says who


def test_a_leaders_coverage_counts_only_the_households_they_lead(world):
    rows = world.api("leader").get(API + "/coverage").json()
    assert [(r["building_id"], r["households"]) for r in rows] == [(world.things["building"], 2)]
    everything = world.api("district").get(API + "/coverage").json()
    assert len(everything) >= 3


def test_refusals_are_403_and_conflicts_409(world):
    assert outcome(call(world, "topic.support", "estate_resident")) == OOS  # was 409
    assert outcome(call(world, "meeting.attend", "estate_resident")) == INV  # was 409
    assert outcome(call(world, "vote.cast", "neighbour")) == ABS  # was 409
    assert outcome(call(world, "topic.support", "neighbour")) == 200
    assert outcome(call(world, "topic.support", "neighbour")) == (409, "already_supported")
    assert outcome(call(world, "vote.cast", "author")) == 200
    assert outcome(call(world, "vote.cast", "author")) == (409, "already_voted")


# --- a decision without quorum -------------------------------------------------------------


def bare_item(world: World) -> AgendaItem:
    with tenant_context(world.tenant):
        return AgendaItem.objects.select_related("topic").get(pk=world.things["bare_item"])


def test_a_meeting_nobody_attended_decides_nothing_unless_its_convener_says_so(world):
    # given: nobody came to the bare meeting; every caller tries to decide its item
    for caller in CALLERS:
        call(world, "decision.no_quorum", caller)
    for caller in ("author", "other_leader", "estate_resident", "volunteer"):
        call(world, "decision.without_quorum", caller)
    for who in ("author", "other_leader", "far_leader"):
        call(world, "decision.without_quorum", "district", named=who)
    # then: nothing is decided, the topic is still on the agenda, nothing audited
    item = bare_item(world)
    assert (item.decided, item.decided_without_quorum, item.without_quorum_reason) == (
        False,
        False,
        "",
    )
    assert item.topic.status == "on_agenda"
    with tenant_context(world.tenant):
        assert not AuditEntry.objects.filter(action__startswith="meeting.decided").exists()


def test_the_convener_decides_without_quorum_on_the_record(world):
    # when: B1's leader, who convened it, decides without quorum and says why
    response = call(world, "decision.without_quorum", "leader")
    # then: decided, flagged, the reason shown, the meeting still without quorum
    assert response.status_code == 200
    meeting = response.json()
    assert (meeting["quorum_reached"], meeting["present_households"]) == (False, 0)
    [shown] = meeting["agenda"]
    assert (shown["decided"], shown["decided_without_quorum"]) == (True, True)
    assert shown["without_quorum_reason"] == "颱風夜無人到場、電梯須即修"
    item = bare_item(world)
    assert (item.decided_without_quorum, item.topic.status) == (True, "decided")
    with tenant_context(world.tenant):
        [entry] = AuditEntry.objects.filter(action__startswith="meeting.decided")
        assert entry.action == "meeting.decided_without_quorum"
        assert (entry.object_type, entry.object_id) == ("deliberation.agendaitem", str(item.pk))
        assert entry.acting_resident_id == world.id("leader")
        assert entry.changes["decided_without_quorum"] == [False, True]
        assert entry.changes["quorum"] == [None, [2, 0, 1]]
        assert entry.changes["convener"] == [None, world.id("leader")]
    # and once decided it stays decided
    again = call(world, "decision.without_quorum", "leader")
    assert outcome(again) == (409, "already_decided")


def test_a_decision_without_quorum_needs_a_reason(world):
    path = API + "/meetings/{bare_meeting}/items/{bare_item}/decision".format(**world.things)
    for reason in ("", "   "):
        body = {"outcome": "維修電梯", "without_quorum": True, "reason": reason}
        response = post(world.api("leader"), path, body)
        assert outcome(response) == (422, "reason_required")
        assert [e["pointer"] for e in response.json()["errors"]] == ["/body/reason"]
    # a non-convener is refused before the reason is looked at
    no_reason = {"outcome": "維修電梯", "without_quorum": True}
    assert outcome(post(world.api("other_leader"), path, no_reason)) == NCV
    assert bare_item(world).decided is False


def test_with_quorum_reached_asking_to_decide_without_it_is_an_ordinary_decision(world):
    # the first meeting has its quorum (the author checked in); the district names its convener
    path = API + "/meetings/{meeting}/items/{item}/decision".format(**world.things)
    body = {"without_quorum": True, "reason": "以防萬一", "convener_id": world.id("leader")}
    response = post(world.api("district"), path, body)
    assert response.status_code == 200
    [shown] = response.json()["agenda"]
    assert (shown["decided"], shown["decided_without_quorum"]) == (True, False)
    assert shown["without_quorum_reason"] == ""
    with tenant_context(world.tenant):
        [entry] = AuditEntry.objects.filter(action__startswith="meeting.decided")
        assert entry.action == "meeting.decided"
        assert "decided_without_quorum" not in entry.changes
