"""Help team: residents ask, neighbours claim and help, requesters confirm; activities.

A request acting for a resident acts as that resident (requester or volunteer);
without one, the key is a leaders' tool and may act for anyone it names.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from api.acting import acting_id, acting_resident, leaders_only, the_resident
from api.auth import Forbidden, KeyAuth
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.helpteam.schemas import (
    ActivityCheckInIn,
    ActivityIn,
    ActivityOut,
    ActivityPage,
    AttendanceIn,
    CancelIn,
    ConfirmIn,
    DashboardOut,
    DisputeIn,
    DisputeResolveIn,
    FeedbackIn,
    HelpRequestIn,
    HelpRequestOut,
    HelpRequestPage,
    HoursBulkIn,
    LeaderboardLineOut,
    RecognitionOut,
    SignupIn,
    SignupOut,
    SuggestionOut,
    TokenIn,
    VolunteerActionIn,
)
from api.pagination import PageParams, page, paginate
from api.types import Month
from linli.errors import NotFound, ValidationFailed
from tenants.helpteam import selectors, services
from tenants.helpteam.matching import suggestions
from tenants.helpteam.models import Activity, HelpRequest, Signup, Volunteer

router = Router(auth=KeyAuth("helpteam"), tags=["helpteam"])


def _leads(request: HttpRequest, help_request: HelpRequest) -> bool:
    """A key without an acting resident is a leaders' tool; an acting resident leads the
    request's place if one of their roles covers it."""
    from tenants.community.models import Household
    from tenants.community.roles import resident_scope

    acting = acting_resident(request)
    if acting is None:
        return True
    if help_request.household_id is None:
        return False
    scope = resident_scope(acting)
    return (
        scope.everything
        or scope.households(Household.objects.filter(pk=help_request.household_id)).exists()
    )


def _visible(request: HttpRequest) -> QuerySet[HelpRequest]:
    requests = HelpRequest.objects.select_related("claimed_by")
    acting = acting_resident(request)
    if acting is None:
        return requests
    # A resident sees their own requests and claims, and the open ones in their own estate.
    estate_id = (
        acting.household.unit.building.estate_id if acting.household_id is not None else None
    )
    from tenants.community.models import Household
    from tenants.community.roles import resident_scope

    visible = (
        Q(requester_id=acting.pk)
        | Q(claimed_by__resident_id=acting.pk)
        | Q(status="open", household__unit__building__estate_id=estate_id)
    )
    scope = resident_scope(acting)
    if scope.everything:
        return requests
    if scope.anything:  # a leader also sees every request in the places they lead
        visible |= Q(household__in=scope.households(Household.objects.all()))
    return requests.filter(visible)


def _get(request: HttpRequest, request_id: int) -> HelpRequest:
    help_request = _visible(request).filter(pk=request_id).first()
    if help_request is None:
        raise NotFound(
            _("No help request %(id)s.") % {"id": request_id}, code="help_request_not_found"
        )
    return help_request


def _out(r: HelpRequest) -> dict[str, Any]:
    return {
        "id": r.pk,
        "requester_id": r.requester_id,
        "raised_by_id": r.raised_by_id,
        "category": r.category,
        "description": r.description,
        "window_start": r.window_start,
        "window_end": r.window_end,
        "household_id": r.household_id,
        "place": r.place,
        "urgency": r.urgency,
        "status": r.status,
        "claimed_by_resident_id": r.claimed_by.resident_id if r.claimed_by else None,
        "hours": r.hours,
        "points_transaction_id": r.points_transaction_id,
        "rating": r.rating,
    }


def _fresh(request_id: int) -> dict[str, Any]:
    return _out(HelpRequest.objects.select_related("claimed_by").get(pk=request_id))


