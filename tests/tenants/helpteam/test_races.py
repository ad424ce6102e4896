"""Real races over real connections: one claim wins; points are awarded once.

These tests commit, in a tenant of their own that is dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

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
        start = timezone.now() + timedelta(hours=2)
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
