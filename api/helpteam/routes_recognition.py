"""Recognition (stars, certificates, the monthly leaderboard) and the leaders' dashboard."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from api.acting import actor
from api.errors import READ_ERRORS
from api.helpteam.schemas import DashboardOut, LeaderboardLineOut, RecognitionOut
from api.types import Month, file_answer
from tenants.helpteam import access, selectors
from tenants.helpteam.certificate import certificate_pdf
from tenants.helpteam.services import helpteam_settings

router = Router()


@router.get(
    "/volunteers/{resident_id}/recognition",
    response={200: RecognitionOut, **READ_ERRORS},
    summary="A volunteer's confirmed hours and stars",
    operation_id="helpteam_recognition_get",
)
def recognition_get(request: HttpRequest, resident_id: int) -> selectors.Recognition:
    volunteer = access.access_volunteer(actor=actor(request), resident_id=resident_id)
    return selectors.recognition(volunteer=volunteer)


@router.get(
    "/volunteers/{resident_id}/certificate.pdf",
    response={200: None, **READ_ERRORS},
    summary="A printable service certificate (PDF)",
    operation_id="helpteam_certificate_get",
    openapi_extra=file_answer("application/pdf"),
)
def certificate_get(request: HttpRequest, resident_id: int) -> HttpResponse:
    caller = actor(request)
    volunteer = access.access_volunteer(actor=caller, resident_id=resident_id)
    access.may_get_certificate(caller, volunteer)
    pdf = certificate_pdf(
        volunteer=volunteer,
        tenant_name=request.tenant.name,  # type: ignore[attr-defined]
        thresholds=helpteam_settings().star_thresholds,
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
) -> list[selectors.LeaderboardLine]:
    return selectors.leaderboard(month=month, estate_id=estate_id, area_id=area_id)


@router.get(
    "/dashboard",
    response={200: DashboardOut, **READ_ERRORS},
    summary="Leaders' view: open requests by building, weekly flow, volunteers' month",
    operation_id="helpteam_dashboard_get",
)
def dashboard_get(request: HttpRequest) -> selectors.Dashboard:
    caller = actor(request)
    access.may_view_dashboard(caller)
    return selectors.dashboard(requests=access.help_requests_led(caller))
