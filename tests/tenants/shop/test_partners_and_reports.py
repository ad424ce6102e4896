"""Partner services and bookings, and the shop's reports and settlement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from linli.errors import LinliError
from tenants.community.models import Organisation
from tenants.points.models import Account, Transaction
from tenants.shop.models import Booking, ServiceSlot
from tenants.shop.selectors import batch_sell_through, partner_settlement, sales_daily
from tenants.shop.services import catalogue, orders, partners
from tests.tenants.shop.conftest import balance, give_points, items


@pytest.fixture
def care(estate):
    partner = Organisation.objects.create(name="夕陽紅養老服務", kind="company")
    service = partners.service_create(
        organisation_id=partner.pk,
        category="elderly_care",
        title="上門陪護半天",
        price_fen=6000,
        points_price=25,
        shop_id=estate["shop"].pk,
    )
    start = timezone.now() + timedelta(days=1)
    slot = partners.service_slot_create(
        service_id=service.pk, starts_at=start, ends_at=start + timedelta(hours=4), capacity=2
    )
    return {"partner": partner, "service": service, "slot": slot}


def code_of(call, **kwargs) -> str:
    with pytest.raises(LinliError) as caught:
        call(**kwargs)
    return caught.value.code


def slot_started(slot: ServiceSlot) -> None:
    """The slot began an hour ago (its length and its day stay as they were)."""
    shift = timezone.now() - timedelta(hours=1) - slot.starts_at
    ServiceSlot.objects.filter(pk=slot.pk).update(
        starts_at=slot.starts_at + shift, ends_at=slot.ends_at + shift
    )


def test_a_booking_completes_no_earlier_than_its_slot_starts(estate, care):
    # given a confirmed booking for a slot that starts tomorrow
    booking = partners.booking_create(
        resident_id=estate["xu"].pk, slot_id=care["slot"].pk, pay_with="money"
    )
    partners.booking_confirm(booking_id=booking.pk)
    # when the partner marks it completed today, then it is refused and stays confirmed
    assert code_of(partners.booking_complete, booking_id=booking.pk) == "slot_not_started"
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"
    assert Booking.objects.get(pk=booking.pk).completed_at is None
    # once the slot has started, it completes
    slot_started(care["slot"])
    assert partners.booking_complete(booking_id=booking.pk).status == "completed"


def test_booked_in_points_confirmed_and_completed(estate, care):
    give_points(estate["xu"], 30)
    booking = partners.booking_create(
        resident_id=estate["xu"].pk, slot_id=care["slot"].pk, pay_with="points", note="下午兩點"
    )
    assert (booking.status, booking.points_paid, booking.price_fen) == ("requested", 25, 0)
    assert balance(estate["xu"]) == 5
    assert Account.objects.get(organisation=care["partner"]).balance == 25
    assert partners.booking_confirm(booking_id=booking.pk).status == "confirmed"
    assert code_of(partners.booking_confirm, booking_id=booking.pk) == "transition_not_allowed"
    slot_started(care["slot"])
    assert partners.booking_complete(booking_id=booking.pk).status == "completed"
    assert code_of(partners.booking_cancel, booking_id=booking.pk) == "transition_not_allowed"
    assert balance(estate["xu"]) == 5


def test_cancelled_by_the_resident_refunds_once_and_frees_the_place(estate, care):
    give_points(estate["xu"], 30)
    booking = partners.booking_create(
        resident_id=estate["xu"].pk, slot_id=care["slot"].pk, pay_with="points"
    )
    assert (
        code_of(partners.booking_cancel, booking_id=booking.pk, by_resident_id=estate["wife"].pk)
        == "booking_not_found"
    )
    partners.booking_cancel(booking_id=booking.pk, by_resident_id=estate["xu"].pk)
    assert balance(estate["xu"]) == 30
    assert ServiceSlot.objects.get(pk=care["slot"].pk).booked == 0
    assert code_of(partners.booking_decline, booking_id=booking.pk) == "transition_not_allowed"
    assert Transaction.objects.filter(kind="refund").count() == 1


def test_booking_refusals_change_nothing(estate, care):
    give_points(estate["xu"], 10)
    slot = care["slot"].pk
    xu = estate["xu"].pk
    assert (
        code_of(partners.booking_create, resident_id=xu, slot_id=slot, pay_with="points")
        == "insufficient_points"
    )
    assert (
        code_of(partners.booking_create, resident_id=xu, slot_id=slot, pay_with="gold")
        == "pay_with_invalid"
    )
    partners.booking_create(resident_id=xu, slot_id=slot, pay_with="money")
    assert (
        code_of(partners.booking_create, resident_id=xu, slot_id=slot, pay_with="money")
        == "already_booked"
    )
    partners.booking_create(resident_id=estate["wife"].pk, slot_id=slot, pay_with="money")
    assert (
        code_of(
            partners.booking_create,
            resident_id=estate["neighbour"].pk,
            slot_id=slot,
            pay_with="money",
        )
        == "slot_full"
    )
    assert Booking.objects.count() == 2
    assert ServiceSlot.objects.get(pk=slot).booked == 2
    assert balance(estate["xu"]) == 10
    points_only = partners.service_create(
        organisation_id=care["partner"].pk, category="other", title="理髮", points_price=5
    )
    start = timezone.now() + timedelta(days=1)
    other = partners.service_slot_create(
        service_id=points_only.pk, starts_at=start, ends_at=start + timedelta(hours=1)
    )
    assert (
        code_of(partners.booking_create, resident_id=xu, slot_id=other.pk, pay_with="money")
        == "money_not_accepted"
    )
    assert (
        code_of(
            partners.service_create,
            organisation_id=care["partner"].pk,
            category="other",
            title="免費",
        )
        == "price_required"
    )
    assert (
        code_of(
            partners.service_slot_create,
            service_id=points_only.pk,
            starts_at=start - timedelta(days=3),
            ends_at=start - timedelta(days=3, hours=-1),
        )
        == "slot_past"
    )


def test_monthly_settlement_per_partner(estate, care):
    give_points(estate["xu"], 30)
    by_points = partners.booking_create(
        resident_id=estate["xu"].pk, slot_id=care["slot"].pk, pay_with="points"
    )
    by_money = partners.booking_create(
        resident_id=estate["neighbour"].pk, slot_id=care["slot"].pk, pay_with="money"
    )
    slot_started(care["slot"])
    for booking in (by_points, by_money):
        partners.booking_confirm(booking_id=booking.pk)
        partners.booking_complete(booking_id=booking.pk)
    month = timezone.localtime(care["slot"].starts_at).date()
    assert partner_settlement(month=month) == [
        {
            "organisation_id": care["partner"].pk,
            "organisation": "夕陽紅養老服務",
            "completed": 2,
            "money_fen": 6000,
            "points": 25,
            "declined_or_cancelled": 0,
        }
    ]


def test_sales_per_shop_per_day_and_sell_through(estate, batch):
    give_points(estate["xu"], 20)
    greens, eggs = items(batch)
    slot = batch.slots.first().pk
    kept = orders.order_place(
        resident_id=estate["xu"].pk,
        batch_id=batch.pk,
        slot_id=slot,
        lines=[(greens.pk, 2), (eggs.pk, 1)],
        points=8,
    )
    dropped = orders.order_place(
        resident_id=estate["neighbour"].pk, batch_id=batch.pk, slot_id=slot, lines=[(greens.pk, 3)]
    )
    orders.order_cancel(order_id=dropped.pk)
    catalogue.batch_close(batch_id=batch.pk)
    orders.order_ready(order_id=kept.pk)
    orders.order_pick_up(
        order_id=kept.pk, code=kept.pickup_code, payment="terminal", paid_fen=kept.money_due_fen
    )
    [day] = sales_daily(month=timezone.localdate(), shop_id=estate["shop"].pk)
    assert day["day"] == timezone.localdate()
    assert (day["orders"], day["terminal_fen"], day["cash_fen"], day["points"]) == (1, 2300, 0, 8)
    assert day["sales_fen"] == 3100
    through = batch_sell_through(batch=batch)
    assert [(r["product"], r["available"], r["ordered"], r["collected"]) for r in through] == [
        ("青菜", 20, 2, 2),
        ("土雞蛋", None, 1, 1),
    ]
    assert through[0]["sell_through"] == 0.1
