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