@router.get(
    "/requests",
    response={200: HelpRequestPage, **READ_ERRORS},
    summary="List help requests",
    operation_id="helpteam_requests_list",
)
def requests_list(
    request: HttpRequest,
    params: Query[PageParams],
    status: HelpRequest.Status | None = None,
    estate_id: int | None = None,
    building_id: int | None = None,
) -> dict[str, Any]:
    requests = _visible(request)
    if status:
        requests = requests.filter(status=status)
    if estate_id is not None:
        requests = requests.filter(household__unit__building__estate_id=estate_id)
    if building_id is not None:
        requests = requests.filter(household__unit__building_id=building_id)
    rows, next_cursor = paginate(requests, params)
    return page([_out(r) for r in rows], next_cursor)


@router.post(
    "/requests",
    response={201: HelpRequestOut, **WRITE_ERRORS},
    summary="Ask for help",
    operation_id="helpteam_requests_create",
)
def requests_create(request: HttpRequest, body: HelpRequestIn) -> Status[dict[str, Any]]:
    acting = acting_id(request)
    raised_by = body.raised_by_id
    requester = body.requester_id
    if acting is not None:
        if requester is None or requester == acting:
            requester, raised_by = acting, None
        elif _may_raise_for_others(acting):
            raised_by = acting  # a leader or central household asking for a neighbour
        else:
            raise Forbidden(
                _("Only leaders and central households ask for others."), code="not_yourself"
            )
    if requester is None:
        raise ValidationFailed(
            _("Name the resident."), code="resident_required", field="requester_id"
        )
    created = services.request_create(
        requester_id=requester,
        category=body.category,
        description=body.description,
        window_start=body.window_start,
        window_end=body.window_end,
        household_id=body.household_id,
        place=body.place,
        urgency=body.urgency,
        raised_by_id=raised_by,
    )
    return Status(201, _fresh(created.pk))


def _may_raise_for_others(resident_id: int) -> bool:
    from tenants.community.models import Resident, Role
    from tenants.community.roles import active_roles

    resident = Resident.objects.get(pk=resident_id)
    return (
        active_roles(resident=resident)
        .filter(
            role__in=[
                Role.DISTRICT_ADMIN,
                Role.GRID_WORKER,
                Role.ESTATE_SECRETARY,
                Role.BUILDING_LEADER,
                Role.UNIT_LEADER,
                Role.CENTRAL_HOUSEHOLD,
            ]
        )
        .exists()
    )


@router.get(
    "/requests/{request_id}",
    response={200: HelpRequestOut, **READ_ERRORS},
    summary="A help request",
    operation_id="helpteam_requests_get",
)
def requests_get(request: HttpRequest, request_id: int) -> dict[str, Any]:
    return _out(_get(request, request_id))


def _volunteer_step(step: Any) -> Any:
    def handler(request: HttpRequest, request_id: int, body: VolunteerActionIn) -> Any:
        _get(request, request_id)
        who = the_resident(request, body.volunteer_resident_id, field="volunteer_resident_id")
        step(request_id=request_id, volunteer_resident_id=who)
        return _fresh(request_id)

    return handler


for _path, _step, _summary in [
    ("claim", services.request_claim, "Claim a request (one volunteer wins)"),
    ("start", services.request_start, "Start the claimed work"),
    ("done", services.request_done, "Mark the work done"),
]:
    router.add_api_operation(
        f"/requests/{{request_id}}/{_path}",
        ["POST"],
        _volunteer_step(_step),
        response={200: HelpRequestOut, **WRITE_ERRORS},
        summary=_summary,
        operation_id=f"helpteam_requests_{_path}",
    )


@router.post(
    "/requests/{request_id}/confirm",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Confirm the help given; the volunteer earns points once",
    operation_id="helpteam_requests_confirm",
)
def requests_confirm(request: HttpRequest, request_id: int, body: ConfirmIn) -> dict[str, Any]:
    help_request = _get(request, request_id)
    services.request_confirm(
        request_id=request_id,
        hours=body.hours,
        by_resident_id=acting_id(request),
        as_leader=_leads(request, help_request),
    )
    return _fresh(request_id)


