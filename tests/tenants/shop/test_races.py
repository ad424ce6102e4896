"""Real races over real connections: many orders for the last units end with exact stock;
a cancel racing an expiry refunds points once; a slot never takes more bookings than fit.
Every loser gets a state conflict (409) with its code, never a permission refusal.

These tests commit, in a tenant of their own that is dropped afterwards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.errors import LinliError
from linli.registry.models import Tenant
from linli.registry.services import tenant_create, tenant_delete
from tenants.community.models import Organisation
from tenants.points.models import Account, Transaction
from tenants.points.services import account_for_resident, points_adjust
from tenants.shop.models import BatchItem, Booking, Order, Product, ServiceSlot
from tenants.shop.services import catalogue, orders, partners
from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory, UnitFactory
from tests.races import race


def recorded(refusals: list[tuple[int, str]], attempt: Callable[[], Any]) -> Callable[[], Any]:
    """The attempt, noting the HTTP status and code of its refusal (if it loses)."""

    def run() -> Any:
        try:
            return attempt()
        except LinliError as exc:
            refusals.append((exc.status, exc.code))
            raise

    return run


@pytest.fixture
def race_tenant(django_db_setup, django_db_blocker) -> Iterator[Tenant]:
    with django_db_blocker.unblock():
        tenant = tenant_create(
            slug="shop_race", name="Race", status="active", modules=["shop", "points"]
        )
        try:
            yield tenant
        finally:
            tenant_delete(slug="shop_race")


def _setting(tenant, households):
    with tenant_context(tenant):
        estate = EstateFactory()
        unit = UnitFactory(building__estate=estate)
        residents = [
            ResidentFactory(household=HouseholdFactory(unit=unit)) for _ in range(households)
        ]
        for resident in residents:
            points_adjust(
                account_id=account_for_resident(resident_id=resident.pk).pk,
                amount=20,
                reason="seed",
                idempotency_key=f"seed-{resident.pk}",
            )
        shop = catalogue.shop_create(
            estate_id=estate.pk, name="小店", zones=["preorders", "daily_goods"]
        )
        coop = catalogue.supplier_create(name="合作社", kind="cooperative")
        greens = catalogue.product_create(
            shop_id=shop.pk, name="青菜", unit="斤", price_fen=500, points_share=100
        )
        soy = catalogue.product_create(
            shop_id=shop.pk, name="醬油", unit="瓶", price_fen=1000, stock=5
        )
        now = timezone.now()
        batch = catalogue.batch_create(
            shop_id=shop.pk,
            supplier_id=coop.pk,
            title="本週",
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(hours=5),
            pickup_on=timezone.localdate() + timedelta(days=1),
            items=[catalogue.ItemSpec(product_id=greens.pk, limit_total=7)],
        )
        return {"residents": residents, "shop": shop, "batch": batch, "soy": soy}


def test_twelve_households_race_for_seven_units_and_nothing_is_oversold(race_tenant):
    setting = _setting(race_tenant, 12)
    with tenant_context(race_tenant):
        item = BatchItem.objects.get(batch=setting["batch"])
    refusals: list[tuple[int, str]] = []
    attempts = [
        recorded(refusals, lambda r=r: orders.order_place(
            resident_id=r.pk, batch_id=setting["batch"].pk, lines=[(item.pk, 1)], points=5
        ))
        for r in setting["residents"]
    ]  # fmt: skip
    outcome = race(race_tenant, attempts)
    assert outcome == Counter({"ok": 7, "out_of_stock": 5})
    assert refusals == [(409, "out_of_stock")] * 5
    with tenant_context(race_tenant):
        item.refresh_from_db()
        assert item.ordered == 7
        assert Order.objects.count() == 7
        # exactly the winners paid: 7 x 5 points at the shop, the losers kept their 20
        shop_account = Account.objects.get(code=f"shop:{setting['shop'].pk}")
        assert shop_account.balance == 35
        balances = sorted(Account.objects.filter(kind="resident").values_list("balance", flat=True))
        assert balances == [15] * 7 + [20] * 5


def test_racing_for_the_last_bottles_on_the_shelf(race_tenant):
    setting = _setting(race_tenant, 8)
    soy = setting["soy"]
    refusals: list[tuple[int, str]] = []
    attempts = [
        recorded(refusals, lambda r=r: orders.order_place(
            resident_id=r.pk, shop_id=setting["shop"].pk, lines=[(soy.pk, 2)]
        ))
        for r in setting["residents"]
    ]  # fmt: skip
    outcome = race(race_tenant, attempts)
    assert outcome == Counter({"ok": 2, "out_of_stock": 6})
    assert refusals == [(409, "out_of_stock")] * 6
    with tenant_context(race_tenant):
        assert Product.objects.get(pk=soy.pk).stock == 1


def test_a_cancel_racing_the_expiry_refunds_points_once(race_tenant):
    setting = _setting(race_tenant, 6)
    with tenant_context(race_tenant):
        item = BatchItem.objects.get(batch=setting["batch"])
        placed = [
            orders.order_place(
                resident_id=r.pk, batch_id=setting["batch"].pk, lines=[(item.pk, 1)], points=5
            )
            for r in setting["residents"]
        ]
        catalogue.batch_close(batch_id=setting["batch"].pk)
        for order in placed:
            orders.order_ready(order_id=order.pk)
        after_deadline = max(o.collect_by for o in placed) + timedelta(minutes=1)
    refusals: list[tuple[int, str]] = []
    attempts: list[Callable[[], Any]] = [
        recorded(refusals, partial(orders.order_cancel, order_id=o.pk, reason="shop"))
        for o in placed
    ]

    def expire() -> int:
        return orders.orders_expire(now=after_deadline)

    attempts += [recorded(refusals, expire)] * 3
    outcome = race(race_tenant, attempts)
    assert outcome["ok"] >= 3 and set(outcome) <= {"ok", "transition_not_allowed"}
    # a cancel that lost to the expiry is told the order is no longer open
    assert set(refusals) <= {(409, "transition_not_allowed")}
    assert len(refusals) == outcome["transition_not_allowed"]
    with tenant_context(race_tenant):
        statuses = Counter(Order.objects.values_list("status", flat=True))
        assert sum(statuses.values()) == 6 and set(statuses) <= {"cancelled", "expired"}
        assert Transaction.objects.filter(kind="refund").count() == 6
        balances = set(Account.objects.filter(kind="resident").values_list("balance", flat=True))
        assert balances == {20}
        assert Account.objects.get(code=f"shop:{setting['shop'].pk}").balance == 0


def test_a_slot_for_three_takes_three_bookings(race_tenant):
    setting = _setting(race_tenant, 8)
    with tenant_context(race_tenant):
        partner = Organisation.objects.create(name="家政公司", kind="company")
        service = partners.service_create(
            organisation_id=partner.pk, category="housekeeping", title="家居清潔", points_price=10
        )
        start = timezone.now() + timedelta(days=1)
        slot = partners.service_slot_create(
            service_id=service.pk, starts_at=start, ends_at=start + timedelta(hours=2), capacity=3
        )
    refusals: list[tuple[int, str]] = []
    attempts = [
        recorded(
            refusals,
            lambda r=r: partners.booking_create(
                resident_id=r.pk, slot_id=slot.pk, pay_with="points"
            ),
        )
        for r in setting["residents"]
    ]
    outcome = race(race_tenant, attempts)
    assert outcome == Counter({"ok": 3, "slot_full": 5})
    assert refusals == [(409, "slot_full")] * 5
    with tenant_context(race_tenant):
        assert ServiceSlot.objects.get(pk=slot.pk).booked == 3
        assert Booking.objects.count() == 3
        assert Account.objects.get(organisation=partner).balance == 30
