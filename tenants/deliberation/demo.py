"""The deliberation part of the demo city: topics in every state, council meetings with
minutes and votes, and a year of leaders' outreach logs. Bulk inserts."""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from django.db import connection, transaction
from django.db.models import Count

from linli import clock
from tenants.audit.context import Actor as AuditActor
from tenants.audit.services import audit_record
from tenants.community.models import Household, Resident, Role, RoleAssignment
from tenants.deliberation.council import deliberation_settings, quorum_required
from tenants.deliberation.models import (
    AgendaItem,
    Attendance,
    Contact,
    Meeting,
    Support,
    Topic,
    TopicEvent,
    Vote,
)

TITLES = (
    ("楼道灯不亮", "facilities"),
    ("小区车辆乱停", "parking"),
    ("垃圾分类点太远", "sanitation"),
    ("健身器材损坏", "facilities"),
    ("噪音扰民", "neighbours"),
    ("绿化带缺人打理", "greenery"),
)
VOTES = ("for", "against", "abstain")
WITHOUT_QUORUM_REASON = (
    "台风夜到场户数不足法定人数、议题急需处理、召集人决定照常表决并于下次会议追认。"
)
SHAPES = {
    "small": {"topics_per_estate": 6, "visits_per_household": 2},
    "full": {"topics_per_estate": 12, "visits_per_household": 12},
}


@transaction.atomic
def deliberation_demo_build(*, scale: str, seed: int = 2021) -> dict[str, int]:
    shape = SHAPES[scale]
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    today = clock.today()
    statuses = [s for s in Topic.Status.values if s != "merged"]
    residents = list(
        Resident.objects.exclude(household=None).values_list(
            "pk", "household__unit__building__estate_id"
        )
    )
    by_estate: dict[int, list[int]] = {}
    for pk, estate in residents:
        by_estate.setdefault(estate, []).append(pk)
    topics = []
    for estate, people in by_estate.items():
        for n in range(shape["topics_per_estate"]):
            title, category = TITLES[n % len(TITLES)]
            topics.append(
                Topic(
                    title=title,
                    description=f"{title} 请议事会讨论",
                    category=category,
                    raised_by_id=rng.choice(people),
                    scope="estate",
                    estate_id=estate,
                    status=statuses[n % len(statuses)],
                    rejection_reason="不属于本小区事务"
                    if statuses[n % len(statuses)] == "rejected"
                    else "",
                )
            )
    Topic.objects.bulk_create(topics, batch_size=5000)
    TopicEvent.objects.bulk_create(
        (TopicEvent(topic=t, from_status="", to_status="raised") for t in topics), batch_size=5000
    )
    Support.objects.bulk_create(
        (
            Support(topic=t, resident_id=r)
            for t in topics
            for r in set(rng.sample(by_estate[t.estate_id], min(5, len(by_estate[t.estate_id]))))
        ),
        batch_size=5000,
    )
    meetings, decisions = _council_build(rng, by_estate=by_estate, topics=topics, today=today)
    leaders = dict(
        RoleAssignment.objects.filter(
            role__in=[Role.BUILDING_LEADER, Role.UNIT_LEADER]
        ).values_list("building_id", "resident_id")
    )
    households = list(Household.objects.values_list("pk", "unit__building_id"))
    contacts = []
    for household, building in households:
        leader = leaders.get(building) or residents[0][0]
        for _ in range(shape["visits_per_household"]):
            contacts.append(
                Contact(
                    leader_id=leader,
                    household_id=household,
                    kind=rng.choice(["greeting", "greeting", "meeting", "visit"]),
                    on=today - timedelta(days=rng.randint(0, 365)),  # the city's days
                )
            )
    Contact.objects.bulk_create(contacts, batch_size=10000)
    with connection.cursor() as cursor:
        for table in ("deliberation_topic", "deliberation_contact", "deliberation_support"):
            cursor.execute(f'ANALYZE "{table}"')
    return {
        "topics": len(topics),
        "meetings": len(meetings),
        "decisions": decisions,
        "contacts": len(contacts),
    }


