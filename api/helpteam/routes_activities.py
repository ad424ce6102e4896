"""Activities: list and organise them, sign up or leave, attendance by a leader or a scan."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api.acting import actor
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.helpteam.schemas import (
    ActivityCheckInIn,
    ActivityIn,
    ActivityOut,
    ActivityPage,
    AttendanceIn,
    SignupIn,
    SignupOut,
)
from api.pagination import PageParams, page, paginate
from tenants.helpteam import access, selectors, services
from tenants.helpteam.models import Activity, Signup

router = Router()


@router.get(
    "/activities",
    response={200: ActivityPage, **READ_ERRORS},
    summary="List activities",
    operation_id="helpteam_activities_list",
)
def activities_list(
    request: HttpRequest, params: Query[PageParams], estate_id: int | None = None
) -> dict[str, Any]:
    activities = selectors.activities_listed(
        access.activities_visible(actor(request)), estate_id=estate_id
    )
    rows, next_cursor = paginate(activities, params)
    return page(rows, next_cursor)


@router.post(
    "/activities/{activity_id}/signups",
    response={201: SignupOut, **WRITE_ERRORS},
    summary="Sign up (or join the waitlist)",
    operation_id="helpteam_signups_create",
)
def signups_create(request: HttpRequest, activity_id: int, body: SignupIn) -> Status[Signup]:
    caller = actor(request)
    access.access_activity(actor=caller, activity_id=activity_id)
    who = access.named_resident_id(caller, body.resident_id, field="resident_id")
    return Status(201, services.activity_signup(activity_id=activity_id, resident_id=who))


@router.post(
    "/activities/{activity_id}/signups/cancel",
    response={200: SignupOut, **WRITE_ERRORS},
    summary="Leave an activity",
    operation_id="helpteam_signups_cancel",
)
def signups_cancel(request: HttpRequest, activity_id: int, body: SignupIn) -> Signup:
    caller = actor(request)
    access.access_activity(actor=caller, activity_id=activity_id)
    who = access.named_resident_id(caller, body.resident_id, field="resident_id")
    return services.activity_signup_cancel(activity_id=activity_id, resident_id=who)


@router.post(
    "/activities/{activity_id}/attendance",
    response={200: list[SignupOut], **WRITE_ERRORS},
    summary="Take attendance; attendees earn points by the activity's rule",
    operation_id="helpteam_attendance_create",
)
def attendance_create(request: HttpRequest, activity_id: int, body: AttendanceIn) -> list[Signup]:
    caller = actor(request)
    access.access_activity(actor=caller, activity_id=activity_id)
    return services.activity_attendance(
        activity_id=activity_id, actor=caller, resident_ids=body.resident_ids
    )


@router.post(
    "/activities",
    response={201: ActivityOut, **WRITE_ERRORS},
    summary="Organise an activity (its space must be free)",
    operation_id="helpteam_activities_create",
)
def activities_create(request: HttpRequest, body: ActivityIn) -> Status[Activity]:
    created = services.activity_create(actor=actor(request), **body.dict())
    return Status(201, selectors.activity_counted(activity_id=created.pk))


@router.post(
    "/activities/{activity_id}/check-in",
    response={200: SignupOut, **WRITE_ERRORS},
    summary="Scan the activity's code: attendance taken",
    operation_id="helpteam_activity_check_in",
)
def activity_check_in(request: HttpRequest, activity_id: int, body: ActivityCheckInIn) -> Signup:
    caller = actor(request)
    access.access_activity(actor=caller, activity_id=activity_id)
    who = access.named_resident_id(caller, body.resident_id, field="resident_id")
    return services.activity_check_in(activity_id=activity_id, resident_id=who, token=body.token)