@router.post(
    "/requests/{request_id}/cancel",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Cancel a request",
    operation_id="helpteam_requests_cancel",
)
def requests_cancel(request: HttpRequest, request_id: int, body: CancelIn) -> dict[str, Any]:
    help_request = _get(request, request_id)
    services.request_cancel(
        request_id=request_id,
        by_resident_id=acting_id(request),
        as_leader=_leads(request, help_request),
        reason=body.reason,
    )
    return _fresh(request_id)


@router.post(
    "/requests/{request_id}/feedback",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="The requester's rating and comment",
    operation_id="helpteam_requests_feedback",
)
def requests_feedback(request: HttpRequest, request_id: int, body: FeedbackIn) -> dict[str, Any]:
    _get(request, request_id)
    services.request_feedback(
        request_id=request_id,
        by_resident_id=acting_id(request),
        rating=body.rating,
        comment=body.comment,
    )
    return _fresh(request_id)


@router.get(
    "/requests/{request_id}/suggestions",
    response={200: list[SuggestionOut], **READ_ERRORS},
    summary="Volunteers to ask, best first, with reasons",
    operation_id="helpteam_requests_suggestions",
)
def requests_suggestions(request: HttpRequest, request_id: int) -> list[dict[str, Any]]:
    leaders_only(request)
    help_request = _get(request, request_id)
    return [
        {
            "volunteer_resident_id": s.volunteer.resident_id,
            "score": s.score,
            "reasons": list(s.reasons),
        }
        for s in suggestions(help_request=help_request)
    ]


@router.get(
    "/activities",
    response={200: ActivityPage, **READ_ERRORS},
    summary="List activities",
    operation_id="helpteam_activities_list",
)
def activities_list(
    request: HttpRequest, params: Query[PageParams], estate_id: int | None = None
) -> dict[str, Any]:
    activities = (
        Activity.objects.filter(cancelled=False)
        .select_related("space")
        .annotate(
            confirmed=Count("signups", filter=Q(signups__status="confirmed")),
            waitlisted=Count("signups", filter=Q(signups__status="waitlisted")),
        )
    )
    if estate_id is not None:
        activities = activities.filter(estate_id=estate_id)
    rows, next_cursor = paginate(activities, params)
    items = [
        {
            "id": a.pk,
            "title": a.title,
            "estate_id": a.estate_id,
            "space": a.space.name if a.space else "",
            "starts_at": a.starts_at,
            "ends_at": a.ends_at,
            "capacity": a.capacity,
            "confirmed": a.confirmed,  # type: ignore[attr-defined]
            "waitlisted": a.waitlisted,  # type: ignore[attr-defined]
        }
        for a in rows
    ]
    return page(items, next_cursor)


def _signup_out(s: Signup) -> dict[str, Any]:
    return {
        "id": s.pk,
        "activity_id": s.activity_id,
        "resident_id": s.resident_id,
        "status": s.status,
        "attended": s.attended,
    }


@router.post(
    "/activities/{activity_id}/signups",
    response={201: SignupOut, **WRITE_ERRORS},
    summary="Sign up (or join the waitlist)",
    operation_id="helpteam_signups_create",
)
def signups_create(
    request: HttpRequest, activity_id: int, body: SignupIn
) -> Status[dict[str, Any]]:
    who = the_resident(request, body.resident_id, field="resident_id")
    return Status(
        201, _signup_out(services.activity_signup(activity_id=activity_id, resident_id=who))
    )


@router.post(
    "/activities/{activity_id}/signups/cancel",
    response={200: SignupOut, **WRITE_ERRORS},
    summary="Leave an activity",
    operation_id="helpteam_signups_cancel",
)
def signups_cancel(request: HttpRequest, activity_id: int, body: SignupIn) -> dict[str, Any]:
    who = the_resident(request, body.resident_id, field="resident_id")
    return _signup_out(services.activity_signup_cancel(activity_id=activity_id, resident_id=who))


