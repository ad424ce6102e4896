"""The help-team part of the demo city: a help team per estate, 600 squads, volunteers,
and a history of requests (confirmed ones earned points) and activities. Bulk inserts.

The data is reproducible from the seed, but not the QR tokens: they are secrets (a check-in
proves presence with one), so each demo tenant gets its own from the models' random default,
as in production."""

from __future__ import annotations

import random
from datetime import time, timedelta
from decimal import Decimal

from django.db import connection, transaction

from linli import clock
from tenants.community.models import Estate, Household, Organisation, Resident, Role, RoleAssignment
from tenants.helpteam.models import (
    Activity,
    HelpRequest,
    HelpTeam,
    Membership,
    Signup,
    Skill,
    Space,
    Squad,
    Volunteer,
)

SKILLS = (
    ("child_pickup", "接送孩子"),
    ("plumbing", "水管维修"),
    ("electrical", "电路维修"),
    ("elderly_company", "陪伴老人"),
    ("shopping", "代买代送"),
    ("tutoring", "课业辅导"),
    ("cleaning", "清洁打扫"),
    ("hairdressing", "义剪"),
)
SHAPES = {
    "small": {"squads": 4, "requests": 60, "activities": 2},
    "full": {"squads": 600, "requests": 6000, "activities": 2},
}


