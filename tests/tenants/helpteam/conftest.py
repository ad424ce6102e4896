"""Shared fixtures: a parent and the neighbour across the landing, and a volunteer far away."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from tenants.helpteam.models import HelpRequest, Volunteer
from tenants.helpteam.services import request_create
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory


@pytest.fixture
def street(in_tenant):
    unit = UnitFactory()
    parent = ResidentFactory(household=HouseholdFactory(unit=unit, flat_number="501"))
    neighbour = ResidentFactory(household=HouseholdFactory(unit=unit, flat_number="502"))
    far = ResidentFactory()
    volunteers = {r: Volunteer.objects.create(resident=r) for r in (neighbour, far)}
    return {"parent": parent, "neighbour": neighbour, "far": far, "volunteers": volunteers}


def ask(requester, category="child_pickup", hours_from_now=-1, length=2) -> HelpRequest:
    """A request whose window opened an hour ago (so its work may be marked done at once);
    a positive ``hours_from_now`` books it for later."""
    start = timezone.now() + timedelta(hours=hours_from_now)
    return request_create(
        requester_id=requester.pk,
        category=category,
        description="Pick up my child from school",
        window_start=start,
        window_end=start + timedelta(hours=length),
    )


def window_opened(help_request: HelpRequest, *, hours_ago: float = 1) -> HelpRequest:
    """The booked time comes: the request's window moves to have opened ``hours_ago`` (its
    length stays), as if the clock had run on to it. Returns the request as stored."""
    shift = timezone.now() - timedelta(hours=hours_ago) - help_request.window_start
    HelpRequest.objects.filter(pk=help_request.pk).update(
        window_start=F("window_start") + shift, window_end=F("window_end") + shift
    )
    return HelpRequest.objects.get(pk=help_request.pk)
