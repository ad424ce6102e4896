"""Every event type Linli emits, its module, and its versioned payload schema.

Payloads carry ids, states and amounts: no names, phones or free text. What is
personal (a request's description, the name on a parcel's label) travels in a
separate ``personal`` block that only keys and endpoints allowed to see personal
data receive. A breaking change to a payload is a new version of its type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HelpRequestV1(Payload):
    id: int
    status: str
    category: str
    requester_id: int
    household_id: int | None
    claimed_by_resident_id: int | None
    window_start: datetime
    window_end: datetime
    hours: Decimal | None = None


class SignupV1(Payload):
    activity_id: int
    resident_id: int
    status: str


class PointsV1(Payload):
    transaction_id: int
    kind: str
    amount: int
    account_id: int
    resident_id: int | None
    source: str = ""


class OrderV1(Payload):
    id: int
    shop_id: int
    batch_id: int | None
    resident_id: int
    status: str
    total_fen: int
    points_used: int
    money_due_fen: int


class BatchV1(Payload):
    id: int
    shop_id: int
    supplier_id: int
    opens_at: datetime
    closes_at: datetime
    pickup_on: date


class ParcelV1(Payload):
    id: int
    shop_id: int
    household_id: int
    carrier: str
    status: str
    reminders_sent: int


class BookingV1(Payload):
    id: int
    service_id: int
    slot_id: int
    resident_id: int
    status: str
    pay_with: str
    points_paid: int


class TopicV1(Payload):
    id: int
    status: str
    category: str
    scope: str
    estate_id: int
    raised_by_id: int


class MeetingV1(Payload):
    id: int
    estate_id: int
    building_id: int | None
    starts_at: datetime


class ActionItemV1(Payload):
    id: int
    agenda_item_id: int
    due_on: date
    status: str


class ResidentErasedV1(Payload):
    resident_id: int


@dataclass(frozen=True)
class EventType:
    name: str
    module: str
    schema: type[Payload]
    version: int = 1


def _types(module: str, schema: type[Payload], *names: str) -> list[EventType]:
    return [EventType(name, module, schema) for name in names]


CATALOGUE: dict[str, EventType] = {
    t.name: t
    for t in [
        *_types(
            "helpteam",
            HelpRequestV1,
            "help_request.created",
            "help_request.claimed",
            "help_request.done",
            "help_request.confirmed",
            "help_request.cancelled",
        ),
        *_types("helpteam", SignupV1, "activity.signup"),
        *_types(
            "points",
            PointsV1,
            "points.awarded",
            "points.redeemed",
            "points.refunded",
            "points.expired",
        ),
        *_types(
            "shop",
            OrderV1,
            "order.placed",
            "order.ready",
            "order.picked_up",
            "order.cancelled",
            "order.expired",
        ),
        *_types("shop", BatchV1, "batch.opened", "batch.closed"),
        *_types("shop", ParcelV1, "parcel.arrived", "parcel.picked_up", "parcel.reminded"),
        *_types(
            "shop",
            BookingV1,
            "booking.requested",
            "booking.confirmed",
            "booking.completed",
            "booking.declined",
            "booking.cancelled",
        ),
        *_types(
            "deliberation",
            TopicV1,
            "topic.raised",
            "topic.accepted",
            "topic.decided",
            "topic.resolved",
        ),
        *_types("deliberation", MeetingV1, "meeting.scheduled"),
        *_types("deliberation", ActionItemV1, "action_item.overdue"),
        *_types("community", ResidentErasedV1, "resident.erased"),
    ]
}
