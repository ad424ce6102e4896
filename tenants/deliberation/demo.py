"""The deliberation part of the demo city: topics in every state, council meetings with
minutes and votes, and a year of leaders' outreach logs. Bulk inserts."""

from __future__ import annotations

import random
from datetime import time, timedelta

from django.db import connection, transaction

from linli import clock
from tenants.community.models import Household, Resident, Role, RoleAssignment
from tenants.deliberation.models import (
    AgendaItem,
    Contact,
    Meeting,
    Support,
    Topic,
    TopicEvent,
)

TITLES = (
    ("樓道燈不亮", "facilities"),
    ("小區車輛亂停", "parking"),
    ("垃圾分類點太遠", "sanitation"),
    ("健身器材損壞", "facilities"),
    ("噪音擾民", "neighbours"),
    ("綠化帶缺人打理", "greenery"),
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
                    description=f"{title} 請議事會討論",
                    category=category,
                    raised_by_id=rng.choice(people),
                    scope="estate",
                    estate_id=estate,
                    status=statuses[n % len(statuses)],
                    rejection_reason="不屬於本小區事務"
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
    meetings = Meeting.objects.bulk_create(
        Meeting(
            title="鄰里議事會",
            estate_id=estate,
            starts_at=clock.at(today - timedelta(days=30), time(19, 30)),  # an evening council
            place="黨群服務中心",
            convener_id=people[0],
            status="closed",
            minutes="議題逐一討論並表決。",
            invited_households=0,
        )
        for estate, people in by_estate.items()
    )
    decided = {t.estate_id: t for t in topics if t.status == "decided"}
    AgendaItem.objects.bulk_create(
        AgendaItem(meeting=m, topic=decided[m.estate_id], position=1, decided=True, outcome="通過")
        for m in meetings
        if m.estate_id in decided
    )
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
    return {"topics": len(topics), "meetings": len(meetings), "contacts": len(contacts)}
