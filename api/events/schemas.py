from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from api.pagination import Page
from api.types import In, Moment, Text
from tenants.events.models import Delivery, DeliveryAttempt


class EventOut(Schema):
    id: int
    type: str
    version: int
    occurred_at: datetime
    object: dict[str, Any] = Field(description="The object's type and id.")
    data: dict[str, Any]
    personal: dict[str, Any] | None = Field(
        description="Personal fields; null unless the key holds personal_data:read."
    )


class EventPage(Page[EventOut]):
    pass


class EventFilter(Schema):
    type: list[str] = Field([], max_length=50, description="Only these types (repeatable).")
    since: Moment | None = Field(None, description="Occurred at or after.")
    until: Moment | None = Field(None, description="Occurred before.")


class EventTypeOut(Schema):
    type: str
    version: int
    module: str
    payload_schema: dict[str, Any] = Field(description="JSON Schema of the event's data.")


class EndpointIn(In):
    url: Text = Field(min_length=8, max_length=500)
    event_types: list[str] = Field([], max_length=100, description="Empty: every event type.")
    description: Text = Field("", max_length=200)


class EndpointPatch(In):
    url: Text | None = Field(None, min_length=8, max_length=500)
    event_types: list[str] | None = Field(None, max_length=100)
    description: Text | None = Field(None, max_length=200)
    active: bool | None = None


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    modules: list[str]
    personal_data: bool
    active: bool
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str
    created_at: datetime


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(description="Signs every delivery; shown on creation and when rolled.")


class EndpointPage(Page[EndpointOut]):
    pass


class AttemptOut(Schema):
    at: datetime
    status_code: int | None
    duration_ms: int
    error: str


class DeliveryOut(Schema):
    id: int
    event_id: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    delivered_at: datetime | None
    log: list[AttemptOut]

    @staticmethod
    def resolve_event_type(obj: Delivery) -> str:
        return str(obj.event.type)

    @staticmethod
    def resolve_log(obj: Delivery) -> list[DeliveryAttempt]:
        return list(obj.log.all())


class DeliveryPage(Page[DeliveryOut]):
    pass
