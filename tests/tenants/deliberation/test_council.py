"""Council meetings: quorum, one vote per household (also under a race), decisions, actions;
outreach coverage and a concern turned into a topic."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from threading import Barrier

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.errors import Conflict, LinliError, ValidationFailed
from linli.registry.services import tenant_create, tenant_delete
from tenants.audit.models import AuditEntry
from tenants.community.actor import actor_for_resident
from tenants.community.models import ResidentTag
from tenants.deliberation.access import NotAllowed, may_vote
from tenants.deliberation.council import (
    action_add,
    actions_overdue,
    item_decide,
    meeting_check_in,
    meeting_schedule,
    quorum,
    tally,
    vote_cast,
    voting_open,
)
from tenants.deliberation.models import AgendaItem, Topic
from tenants.deliberation.outreach import (
    contact_log,
    coverage,
    overdue_households,
    topic_from_contact,
)
from tenants.deliberation.services import topic_raise, topic_transition
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory


def build_estate(households: int = 4):
    unit = UnitFactory()
    homes = [HouseholdFactory(unit=unit) for _ in range(households)]
    people = [[ResidentFactory(household=h) for _ in range(2)] for h in homes]
    return unit, homes, people


def accepted_topic(resident, unit) -> Topic:
    topic = topic_raise(
        raised_by_id=resident.pk,
        title="亂停車",
        description="車輛亂停",
        category="parking",
        scope="estate",
        place_id=unit.building.estate_id,
    )
    return topic_transition(topic_id=topic.pk, to="accepted", actor_id=None)


def schedule(unit, people, topic) -> tuple:
    meeting = meeting_schedule(
        title="鄰里議事會",
        estate_id=unit.building.estate_id,
        starts_at=timezone.now(),
        convener_id=people[0][0].pk,
        topic_ids=[topic.pk],
    )
    return meeting, meeting.agenda.get()


def test_no_quorum_no_decision(in_tenant):
    unit, _homes, people = build_estate(4)
    meeting, item = schedule(unit, people, accepted_topic(people[0][0], unit))
    assert Topic.objects.get(pk=item.topic_id).status == "on_agenda"
    meeting_check_in(meeting_id=meeting.pk, resident_id=people[0][0].pk)
    meeting_check_in(meeting_id=meeting.pk, resident_id=people[0][1].pk)  # same household
    assert (quorum(meeting=meeting).present, quorum(meeting=meeting).required) == (1, 2)
    with pytest.raises(Conflict) as err:
        voting_open(item_id=item.pk)
    assert err.value.code == "no_quorum"
    with pytest.raises(Conflict) as err:
        item_decide(item_id=item.pk, outcome="")
    assert (err.value.status, err.value.code) == (409, "no_quorum")
    # nothing recorded: the item open, the topic on the agenda, no decision audited
    item.refresh_from_db()
    assert (item.decided, item.decided_without_quorum, item.outcome) == (False, False, "")
    assert Topic.objects.get(pk=item.topic_id).status == "on_agenda"
    assert not AuditEntry.objects.filter(action__startswith="meeting.decided").exists()


def test_its_convener_decides_without_quorum_with_a_reason_flagged_and_audited(in_tenant):
    # given: one household of four present, two needed
    unit, _homes, people = build_estate(4)
    meeting, item = schedule(unit, people, accepted_topic(people[0][0], unit))
    meeting_check_in(meeting_id=meeting.pk, resident_id=people[1][0].pk)
    assert not quorum(meeting=meeting).reached
    convener = meeting.convener_id
    # when
    decided = item_decide(
        item_id=item.pk,
        outcome="先行維修",
        without_quorum=True,
        reason="  颱風夜到場不足、漏水須即修  ",
        decided_by_id=convener,
    )
    # then: recorded and flagged, the reason kept (trimmed), the topic decided
    decided.refresh_from_db()
    assert (decided.decided, decided.decided_without_quorum, decided.outcome) == (
        True,
        True,
        "先行維修",
    )
    assert decided.without_quorum_reason == "颱風夜到場不足、漏水須即修"
    assert Topic.objects.get(pk=item.topic_id).status == "decided"
    [entry] = AuditEntry.objects.filter(action__startswith="meeting.decided")
    assert (entry.action, entry.object_id) == ("meeting.decided_without_quorum", str(item.pk))
    assert entry.changes == {
        "votes": [None, [0, 0, 0]],
        "quorum": [None, [4, 1, 2]],
        "decided_without_quorum": [False, True],
        "convener": [None, convener],
    }


@pytest.mark.parametrize("reason", ["", "   "])
def test_deciding_without_quorum_needs_a_reason(in_tenant, reason):
    unit, _homes, people = build_estate(4)
    meeting, item = schedule(unit, people, accepted_topic(people[0][0], unit))
    with pytest.raises(ValidationFailed) as err:
        item_decide(
            item_id=item.pk,
            outcome="",
            without_quorum=True,
            reason=reason,
            decided_by_id=meeting.convener_id,
        )
    assert (err.value.status, err.value.code, err.value.field) == (
        422,
        "reason_required",
        "reason",
    )
    item.refresh_from_db()
    assert (item.decided, item.decided_without_quorum) == (False, False)
    assert not AuditEntry.objects.filter(action__startswith="meeting.decided").exists()


@pytest.mark.parametrize("who", ["another resident", "no one"])
def test_only_the_convener_decides_without_quorum(in_tenant, who):
    """The service keeps the rule too (``access.may_decide_without_quorum`` refuses first)."""
    unit, _homes, people = build_estate(4)
    _meeting, item = schedule(unit, people, accepted_topic(people[0][0], unit))
    decided_by = people[1][0].pk if who == "another resident" else None
    with pytest.raises(NotAllowed) as refused:
        item_decide(
            item_id=item.pk,
            outcome="",
            without_quorum=True,
            reason="颱風夜",
            decided_by_id=decided_by,
        )
    assert (refused.value.status, refused.value.code) == (403, "not_convener")
    item.refresh_from_db()
    assert (item.decided, item.decided_without_quorum) == (False, False)
    assert Topic.objects.get(pk=item.topic_id).status == "on_agenda"
    assert not AuditEntry.objects.filter(action__startswith="meeting.decided").exists()


def test_with_its_quorum_a_meeting_decides_as_usual_even_if_asked_otherwise(in_tenant):
    unit, _homes, people = build_estate(2)
    meeting, item = schedule(unit, people, accepted_topic(people[0][0], unit))
    meeting_check_in(meeting_id=meeting.pk, resident_id=people[0][0].pk)
    assert quorum(meeting=meeting).reached
    decided = item_decide(
        item_id=item.pk,
        outcome="",
        without_quorum=True,
        reason="以防萬一",
        decided_by_id=meeting.convener_id,
    )
    decided.refresh_from_db()
    assert (decided.decided, decided.decided_without_quorum) == (True, False)
    assert decided.without_quorum_reason == ""
    [entry] = AuditEntry.objects.filter(action__startswith="meeting.decided")
    assert entry.action == "meeting.decided"
    assert entry.changes["quorum"] == [None, [2, 1, 1]]


def test_the_database_keeps_a_flag_without_a_reason_or_a_decision_out(in_tenant):
    from django.db import IntegrityError, transaction

    unit, _homes, people = build_estate(1)
    _meeting, item = schedule(unit, people, accepted_topic(people[0][0], unit))
    flagged = AgendaItem.objects.filter(pk=item.pk)
    for fields in (
        {"decided": True, "decided_without_quorum": True, "without_quorum_reason": ""},
        {"decided": False, "decided_without_quorum": True, "without_quorum_reason": "颱風"},
        {"decided": True, "decided_without_quorum": False, "without_quorum_reason": "颱風"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            flagged.update(**fields)


def test_one_vote_per_household_then_a_database_tally(in_tenant):
    unit, _homes, people = build_estate(3)
    meeting, item = schedule(unit, people, accepted_topic(people[0][0], unit))
    for household in people:
        for person in household:
            meeting_check_in(meeting_id=meeting.pk, resident_id=person.pk)
    with pytest.raises(Conflict) as err:
        vote_cast(item_id=item.pk, resident_id=people[0][0].pk, choice="for")
    assert err.value.code == "voting_closed"
    voting_open(item_id=item.pk)
    vote_cast(item_id=item.pk, resident_id=people[0][0].pk, choice="for")
    with pytest.raises(Conflict) as err:
        vote_cast(item_id=item.pk, resident_id=people[0][1].pk, choice="against")
    assert err.value.code == "already_voted"
    vote_cast(item_id=item.pk, resident_id=people[1][0].pk, choice="against")
    vote_cast(item_id=item.pk, resident_id=people[2][1].pk, choice="for")
    stranger = actor_for_resident(ResidentFactory())
    with pytest.raises(NotAllowed) as refused:
        may_vote(stranger, item)
    assert (refused.value.status, refused.value.code) == (403, "not_present")
    with pytest.raises(NotAllowed) as refused:  # the service keeps the rule too
        vote_cast(item_id=item.pk, resident_id=stranger.resident_id, choice="for")
    assert (refused.value.status, refused.value.code) == (403, "not_present")
    result = tally(item=item)
    assert (result.for_, result.against, result.abstain, result.carried) == (2, 1, 0, True)
    decided = item_decide(item_id=item.pk, outcome="劃定停車位")
    assert Topic.objects.get(pk=decided.topic_id).status == "decided"
    with pytest.raises(Conflict):
        vote_cast(item_id=item.pk, resident_id=people[2][0].pk, choice="for")
    action = action_add(
        item_id=item.pk,
        title="畫線",
        due_on=date.today() - timedelta(days=1),
        owner_resident_id=people[0][0].pk,
    )
    assert actions_overdue(today=date.today()) == [action]


@pytest.fixture
def vote_tenant(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        tenant = tenant_create(slug="vote_race", name="Votes", status="active")
        try:
            yield tenant
        finally:
            tenant_delete(slug="vote_race")


def test_two_members_of_one_household_voting_at_once_count_once(vote_tenant):
    with tenant_context(vote_tenant):
        unit, _homes, people = build_estate(1)
        meeting, item = schedule(unit, people, accepted_topic(people[0][0], unit))
        for person in people[0]:
            meeting_check_in(meeting_id=meeting.pk, resident_id=person.pk)
        voting_open(item_id=item.pk)
    barrier = Barrier(2)

    def vote(person) -> tuple[int, str]:
        try:
            barrier.wait()
            with tenant_context(vote_tenant):
                vote_cast(item_id=item.pk, resident_id=person.pk, choice="for")
            return (200, "ok")
        except LinliError as exc:
            return (exc.status, exc.code)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = Counter(pool.map(vote, people[0]))
    # the loser is told the household has voted: a state conflict, not a refusal
    assert outcomes == {(200, "ok"): 1, (409, "already_voted"): 1}
    with tenant_context(vote_tenant):
        assert tally(item=item).for_ == 1


def test_coverage_counts_visits_greetings_and_tagged_households(in_tenant):
    _unit, homes, people = build_estate(4)
    daily = ResidentTag.objects.create(name="獨居老人", outreach_frequency="daily")
    people[3][0].tags.add(daily)
    leader = people[0][0]
    today = timezone.localdate()
    contact_log(leader_id=leader.pk, household_id=homes[0].pk, kind="visit", on=today)
    contact_log(
        leader_id=leader.pk, household_id=homes[1].pk, kind="visit", on=today - timedelta(days=40)
    )  # too long ago
    contact_log(leader_id=leader.pk, household_id=homes[3].pk, kind="greeting", on=today)
    [row] = coverage(today=today)
    assert (
        row.households,
        row.visited,
        row.greeted_this_week,
        row.tagged_due,
        row.tagged_covered,
    ) == (4, 1, 1, 1, 1)
    assert row.visit_share == 0.25


def test_a_concern_heard_on_a_visit_becomes_a_topic(in_tenant):
    from tenants.community.roles import role_assign

    unit, homes, people = build_estate(2)
    leader = ResidentFactory(household=homes[0])
    role_assign(
        resident_id=leader.pk, role="building_leader", scope="building", place_id=unit.building_id
    )
    contact = contact_log(
        leader_id=leader.pk, household_id=homes[1].pk, kind="visit", concerns="樓道燈壞了"
    )
    topic = topic_from_contact(
        contact_id=contact.pk, title="樓道燈", category="facilities", raised_by_id=people[1][0].pk
    )
    assert (topic.heard_by_id, topic.description, topic.scope) == (leader.pk, "樓道燈壞了", "unit")
    assert [h.pk for h in overdue_households(actor=actor_for_resident(leader))] == [homes[0].pk]
    assert overdue_households(actor=actor_for_resident(people[1][0])) == []  # leads nothing


def test_the_admin_report_and_the_printable_meeting_record(tenant, in_tenant):
    from django.test import Client

    from linli.registry.services import module_set_enabled

    module_set_enabled(slug="alpha", module="deliberation", enabled=True)

    from tests.conftest import ADMIN_PASSWORD, host_of

    unit, _homes, people = build_estate(2)
    topic = accepted_topic(people[0][0], unit)
    meeting, item = schedule(unit, people, topic)
    for household in people:
        meeting_check_in(meeting_id=meeting.pk, resident_id=household[0].pk)
    voting_open(item_id=item.pk)
    vote_cast(item_id=item.pk, resident_id=people[0][0].pk, choice="for")
    item_decide(item_id=item.pk, outcome="劃定停車位")
    topic_transition(topic_id=topic.pk, to="in_progress", actor_id=None)
    topic_transition(topic_id=topic.pk, to="resolved", actor_id=None)
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    report = client.get("/admin/deliberation/topic/report/")
    assert report.status_code == 200
    body = report.content.decode()
    assert "<svg" in body and "resolved" in body
    record = client.get(f"/admin/deliberation/meeting/{meeting.pk}/record/")
    assert record.status_code == 200
    text = record.content.decode()
    assert "劃定停車位" in text and "reached" in text and "亂停車" in text
