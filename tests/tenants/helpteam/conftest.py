"""Shared fixtures: a parent and the neighbour across the landing, and a volunteer far away."""

from __future__ import annotations

from datetime import timedelta

import pytest
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


def ask(requester, category="child_pickup", hours_from_now=20, length=2) -> HelpRequest:
    start = timezone.now() + timedelta(hours=hours_from_now)
    return request_create(
        requester_id=requester.pk,
        category=category,
        description="Pick up my child from school",
        window_start=start,
        window_end=start + timedelta(hours=length),
    )