@router.post(
    "/activities/{activity_id}/attendance",
    response={200: list[SignupOut], **WRITE_ERRORS},
    summary="Take attendance; attendees earn points by the activity's rule",
    operation_id="helpteam_attendance_create",
)
def attendance_create(
    request: HttpRequest, activity_id: int, body: AttendanceIn
) -> list[dict[str, Any]]:
    leaders_only(request)
    return [
        _signup_out(s)
        for s in services.activity_attendance(
            activity_id=activity_id, resident_ids=body.resident_ids
        )
    ]


# --- proof of service, disputes, bulk hours --------------------------------------------------


@router.post(
    "/requests/{request_id}/check-in",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Scan the request's code on arrival",
    operation_id="helpteam_check_in",
)
def requests_check_in(request: HttpRequest, request_id: int, body: TokenIn) -> dict[str, Any]:
    return _scan(request, request_id, body, services.request_check_in)


@router.post(
    "/requests/{request_id}/check-out",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Scan the request's code when leaving",
    operation_id="helpteam_check_out",
)
def requests_check_out(request: HttpRequest, request_id: int, body: TokenIn) -> dict[str, Any]:
    return _scan(request, request_id, body, services.request_check_out)


def _scan(request: HttpRequest, request_id: int, body: TokenIn, step: Any) -> dict[str, Any]:
    """The volunteer scanned the request's code (on arrival or when leaving)."""
    _get(request, request_id)
    who = the_resident(request, body.volunteer_resident_id, field="volunteer_resident_id")
    step(request_id=request_id, volunteer_resident_id=who, token=body.token)
    return _fresh(request_id)


@router.post(
    "/requests/{request_id}/evidence",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Add a photo of the work (JPEG or PNG, 5 MB)",
    operation_id="helpteam_evidence_add",
)
def requests_evidence(
    request: HttpRequest,
    request_id: int,
    photo: File[UploadedFile],
    volunteer_resident_id: Form[int | None] = None,
) -> dict[str, Any]:
    _get(request, request_id)
    who = the_resident(request, volunteer_resident_id, field="volunteer_resident_id")
    services.request_evidence_add(
        request_id=request_id,
        volunteer_resident_id=who,
        content=photo.read(services.MAX_EVIDENCE + 1),
    )
    return _fresh(request_id)


@router.post(
    "/requests/{request_id}/dispute",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Dispute an automatic confirmation",
    operation_id="helpteam_dispute",
)
def requests_dispute(request: HttpRequest, request_id: int, body: DisputeIn) -> dict[str, Any]:
    _get(request, request_id)
    services.request_dispute(
        request_id=request_id, by_resident_id=acting_id(request), reason=body.reason
    )
    return _fresh(request_id)


@router.post(
    "/requests/{request_id}/dispute/resolve",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="A leader resolves a dispute (upheld: points reversed)",
    operation_id="helpteam_dispute_resolve",
)
def requests_dispute_resolve(
    request: HttpRequest, request_id: int, body: DisputeResolveIn
) -> dict[str, Any]:
    leaders_only(request)
    _get(request, request_id)
    services.request_dispute_resolve(request_id=request_id, upheld=body.upheld)
    return _fresh(request_id)


@router.post(
    "/hours",
    response={200: list[HelpRequestOut], **WRITE_ERRORS},
    summary="Leaders enter hours in bulk (volunteers without phones)",
    operation_id="helpteam_hours_bulk",
)
def hours_bulk(request: HttpRequest, body: HoursBulkIn) -> list[dict[str, Any]]:
    leaders_only(request)
    done = services.hours_record_bulk(entries=[(e.request_id, e.hours) for e in body.entries])
    return [_fresh(r.pk) for r in done]


# --- activities --------------------------------------------------------------------------------


