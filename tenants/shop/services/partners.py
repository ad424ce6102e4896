"""Partner services booked through the shop: requested → confirmed → completed, or declined
by the partner or cancelled by the resident. Points are paid on booking and refunded on a
decline or cancellation, once; a slot never takes more bookings than its capacity."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.errors import Conflict, NotFound, ValidationFailed
from linli.notify import Notice, notify
from tenants.audit.services import audit_record
from tenants.community.models import Organisation
from tenants.shop.events import booking_event
from tenants.shop.models import Booking, PartnerService, ServiceSlot, Shop
from tenants.shop.services.common import active_resident, fen, points_enabled, text

Status = Booking.Status
MAX_SLOT = timedelta(days=1)


@transaction.atomic
def service_create(
    *,
    organisation_id: int,
    category: str,
    title: str,
    description: str = "",
    price_fen: int | None = None,
    points_price: int | None = None,
    shop_id: int | None = None,
) -> PartnerService:
    organisation = Organisation.objects.filter(pk=organisation_id, active=True).first()
    if organisation is None:
        raise ValidationFailed(
            _("No active organisation %(id)s.") % {"id": organisation_id},
            code="organisation_not_found",
            field="organisation_id",
        )
    if category not in PartnerService.Category.values:
        raise ValidationFailed(_("Unknown category."), code="category_invalid", field="category")
    if price_fen is None and points_price is None:
        raise ValidationFailed(
            _("Give a price in money, in points, or both."),
            code="price_required",
            field="price_fen",
        )
    if points_price is not None and (
        isinstance(points_price, bool) or not 0 < points_price <= 1_000_000
    ):
        raise ValidationFailed(
            _("A points price is a whole number from 1 to 1,000,000."),
            code="price_invalid",
            field="points_price",
        )
    shop = None
    if shop_id is not None:
        shop = Shop.objects.filter(pk=shop_id).first()
        if shop is None:
            raise ValidationFailed(
                _("No shop %(id)s.") % {"id": shop_id}, code="shop_not_found", field="shop_id"
            )
    service = PartnerService.objects.create(
        organisation=organisation,
        shop=shop,
        category=category,
        title=text(title, field="title", limit=120),
        description=text(description, field="description", limit=4000, required=False),
        price_fen=None if price_fen is None else fen(price_fen, field="price_fen"),
        points_price=points_price,
    )
    audit_record(action="shop.service.created", obj=service)
    return service


@transaction.atomic
def service_slot_create(
    *, service_id: int, starts_at: datetime, ends_at: datetime, capacity: int = 1
) -> ServiceSlot:
    service = PartnerService.objects.filter(pk=service_id).first()
    if service is None:
        raise NotFound(_("No service %(id)s.") % {"id": service_id}, code="service_not_found")
    if ends_at <= starts_at or ends_at - starts_at > MAX_SLOT:
        raise ValidationFailed(
            _("A slot ends after it starts, within a day."), code="slot_invalid", field="ends_at"
        )
    if starts_at <= timezone.now():
        raise ValidationFailed(
            _("A slot starts in the future."), code="slot_past", field="starts_at"
        )
    if isinstance(capacity, bool) or not 1 <= capacity <= 500:
        raise ValidationFailed(
            _("Capacity is from 1 to 500."), code="capacity_invalid", field="capacity"
        )
    slot = ServiceSlot.objects.create(
        service=service, starts_at=starts_at, ends_at=ends_at, capacity=capacity
    )
    audit_record(action="shop.service_slot.created", obj=slot)
    return slot


@transaction.atomic
def booking_create(*, resident_id: int, slot_id: int, pay_with: str, note: str = "") -> Booking:
    resident = active_resident(resident_id)
    slot = (
        ServiceSlot.objects.select_for_update()
        .select_related("service__organisation")
        .filter(pk=slot_id)
        .first()
    )
    if slot is None:
        raise ValidationFailed(
            _("No slot %(id)s.") % {"id": slot_id}, code="slot_not_found", field="slot_id"
        )
    service = slot.service
    if not service.active or not service.organisation.active:
        raise Conflict(_("This service is not offered now."), code="service_inactive")
    if slot.starts_at <= timezone.now():
        raise Conflict(_("This slot has already started."), code="slot_past")
    if pay_with == Booking.PayWith.POINTS:
        if service.points_price is None:
            raise ValidationFailed(
                _("This service is not paid in points."),
                code="points_not_accepted",
                field="pay_with",
            )
        if not points_enabled():
            raise ValidationFailed(
                _("This tenant does not run the points scheme."),
                code="points_disabled",
                field="pay_with",
            )
    elif pay_with == Booking.PayWith.MONEY:
        if service.price_fen is None:
            raise ValidationFailed(
                _("This service is paid in points only."),
                code="money_not_accepted",
                field="pay_with",
            )
    else:
        raise ValidationFailed(
            _("Pay with money or points."), code="pay_with_invalid", field="pay_with"
        )
    if slot.booked >= slot.capacity:
        raise Conflict(_("This slot is fully booked."), code="slot_full")
    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                service=service,
                slot=slot,
                resident=resident,
                pay_with=pay_with,
                price_fen=(service.price_fen or 0) if pay_with == Booking.PayWith.MONEY else 0,
                points_paid=(service.points_price or 0)
                if pay_with == Booking.PayWith.POINTS
                else 0,
                note=text(note, field="note", limit=500, required=False),
            )
    except IntegrityError as exc:
        raise Conflict(
            _("You already booked this slot."), code="already_booked", field="slot_id"
        ) from exc
    ServiceSlot.objects.filter(pk=slot.pk).update(booked=F("booked") + 1)
    if booking.points_paid:
        from tenants.points.services import account_for_organisation, points_redeem

        redemption = points_redeem(
            resident_id=resident.pk,
            amount=booking.points_paid,
            to_account_id=account_for_organisation(organisation_id=service.organisation_id).pk,
            idempotency_key=f"shop.booking:{booking.pk}:redeem",
            memo=service.title,
        )
        booking.points_redemption_id = redemption.pk
        booking.save(update_fields=["points_redemption_id"])
    audit_record(action="shop.booking.created", obj=booking)
    booking_event("requested", booking)
    return booking


def _booking_for_update(booking_id: int) -> Booking:
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None:
        raise NotFound(_("No booking %(id)s.") % {"id": booking_id}, code="booking_not_found")
    return booking


def _move(booking: Booking, allowed: tuple[str, ...], to: str) -> None:
    if booking.status not in allowed:
        raise Conflict(
            _("A %(status)s booking cannot become %(to)s.")
            % {"status": booking.get_status_display(), "to": Status(to).label},
            code="transition_not_allowed",
        )
    booking.status = to


def _tell(booking: Booking, *, kind: str, subject: str) -> None:
    notify(
        [
            Notice(
                resident_id=booking.resident_id,
                kind=kind,
                subject=subject,
                body=f"{booking.service.title}: {subject}",
                data={"booking_id": str(booking.pk)},
            )
        ]
    )


@transaction.atomic
def booking_confirm(*, booking_id: int) -> Booking:
    booking = _booking_for_update(booking_id)
    _move(booking, (Status.REQUESTED,), Status.CONFIRMED)
    booking.decided_at = timezone.now()
    booking.save(update_fields=["status", "decided_at"])
    audit_record(action="shop.booking.confirmed", obj=booking)
    booking_event("confirmed", booking)
    _tell(booking, kind="shop.booking.confirmed", subject=_("Your booking is confirmed"))
    return booking


@transaction.atomic
def booking_complete(*, booking_id: int) -> Booking:
    """The partner did the work: no earlier than the slot starts (409 ``slot_not_started``)."""
    booking = _booking_for_update(booking_id)
    _move(booking, (Status.CONFIRMED,), Status.COMPLETED)
    if timezone.now() < booking.slot.starts_at:
        raise Conflict(
            _("This slot has not started yet; it cannot be completed."), code="slot_not_started"
        )
    booking.completed_at = timezone.now()
    booking.save(update_fields=["status", "completed_at"])
    audit_record(action="shop.booking.completed", obj=booking)
    booking_event("completed", booking)
    return booking


@transaction.atomic
def booking_decline(*, booking_id: int, reason: str = "") -> Booking:
    booking = _booking_for_update(booking_id)
    _move(booking, (Status.REQUESTED, Status.CONFIRMED), Status.DECLINED)
    _give_back(booking, reason)
    audit_record(action="shop.booking.declined", obj=booking)
    booking_event("declined", booking)
    _tell(booking, kind="shop.booking.declined", subject=_("Your booking was declined"))
    return booking


@transaction.atomic
def booking_cancel(
    *, booking_id: int, by_resident_id: int | None = None, reason: str = ""
) -> Booking:
    booking = _booking_for_update(booking_id)
    if by_resident_id is not None and booking.resident_id != by_resident_id:
        raise NotFound(_("No booking %(id)s.") % {"id": booking_id}, code="booking_not_found")
    _move(booking, (Status.REQUESTED, Status.CONFIRMED), Status.CANCELLED)
    if by_resident_id is not None and booking.slot.starts_at <= timezone.now():
        raise Conflict(_("This slot has already started."), code="slot_past")
    _give_back(booking, reason)
    audit_record(action="shop.booking.cancelled", obj=booking)
    booking_event("cancelled", booking)
    return booking


def _give_back(booking: Booking, reason: str) -> None:
    """Free the place in the slot and refund the points (once: the row lock and the
    refund's own idempotency key)."""
    ServiceSlot.objects.filter(pk=booking.slot_id).update(booked=F("booked") - 1)
    booking.reason = (reason or "").strip()[:255]
    booking.decided_at = timezone.now()
    if booking.points_redemption_id and booking.points_refund_id is None:
        from tenants.points.services import points_refund

        refund = points_refund(
            redemption_id=booking.points_redemption_id,
            amount=booking.points_paid,
            idempotency_key=f"shop.booking:{booking.pk}:refund",
            memo=booking.service.title,
        )
        booking.points_refund_id = refund.pk
    booking.save(update_fields=["status", "reason", "decided_at", "points_refund_id"])
