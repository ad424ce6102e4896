"""The help team's domain events (see ``tenants.events.catalogue``)."""

from __future__ import annotations

from tenants.events.services import event_record
from tenants.helpteam.models import HelpRequest, Signup


def help_request_event(kind: str, r: HelpRequest) -> None:
    event_record(
        type=f"help_request.{kind}",
        object_id=r.pk,
        payload={
            "id": r.pk,
            "status": r.status,
            "category": r.category,
            "requester_id": r.requester_id,
            "household_id": r.household_id,
            "claimed_by_resident_id": r.claimed_by.resident_id if r.claimed_by else None,
            "window_start": r.window_start,
            "window_end": r.window_end,
            "hours": r.hours,
        },
        personal={"description": r.description, "place": r.place},
    )


def signup_event(signup: Signup) -> None:
    event_record(
        type="activity.signup",
        object_id=signup.activity_id,
        payload={
            "activity_id": signup.activity_id,
            "resident_id": signup.resident_id,
            "status": signup.status,
        },
    )