@router.post(
    "/activities",
    response={201: ActivityOut, **WRITE_ERRORS},
    summary="Organise an activity (its space must be free)",
    operation_id="helpteam_activities_create",
)
def activities_create(request: HttpRequest, body: ActivityIn) -> Status[dict[str, Any]]:
    leaders_only(request)
    a = services.activity_create(**body.dict())
    return Status(
        201,
        {
            "id": a.pk,
            "title": a.title,
            "estate_id": a.estate_id,
            "space": a.space.name if a.space else "",
            "starts_at": a.starts_at,
            "ends_at": a.ends_at,
            "capacity": a.capacity,
            "confirmed": 0,
            "waitlisted": 0,
        },
    )


@router.post(
    "/activities/{activity_id}/check-in",
    response={200: SignupOut, **WRITE_ERRORS},
    summary="Scan the activity's code: attendance taken",
    operation_id="helpteam_activity_check_in",
)
def activity_check_in(
    request: HttpRequest, activity_id: int, body: ActivityCheckInIn
) -> dict[str, Any]:
    who = the_resident(request, body.resident_id, field="resident_id")
    return _signup_out(
        services.activity_check_in(activity_id=activity_id, resident_id=who, token=body.token)
    )


# --- recognition and the leaders' view ------------------------------------------------------------


def _volunteer(resident_id: int) -> Volunteer:
    volunteer = (
        Volunteer.objects.select_related("resident")
        .filter(resident_id=resident_id, resident__erased_at__isnull=True)
        .first()
    )
    if volunteer is None:
        raise NotFound(_("No volunteer %(id)s.") % {"id": resident_id}, code="volunteer_not_found")
    return volunteer


@router.get(
    "/volunteers/{resident_id}/recognition",
    response={200: RecognitionOut, **READ_ERRORS},
    summary="A volunteer's confirmed hours and stars",
    operation_id="helpteam_recognition_get",
)
def recognition_get(request: HttpRequest, resident_id: int) -> dict[str, Any]:
    thresholds = services.helpteam_settings().star_thresholds
    return selectors.recognition(volunteer=_volunteer(resident_id), thresholds=thresholds).__dict__


@router.get(
    "/volunteers/{resident_id}/certificate.pdf",
    response={200: None, **READ_ERRORS},
    summary="A printable service certificate (PDF)",
    operation_id="helpteam_certificate_get",
)
def certificate_get(request: HttpRequest, resident_id: int) -> HttpResponse:
    from tenants.helpteam.certificate import certificate_pdf

    pdf = certificate_pdf(
        volunteer=_volunteer(resident_id),
        tenant_name=request.tenant.name,  # type: ignore[attr-defined]
        thresholds=services.helpteam_settings().star_thresholds,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{resident_id}.pdf"'
    return response


@router.get(
    "/leaderboard",
    response={200: list[LeaderboardLineOut], **READ_ERRORS},
    summary="Volunteers by confirmed hours in a month",
    operation_id="helpteam_leaderboard_get",
)
def leaderboard_get(
    request: HttpRequest, month: Month, estate_id: int | None = None, area_id: int | None = None
) -> list[dict[str, Any]]:
    return [
        line.__dict__
        for line in selectors.leaderboard(month=month, estate_id=estate_id, area_id=area_id)
    ]


@router.get(
    "/dashboard",
    response={200: DashboardOut, **READ_ERRORS},
    summary="Leaders' view: open requests by building, weekly flow, volunteers' month",
    operation_id="helpteam_dashboard_get",
)
def dashboard_get(request: HttpRequest) -> dict[str, Any]:
    leaders_only(request)
    alert = services.helpteam_settings().unclaimed_alert_hours
    return {
        "alert_hours": alert,
        "open_by_building": [
            q.__dict__ for q in selectors.open_requests_by_building(alert_hours=alert)
        ],
        "weeks": [{"week": w, "raised": r, "resolved": d} for w, r, d in selectors.weekly_flow()],
        "volunteers_this_month": [
            {"resident_id": i, "name": n, "hours": h, "points": p}
            for i, n, h, p in selectors.volunteer_month(month=timezone.localdate())
        ],
    }