def _council_build(
    rng: random.Random, *, by_estate: dict[int, list[int]], topics: list[Topic], today: date
) -> tuple[list[Meeting], int]:
    """One closed council per estate, convened by its secretary a month ago, every household
    of the estate invited. Each decides its estate's decided topic: one resident of each
    household present checks in and the household votes, so the votes add up to those
    present; most meetings reach their quorum, every third does not and its convener
    records the decision as taken without quorum, saying why, as ``item_decide`` does."""
    secretaries = dict(
        RoleAssignment.objects.filter(role=Role.ESTATE_SECRETARY, scope="estate").values_list(
            "estate_id", "resident_id"
        )
    )
    homes: dict[int, dict[int, list[int]]] = {}  # estate -> household -> residents
    for pk, household, estate in Resident.objects.exclude(household=None).values_list(
        "pk", "household_id", "household__unit__building__estate_id"
    ):
        homes.setdefault(estate, {}).setdefault(household, []).append(pk)
    invited = dict(
        Household.objects.values_list("unit__building__estate_id")
        .annotate(n=Count("pk"))
        .values_list("unit__building__estate_id", "n")
    )
    meetings = Meeting.objects.bulk_create(
        Meeting(
            title="邻里议事会",
            estate_id=estate,
            starts_at=clock.at(today - timedelta(days=30), time(19, 30)),  # an evening council
            place="党群服务中心",
            convener_id=secretaries.get(estate, people[0]),
            status="closed",
            minutes="议题逐一讨论并表决。",
            invited_households=invited.get(estate, 0),
        )
        for estate, people in by_estate.items()
    )
    decided = {t.estate_id: t for t in topics if t.status == "decided"}
    per_household = deliberation_settings().vote_per == "household"
    attendance: list[Attendance] = []
    votes: list[Vote] = []
    entries: list[tuple[AgendaItem, dict[str, list[object]]]] = []
    for meeting in (m for m in meetings if m.estate_id in decided):
        households = homes.get(meeting.estate_id, {})
        required = quorum_required(invited=meeting.invited_households)
        short = len(entries) % 3 == 2 or len(households) < required
        present = rng.randint(required // 2, required - 1) if short else required
        present = min(len(households), present + (0 if short else rng.randint(0, required)))
        item = AgendaItem(
            meeting=meeting,
            topic=decided[meeting.estate_id],
            position=1,
            decided=True,
            decided_without_quorum=short,
            without_quorum_reason=WITHOUT_QUORUM_REASON if short else "",
        )
        cast = {choice: 0 for choice in VOTES}
        for household in rng.sample(sorted(households), present):
            resident = rng.choice(households[household])
            attendance.append(
                Attendance(meeting=meeting, resident_id=resident, household_id=household)
            )
            choice = rng.choices(VOTES, weights=(6, 2, 1))[0]
            cast[choice] += 1
            voter = f"h:{household}" if per_household else f"r:{resident}"
            votes.append(Vote(item=item, resident_id=resident, voter=voter, choice=choice))
        item.outcome = "通过" if cast["for"] > cast["against"] else "未通过"
        changes: dict[str, list[object]] = {
            "votes": [None, list(cast.values())],
            "quorum": [None, [meeting.invited_households, present, required]],
        }
        if short:
            changes["decided_without_quorum"] = [False, True]
            changes["convener"] = [None, meeting.convener_id]
        entries.append((item, changes))
    Attendance.objects.bulk_create(attendance, batch_size=5000)
    AgendaItem.objects.bulk_create(item for item, _changes in entries)
    Vote.objects.bulk_create(votes, batch_size=5000)
    for item, changes in entries:  # the audit log holds each decision as item_decide writes it
        audit_record(
            action="meeting.decided_without_quorum"
            if item.decided_without_quorum
            else "meeting.decided",
            obj=item,
            changes=changes,
            actor=AuditActor(acting_resident_id=item.meeting.convener_id),
        )
    return meetings, len(entries)
