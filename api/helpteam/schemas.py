"""The help team's bodies and answers. Answers are read off the models' attributes (and the
selectors' rows); the few derived fields have a ``resolve_`` method."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from api.pagination import Page
from api.types import In, Moment, Text


class HelpRequestOut(Schema):
    id: int
    requester_id: int
    raised_by_id: int | None
    category: str
    description: str
    window_start: datetime
    window_end: datetime
    household_id: int | None
    place: str
    urgency: str
    status: str
    claimed_by_resident_id: int | None
    hours: Decimal | None
    points_transaction_id: int | None
    rating: int | None
    done_early_reason: str | None = Field(
        description="Why a leader recorded it done before its window opened; null when it "
        "was not recorded early."
    )

    @staticmethod
    def resolve_claimed_by_resident_id(obj: Any) -> int | None:
        return obj.claimed_by.resident_id if obj.claimed_by_id is not None else None

    @staticmethod
    def resolve_done_early_reason(obj: Any) -> str | None:
        return obj.done_early_reason or None


class HelpRequestPage(Page[HelpRequestOut]):
    pass


class HelpCategoryOut(Schema):
    code: str = Field(description="What a request's `category` takes.")
    label: str = Field(description="In the request's language (Accept-Language).")


class HelpRequestIn(In):
    requester_id: int | None = Field(
        None, ge=1, description="Omit when acting for the requester themselves."
    )
    raised_by_id: int | None = Field(
        None, ge=1, description="The leader who raised it for the requester (leader tools)."
    )
    category: Text = Field(min_length=1, max_length=64)
    description: Text = Field(min_length=1, max_length=2000)
    window_start: Moment
    window_end: Moment
    household_id: int | None = Field(None, ge=1)
    place: Text = Field("", max_length=255)
    urgency: str = Field("normal", pattern="^(low|normal|urgent)$")


class VolunteerActionIn(In):
    volunteer_resident_id: int | None = Field(
        None, ge=1, description="Omit when acting for the volunteer."
    )


class DoneIn(VolunteerActionIn):
    early_reason: Text | None = Field(
        None,
        max_length=255,
        description="Record it done before its window opens, and why: for a leader of the "
        "request's place or the district's tool (403 `early_for_leaders` otherwise; blank: 422 "
        "`reason_required`). Without it, done before the window opens is 409 "
        "`window_not_started`.",
    )


class ConfirmIn(In):
    hours: Decimal = Field(gt=0, le=24, max_digits=4, decimal_places=2)


class CancelIn(In):
    reason: Text = Field("", max_length=255)


class FeedbackIn(In):
    rating: int = Field(ge=1, le=5)
    comment: Text = Field("", max_length=2000)


class VolunteerSuggestionOut(Schema):
    volunteer_resident_id: int
    score: int
    reasons: list[str]

    @staticmethod
    def resolve_volunteer_resident_id(obj: Any) -> int:
        return int(obj.volunteer.resident_id)


class ActivityOut(Schema):
    id: int
    title: str
    estate_id: int
    space: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    confirmed: int
    waitlisted: int

    @staticmethod
    def resolve_space(obj: Any) -> str:
        return obj.space.name if obj.space_id is not None else ""


class ActivityPage(Page[ActivityOut]):
    pass


class SignupIn(In):
    resident_id: int | None = Field(None, ge=1, description="Omit when acting for a resident.")


class SignupOut(Schema):
    id: int
    activity_id: int
    resident_id: int
    status: str
    attended: bool


class AttendanceIn(In):
    resident_ids: list[int] = Field(min_length=1, max_length=500)


class TokenIn(In):
    token: Text = Field(min_length=1, max_length=64, description="From the scanned QR code.")
    volunteer_resident_id: int | None = Field(None, ge=1)


class DisputeIn(In):
    reason: Text = Field(min_length=1, max_length=255)


class DisputeResolveIn(In):
    upheld: bool


class HoursEntryIn(In):
    request_id: int = Field(ge=1)
    hours: Decimal = Field(gt=0, le=24, max_digits=4, decimal_places=2)


class HoursBulkIn(In):
    entries: list[HoursEntryIn] = Field(min_length=1, max_length=200)


class ActivityIn(In):
    title: Text = Field(min_length=1, max_length=200)
    estate_id: int = Field(ge=1)
    space_id: int | None = Field(None, ge=1)
    starts_at: Moment
    ends_at: Moment
    capacity: int = Field(ge=1, le=10_000)
    points_category: Text = Field("", max_length=64)


class ActivityCheckInIn(In):
    token: Text = Field(min_length=1, max_length=64)
    resident_id: int | None = Field(None, ge=1)


class RecognitionOut(Schema):
    resident_id: int
    confirmed_hours: Decimal
    services: int
    stars: int
    next_star_at: int | None


class LeaderboardLineOut(Schema):
    rank: int
    resident_id: int
    name: str
    hours: Decimal
    services: int


class BuildingQueueOut(Schema):
    building_id: int
    building: str
    open_requests: int
    oldest_hours: float
    unclaimed_over_alert: int


class WeekOut(Schema):
    week: str
    raised: int
    resolved: int


class VolunteerMonthOut(Schema):
    resident_id: int
    name: str
    hours: Decimal
    points: int


class DashboardOut(Schema):
    alert_hours: int
    open_by_building: list[BuildingQueueOut]
    weeks: list[WeekOut]
    volunteers_this_month: list[VolunteerMonthOut]
