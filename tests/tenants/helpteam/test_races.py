"""Real races over real connections: one claim wins; points are awarded once.

These tests commit, in a tenant of their own that is dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.errors import LinliError
from linli.registry.models import Tenant
from linli.registry.services import tenant_create, tenant_delete
from tenants.community.actor import actor_for_resident
from tenants.helpteam.models import HelpRequest, Volunteer
from tenants.helpteam.services import (
    request_claim,
    request_confirm,
    request_create,
    request_done,
)
from tenants.points.models import Account, Transaction
from tests.factories import ResidentFactory
from tests.races import race


@pytest.fixture
def race_tenant(django_db_setup, django_db_blocker) -> Iterator[Tenant]:
    with django_db_blocker.unblock():
        tenant = tenant_create(
            slug="help_race", name="Race", status="active", modules=["helpteam", "points"]
        )
        try:
            yield tenant
        finally:
            tenant_delete(slug="help_race")


def test_eight_volunteers_race_for_one_request(race_tenant):
    with tenant_context(race_tenant):
        requester = ResidentFactory()
        volunteers = [Volunteer.objects.create(resident=ResidentFactory()) for _ in range(8)]
        start = timezone.now() + timedelta(hours=2)
        r = request_create(
            requester_id=requester.pk,
            category="plumbing",
            description="leaking pipe",
            window_start=start,
            window_end=start + timedelta(hours=2),
        )
    outcomes = race(
        race_tenant,
        [
            (lambda v=v: request_claim(request_id=r.pk, volunteer_resident_id=v.resident_id))
            for v in volunteers
        ],
    )
    assert outcomes == {"ok": 1, "already_claimed": 7}
    with tenant_context(race_tenant):
        assert HelpRequest.objects.get(pk=r.pk).status == "claimed"


def test_concurrent_confirmations_award_points_once(race_tenant):
    with tenant_context(race_tenant):
        requester = ResidentFactory()
        volunteer = Volunteer.objects.create(resident=ResidentFactory())
        start = timezone.now() - timedelta(hours=1)  # the window has opened
        r = request_create(
            requester_id=requester.pk,
            category="child_pickup",
            description="pick up",
            window_start=start,
            window_end=start + timedelta(hours=2),
        )
        request_claim(request_id=r.pk, volunteer_resident_id=volunteer.resident_id)
        request_done(request_id=r.pk, volunteer_resident_id=volunteer.resident_id)
        by_requester = actor_for_resident(requester)
    outcomes = race(
        race_tenant,
        [
            (lambda: request_confirm(request_id=r.pk, hours=Decimal(1), actor=by_requester))
            for _ in range(6)
        ],
    )
    assert outcomes == {"ok": 6}
    with tenant_context(race_tenant):
        assert Transaction.objects.filter(kind="earn").count() == 1
        assert Account.objects.get(resident=volunteer.resident).balance == 10


def test_three_volunteers_race_through_the_api_and_the_losers_get_409(race_tenant):
    """Three volunteers of the estate, one of them a building leader of another building,
    claim at once through the API: one wins, both losers get 409 ``already_claimed`` (never
    404), whoever wins, and so do they when they try again later."""
    from api.access.services import key_create
    from tenants.community.roles import role_assign
    from tests.conftest import key_client
    from tests.factories import BuildingFactory, HouseholdFactory, UnitFactory

    with tenant_context(race_tenant):
        home = UnitFactory()
        estate = home.building.estate
        requester = ResidentFactory(household=HouseholdFactory(unit=home))
        volunteers = [
            ResidentFactory(household=HouseholdFactory(unit=UnitFactory(building__estate=estate)))
            for _ in range(3)
        ]
        for v in volunteers:
            Volunteer.objects.create(resident=v)
        other_building = BuildingFactory(estate=estate)
        role_assign(
            resident_id=volunteers[2].pk,
            role="building_leader",
            scope="building",
            place_id=other_building.pk,
        )
        start = timezone.now() + timedelta(hours=2)
        r = request_create(
            requester_id=requester.pk,
            category="plumbing",
            description="leaking pipe",
            window_start=start,
            window_end=start + timedelta(hours=2),
        )
        token = key_create(name="race", scopes=["helpteam:write", "residents:act"]).token

    def claim(volunteer: Any) -> None:
        client = key_client(race_tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(volunteer.pk))
        answer = client.post(
            f"/api/v1/helpteam/requests/{r.pk}/claim", "{}", content_type="application/json"
        )
        if answer.status_code != 200:  # counted by the race as "<status> <code>"
            raise LinliError("refused", code=f"{answer.status_code} {answer.json()['code']}")

    outcomes = race(race_tenant, [(lambda v=v: claim(v)) for v in volunteers])
    assert outcomes == {"ok": 1, "409 already_claimed": 2}
    with tenant_context(race_tenant):
        won = HelpRequest.objects.select_related("claimed_by").get(pk=r.pk)
    assert won.status == "claimed"
    assert won.claimed_by.resident_id in {v.pk for v in volunteers}
    # a loser who tries again after the winner's claim is in is told the same, not 404
    losers = [v for v in volunteers if v.pk != won.claimed_by.resident_id]
    again = race(race_tenant, [(lambda v=v: claim(v)) for v in losers])
    assert again == {"409 already_claimed": 2}
