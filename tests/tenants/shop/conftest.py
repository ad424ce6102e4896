"""The Wanxiang Gongguan estate's shop: Mr Xu (70) and his neighbours, an operator, a
village co-operative's vegetables on pre-order, daily goods on the shelf."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.models import Tenant
from linli.registry.services import module_set_enabled
from tenants.community.models import Role, RoleAssignment
from tenants.points.models import Account
from tenants.points.services import account_for_resident, points_adjust
from tenants.shop.models import Shop
from tenants.shop.services import catalogue
from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory, UnitFactory


@pytest.fixture
def in_shop_tenant(tenant: Tenant) -> Iterator[Tenant]:
    """Alpha with the shop and points modules on, entered."""
    for module in ("shop", "points"):
        module_set_enabled(slug=tenant.schema_name, module=module, enabled=True)
    fresh = Tenant.objects.get(pk=tenant.pk)
    with tenant_context(fresh):
        yield fresh


def give_points(resident: Any, amount: int) -> None:
    account = account_for_resident(resident_id=resident.pk)
    points_adjust(
        account_id=account.pk,
        amount=amount,
        reason="earned volunteering",
        idempotency_key=f"test-give-{resident.pk}-{amount}",
    )


def balance(resident: Any) -> int:
    return Account.objects.get(resident=resident).balance


def shop_balance(shop: Shop) -> int:
    account = Account.objects.filter(code=f"shop:{shop.pk}").first()
    return account.balance if account else 0


@pytest.fixture
def estate(in_shop_tenant):
    estate = EstateFactory(name="萬象公館")
    unit = UnitFactory(building__estate=estate)
    xu = ResidentFactory(
        display_name="徐大爺", household=HouseholdFactory(unit=unit, flat_number="A101")
    )
    wife = ResidentFactory(display_name="徐大媽", household=xu.household)
    neighbour = ResidentFactory(
        display_name="對門鄰居", household=HouseholdFactory(unit=unit, flat_number="A102")
    )
    operator = ResidentFactory(display_name="店長", household=HouseholdFactory(unit=unit))
    RoleAssignment.objects.create(
        resident=operator,
        role=Role.SHOP_OPERATOR,
        scope=RoleAssignment.Scope.ESTATE,
        estate=estate,
        starts_on=timezone.localdate() - timedelta(days=30),
    )
    shop = catalogue.shop_create(
        estate_id=estate.pk,
        name="萬象公館鄰家小店",
        zones=["parcels", "preorders", "daily_goods"],
        opening_hours="08:00-20:00",
    )
    coop = catalogue.supplier_create(name="大業村合作社", kind="cooperative", village="大業村")
    greens = catalogue.product_create(
        shop_id=shop.pk, name="青菜", unit="斤", price_fen=300, points_share=50, supplier_id=coop.pk
    )
    eggs = catalogue.product_create(
        shop_id=shop.pk,
        name="土雞蛋",
        unit="盒",
        price_fen=2500,
        points_share=20,
        supplier_id=coop.pk,
    )
    soy = catalogue.product_create(
        shop_id=shop.pk, name="醬油", unit="瓶", price_fen=1200, points_share=100, stock=10
    )
    return {
        "estate": estate,
        "xu": xu,
        "wife": wife,
        "neighbour": neighbour,
        "operator": operator,
        "shop": shop,
        "coop": coop,
        "greens": greens,
        "eggs": eggs,
        "soy": soy,
    }


def open_batch(estate: dict[str, Any], *, greens_total=20, per_household=3, slots=True, **kw):
    now = timezone.now()
    pickup = timezone.localdate() + timedelta(days=2)
    start = timezone.make_aware(datetime.combine(pickup, time(9)))
    return catalogue.batch_create(
        shop_id=estate["shop"].pk,
        supplier_id=estate["coop"].pk,
        title="大業村本週蔬菜",
        opens_at=kw.get("opens_at", now - timedelta(hours=1)),
        closes_at=kw.get("closes_at", now + timedelta(days=1)),
        pickup_on=pickup,
        items=[
            catalogue.ItemSpec(
                product_id=estate["greens"].pk,
                limit_total=greens_total,
                limit_per_household=per_household,
            ),
            catalogue.ItemSpec(product_id=estate["eggs"].pk, limit_total=None),
        ],
        slots=[
            catalogue.SlotSpec(starts_at=start, ends_at=start + timedelta(hours=2)),
            catalogue.SlotSpec(
                starts_at=start + timedelta(hours=8), ends_at=start + timedelta(hours=10)
            ),
        ]
        if slots
        else [],
    )


@pytest.fixture
def batch(estate):
    return open_batch(estate)


def items(batch) -> tuple[Any, Any]:
    greens, eggs = list(batch.items.order_by("id"))
    return greens, eggs


# --- the policy table's world: one of each kind of actor and of each kind of object -------------

ACTORS = (
    "district",  # the district's tool: a key acting for no one
    "operator",  # shop operator for the shop's estate
    "secretary",  # estate secretary of the shop's estate: a leader of the estate
    "building_leader",  # leads Mr Xu's building: a place inside the estate, not the estate
    "other_leader",  # estate secretary of another estate (which has a shop of its own)
    "partner",  # member of the partner organisation whose service Mr Xu booked
    "owner",  # Mr Xu: placed the order, made the booking, his household's parcel
    "household",  # his wife: same household, not the one who ordered or booked
    "neighbour",  # the neighbour across the landing: nothing of this is theirs
)


def _role(resident: Any, role: str, **place: Any) -> None:
    scope = next(iter(place)) if place else "tenant"
    RoleAssignment.objects.create(
        resident=resident,
        role=role,
        scope=scope,
        starts_on=timezone.localdate() - timedelta(days=30),
        **place,
    )


@pytest.fixture
def world(estate):
    return build_world(estate)


def build_world(estate: dict[str, Any]) -> dict[str, Any]:
    """Mr Xu's estate with a resident for every kind of actor, and one order, parcel,
    batch, product, partner service, slot and booking of his (plus one booking the
    partner's member made for themselves)."""
    from tenants.community.models import Organisation, OrganisationMember
    from tenants.shop.services import orders, parcels, partners

    building = estate["xu"].household.unit.building
    secretary = ResidentFactory(display_name="書記", household=HouseholdFactory())
    _role(secretary, Role.ESTATE_SECRETARY, estate=estate["estate"])
    building_leader = ResidentFactory(display_name="樓長", household=HouseholdFactory())
    _role(building_leader, Role.BUILDING_LEADER, building=building)
    elsewhere: Any = EstateFactory(name="學府小區")
    other_leader = ResidentFactory(display_name="別區書記", household=HouseholdFactory())
    _role(other_leader, Role.ESTATE_SECRETARY, estate=elsewhere)
    other_shop = catalogue.shop_create(
        estate_id=elsewhere.pk, name="學府小店", zones=["parcels", "daily_goods"]
    )
    company = Organisation.objects.create(name="岑溪家政", kind="company")
    partner: Any = ResidentFactory(display_name="家政員", household=HouseholdFactory())
    OrganisationMember.objects.create(organisation=company, resident=partner)
    service = partners.service_create(
        organisation_id=company.pk,
        category="housekeeping",
        title="家居清潔兩小時",
        price_fen=8000,
        shop_id=estate["shop"].pk,
    )
    start = timezone.now() + timedelta(days=2)
    slot = partners.service_slot_create(
        service_id=service.pk, starts_at=start, ends_at=start + timedelta(hours=2), capacity=5
    )
    xu = estate["xu"]
    return {
        **estate,
        "people": {
            "operator": estate["operator"],
            "secretary": secretary,
            "building_leader": building_leader,
            "other_leader": other_leader,
            "partner": partner,
            "owner": xu,
            "household": estate["wife"],
            "neighbour": estate["neighbour"],
        },
        "other_shop": other_shop,
        "batch": open_batch(estate),
        "order": orders.order_place(
            resident_id=xu.pk, shop_id=estate["shop"].pk, lines=[(estate["soy"].pk, 1)]
        ),
        "parcel": parcels.parcel_log(
            shop_id=estate["shop"].pk,
            carrier="順豐",
            tracking_number="SF0001",
            household_id=xu.household_id,
            shelf="A3",
        ),
        "company": company,
        "service": service,
        "slot": slot,
        "booking": partners.booking_create(resident_id=xu.pk, slot_id=slot.pk, pay_with="money"),
        "partners_own_booking": partners.booking_create(
            resident_id=partner.pk, slot_id=slot.pk, pay_with="money"
        ),
    }
