"""A building with three residents, and one resident from elsewhere."""

from __future__ import annotations

import pytest

from tenants.deliberation.models import Topic
from tenants.deliberation.services import topic_raise
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory


@pytest.fixture
def building(in_tenant):
    unit = UnitFactory()
    residents = [ResidentFactory(household=HouseholdFactory(unit=unit)) for _ in range(3)]
    outsider = ResidentFactory()
    return {"unit": unit, "residents": residents, "outsider": outsider}


def raise_light(building, **extra) -> Topic:
    return topic_raise(
        raised_by_id=building["residents"][0].pk,
        title="樓道燈不亮",
        description="三樓樓道燈壞了一週",
        category="facilities",
        scope="building",
        place_id=building["unit"].building_id,
        **extra,
    )
