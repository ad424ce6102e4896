"""Partner services and their bookings: the district offers a partner's service, the
partner's members offer its slots and answer for its bookings, a resident books and
cancels their own. Who sees and does what is ``tenants.shop.access``'s."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api.acting import actor
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from api.shop.schemas import (
    BookingIn,
    BookingOut,
    BookingPage,
    CancelIn,
    ServiceIn,
    ServiceOut,
    ServicePage,
    ServiceSlotIn,
    ServiceSlotOut,
)
from tenants.shop import access, selectors
from tenants.shop.models import Booking, PartnerService, ServiceSlot
from tenants.shop.services import partners

router = Router()


def _booking_to_decide(request: HttpRequest, booking_id: int) -> Booking:
    booking = access.access_booking(actor=actor(request), booking_id=booking_id)
    access.may_decide_booking(actor(request), booking)
    return booking


@router.get(
    "/services",
    response={200: ServicePage, **READ_ERRORS},
    summary="List partner services",
    operation_id="shop_services_list",
)
def services_list(
    request: HttpRequest, params: Query[PageParams], category: str | None = None
) -> dict[str, Any]:
    services = selectors.service_list(access.services_visible(actor(request)), category=category)
    return page(*paginate(services, params))


@router.post(
    "/services",
    response={201: ServiceOut, **WRITE_ERRORS},
    summary="Offer a partner's service",
    operation_id="shop_services_create",
)
def services_create(request: HttpRequest, body: ServiceIn) -> Status[PartnerService]:
    access.may_set_up(actor(request))
    return Status(201, partners.service_create(**body.dict()))


@router.get(
    "/services/{service_id}/slots",
    response={200: list[ServiceSlotOut], **READ_ERRORS},
    summary="The service's coming slots",
    operation_id="shop_services_slots_list",
)
def services_slots_list(request: HttpRequest, service_id: int) -> list[ServiceSlot]:
    service = access.access_service(actor=actor(request), service_id=service_id)
    return selectors.service_slots_coming(service)


@router.post(
    "/services/{service_id}/slots",
    response={201: ServiceSlotOut, **WRITE_ERRORS},
    summary="Offer a slot",
    operation_id="shop_services_slots_create",
)
def services_slots_create(
    request: HttpRequest, service_id: int, body: ServiceSlotIn
) -> Status[ServiceSlot]:
    service = access.access_service(actor=actor(request), service_id=service_id)
    access.may_answer_for_partner(actor(request), service.organisation_id)
    return Status(201, partners.service_slot_create(service_id=service.pk, **body.dict()))


@router.get(
    "/bookings",
    response={200: BookingPage, **READ_ERRORS},
    summary="List bookings (a resident's own; a partner's for its members)",
    operation_id="shop_bookings_list",
)
def bookings_list(
    request: HttpRequest,
    params: Query[PageParams],
    status: Booking.Status | None = None,
    service_id: int | None = None,
) -> dict[str, Any]:
    rows = selectors.booking_list(
        access.bookings_visible(actor(request)), status=status, service_id=service_id
    )
    return page(*paginate(rows, params))


@router.post(
    "/bookings",
    response={201: BookingOut, **WRITE_ERRORS},
    summary="Book a slot of a partner's service",
    operation_id="shop_bookings_create",
)
def bookings_create(request: HttpRequest, body: BookingIn) -> Status[Booking]:
    booker = access.named_resident(actor(request), body.resident_id)
    booking = partners.booking_create(
        resident_id=booker.resident_id,  # type: ignore[arg-type]
        slot_id=body.slot_id,
        pay_with=body.pay_with,
        note=body.note,
    )
    return Status(201, booking)


@router.post(
    "/bookings/{booking_id}/confirm",
    response={200: BookingOut, **WRITE_ERRORS},
    summary="The partner confirms a booking",
    operation_id="shop_bookings_confirm",
)
def bookings_confirm(request: HttpRequest, booking_id: int) -> Booking:
    booking = _booking_to_decide(request, booking_id)
    return partners.booking_confirm(booking_id=booking.pk)


@router.post(
    "/bookings/{booking_id}/complete",
    response={200: BookingOut, **WRITE_ERRORS},
    summary="The partner records the service done",
    operation_id="shop_bookings_complete",
)
def bookings_complete(request: HttpRequest, booking_id: int) -> Booking:
    booking = _booking_to_decide(request, booking_id)
    return partners.booking_complete(booking_id=booking.pk)


@router.post(
    "/bookings/{booking_id}/decline",
    response={200: BookingOut, **WRITE_ERRORS},
    summary="The partner declines a booking (points refunded)",
    operation_id="shop_bookings_decline",
)
def bookings_decline(request: HttpRequest, booking_id: int, body: CancelIn) -> Booking:
    booking = _booking_to_decide(request, booking_id)
    return partners.booking_decline(booking_id=booking.pk, reason=body.reason)


@router.post(
    "/bookings/{booking_id}/cancel",
    response={200: BookingOut, **WRITE_ERRORS},
    summary="The resident cancels a booking (points refunded)",
    operation_id="shop_bookings_cancel",
)
def bookings_cancel(request: HttpRequest, booking_id: int, body: CancelIn) -> Booking:
    booking = access.access_booking(actor=actor(request), booking_id=booking_id)
    by_resident_id = access.may_cancel_booking(actor(request), booking)
    return partners.booking_cancel(
        booking_id=booking.pk, by_resident_id=by_resident_id, reason=body.reason
    )
