"""A printed household sign-in card says which estate and building it is for, not only the
flat number (cards of several stairwells lie on one table before they are handed out)."""

from __future__ import annotations

from tests.factories import EstateFactory, HouseholdFactory, UnitFactory
from tests.tenants.pages.test_household_pass import admin


def test_a_card_prints_estate_building_and_flat(tenant, in_tenant):
    unit = UnitFactory(building__estate=EstateFactory(name="萬象公館"), building__name="3棟")
    HouseholdFactory(unit=unit, flat_number="101")
    printed = admin(tenant).get(f"/admin/pages/householdpass/print/{unit.pk}/").content.decode()
    place = f"萬象公館 · 3棟{f' · {unit.name}' if unit.name else ''}"
    assert f'<div class="place">{place}</div><div class="flat">101</div>' in printed
