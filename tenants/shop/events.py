"""The shop's domain events (see ``tenants.events.catalogue``)."""

from __future__ import annotations

from tenants.events.services import event_record
from tenants.shop.models import Booking, Order, Parcel, PreorderBatch


def order_event(kind: str, o: Order) -> None:
    event_record(
        type=f"order.{kind}",
        object_id=o.pk,
        payload={
            "id": o.pk,
            "shop_id": o.shop_id,
            "batch_id": o.batch_id,
            "resident_id": o.resident_id,
            "status": o.status,
            "total_fen": o.total_fen,
            "points_used": o.points_used,
            "money_due_fen": o.money_due_fen,
        },
    )


def batch_event(kind: str, b: PreorderBatch) -> None:
    event_record(
        type=f"batch.{kind}",
        object_id=b.pk,
        payload={
            "id": b.pk,
            "shop_id": b.shop_id,
            "supplier_id": b.supplier_id,
            "opens_at": b.opens_at,
            "closes_at": b.closes_at,
            "pickup_on": b.pickup_on,
        },
    )


def parcel_event(kind: str, p: Parcel) -> None:
    event_record(
        type=f"parcel.{kind}",
        object_id=p.pk,
        payload={
            "id": p.pk,
            "shop_id": p.shop_id,
            "household_id": p.household_id,
            "carrier": p.carrier,
            "status": p.status,
            "reminders_sent": p.reminders_sent,
        },
        personal={"recipient_name": p.recipient_name, "tracking_number": p.tracking_number},
    )


def booking_event(kind: str, b: Booking) -> None:
    event_record(
        type=f"booking.{kind}",
        object_id=b.pk,
        payload={
            "id": b.pk,
            "service_id": b.service_id,
            "slot_id": b.slot_id,
            "resident_id": b.resident_id,
            "status": b.status,
            "pay_with": b.pay_with,
            "points_paid": b.points_paid,
        },
    )