@transaction.atomic
def helpteam_demo_build(*, scale: str, seed: int = 2021) -> dict[str, int]:
    shape = SHAPES[scale]
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    skills = Skill.objects.bulk_create(Skill(code=c, name=n) for c, n in SKILLS)
    estates = list(Estate.objects.order_by("pk"))
    teams = HelpTeam.objects.bulk_create(
        HelpTeam(estate=e, name=f"{e.name}邻里帮帮团") for e in estates
    )
    partners = list(Organisation.objects.exclude(kind="cooperative").order_by("pk"))
    squads = Squad.objects.bulk_create(
        Squad(
            name=f"邻里志愿服务队第{n + 1}队",
            organisation=partners[n % len(partners)] if partners and n % 3 == 0 else None,
        )
        for n in range(shape["squads"])
    )
    Through = Squad.estates.through
    Through.objects.bulk_create(
        Through(squad_id=s.pk, estate_id=estates[n % len(estates)].pk) for n, s in enumerate(squads)
    )
    volunteer_ids = list(
        RoleAssignment.objects.filter(role=Role.VOLUNTEER)
        .values_list("resident_id", flat=True)
        .distinct()
    )
    volunteers = Volunteer.objects.bulk_create(
        Volunteer(
            resident_id=rid,
            availability={
                day: [[8, 12], [14, 20]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")
            },
        )
        for rid in volunteer_ids
    )
    SkillThrough = Volunteer.skills.through
    SkillThrough.objects.bulk_create(
        SkillThrough(volunteer_id=v.pk, skill_id=rng.choice(skills).pk) for v in volunteers
    )
    team_by_estate = {t.estate_id: t for t in teams}
    estate_of = dict(
        Resident.objects.filter(pk__in=volunteer_ids).values_list(
            "pk", "household__unit__building__estate_id"
        )
    )
    Membership.objects.bulk_create(
        [
            Membership(
                volunteer=v,
                team=team_by_estate[estate_of[v.resident_id]],
                role="captain" if n % 20 == 0 else "member",
            )
            for n, v in enumerate(volunteers)
            if estate_of.get(v.resident_id) in team_by_estate
        ]
        + [
            Membership(volunteer=v, squad=squads[n % len(squads)])
            for n, v in enumerate(volunteers)
            if n % 2 == 0
        ]
    )
    households = list(Household.objects.values_list("pk", flat=True))
    requesters = dict(
        Resident.objects.exclude(pk__in=volunteer_ids).values_list("pk", "household_id")[:20000]
    )
    requester_ids = list(requesters)
    today = clock.today()
    requests = []
    for _n in range(shape["requests"]):
        who = rng.choice(requester_ids)
        # help asked for daytime hours on the city's clock, on the days it happened
        start = clock.at(today - timedelta(days=rng.randint(1, 180)), time(rng.randint(8, 17)))
        volunteer = rng.choice(volunteers)
        status = rng.choices(["confirmed", "open", "cancelled"], [85, 10, 5])[0]
        if status == "open":
            start = clock.at(today + timedelta(days=rng.randint(1, 3)), time(rng.randint(8, 17)))
        hours = Decimal(rng.choice(["0.5", "1", "1.5", "2", "3"]))
        requests.append(
            HelpRequest(
                requester_id=who,
                household_id=requesters[who] or rng.choice(households),
                category=rng.choice(SKILLS)[0],
                description="小事我帮您",
                urgency="normal",
                window_start=start,
                window_end=start + timedelta(hours=3),
                status=status,
                claimed_by=volunteer if status == "confirmed" else None,
                claimed_at=start if status == "confirmed" else None,
                done_at=start + timedelta(hours=2) if status == "confirmed" else None,
                confirmed_at=start + timedelta(hours=5) if status == "confirmed" else None,
                hours=hours if status == "confirmed" else None,
                rating=rng.choice([4, 5, 5, None]) if status == "confirmed" else None,
            )
        )
    HelpRequest.objects.bulk_create(requests, batch_size=5000)
    awarded = _award_history([r for r in requests if r.status == "confirmed"])
    spaces = Space.objects.bulk_create(
        Space(estate=e, name=name) for e in estates for name in ("乐邻坊", "亲邻坊")
    )
    activities = Activity.objects.bulk_create(
        Activity(
            title=rng.choice(["小事我帮您", "义剪进小区", "亲子读书会", "长者健康讲座"]),
            estate=space.estate,
            space=space,
            starts_at=clock.at(today + timedelta(days=rng.randint(1, 30)), time(9 + n % 8)),
            ends_at=clock.at(today + timedelta(days=rng.randint(31, 32)), time(18)),
            capacity=20,
            points_category="activity",
        )
        for n, space in enumerate(spaces)
        for _ in range(shape["activities"] // 2)
    )
    Signup.objects.bulk_create(
        Signup(activity=a, resident_id=rid, status="confirmed")
        for a in activities
        for rid in rng.sample(requester_ids, min(8, len(requester_ids)))
    )
    with connection.cursor() as cursor:
        for table in ("helpteam_helprequest", "helpteam_volunteer", "helpteam_signup"):
            cursor.execute(f'ANALYZE "{table}"')
    return {
        "help_teams": len(teams),
        "squads": len(squads),
        "volunteer_profiles": len(volunteers),
        "help_requests": len(requests),
        "points_awards": awarded,
        "activities": len(activities),
    }


def _award_history(confirmed: list[HelpRequest]) -> int:
    """The points the confirmed history earned (10 an hour), as real ledger transactions."""
    from tenants.points.models import Account, Posting, Transaction

    issuance, _created = Account.objects.get_or_create(
        code="system:issuance", defaults={"kind": "system", "name": "Points issued"}
    )
    resident_ids = {r.claimed_by.resident_id for r in confirmed if r.claimed_by}
    existing = {a.resident_id: a for a in Account.objects.filter(resident_id__in=resident_ids)}
    names = dict(Resident.objects.filter(pk__in=resident_ids).values_list("pk", "display_name"))
    Account.objects.bulk_create(
        Account(kind="resident", code=f"resident:{rid}", name=names[rid], resident_id=rid)
        for rid in resident_ids
        if rid not in existing
    )
    accounts = {a.resident_id: a for a in Account.objects.filter(resident_id__in=resident_ids)}
    # posted when the service was confirmed, not at build time
    transactions = Transaction.objects.bulk_create(
        (
            Transaction(
                kind="earn",
                memo=r.category,
                source=f"helpteam.request:{r.pk}",
                idempotency_key=f"helpteam.request:{r.pk}:confirm",
                request_hash="demo",
                created_at=r.confirmed_at or r.window_end,
                served_on=clock.day_of(r.window_start),
            )
            for r in confirmed
        ),
        batch_size=5000,
    )
    postings = []
    for r, tx in zip(confirmed, transactions, strict=True):
        points = int((r.hours or 0) * 10)
        assert r.claimed_by is not None  # confirmed requests were claimed
        postings += [
            Posting(transaction=tx, account=issuance, amount=-points, created_at=tx.created_at),
            Posting(
                transaction=tx,
                account=accounts[r.claimed_by.resident_id],
                amount=points,
                created_at=tx.created_at,
            ),
        ]
    Posting.objects.bulk_create(postings, batch_size=5000)
    for r, tx in zip(confirmed, transactions, strict=True):
        r.points_transaction_id = tx.pk
    HelpRequest.objects.bulk_update(confirmed, ["points_transaction_id"], batch_size=5000)
    return len(transactions)
