"""Parcels at the shop: logged on arrival, the household told, picked up with a code,
reminded after some days, sent back to the carrier after more."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.errors import Conflict, NotFound, ValidationFailed
from linli.notify import Notice, notify
from tenants.audit.services import audit_record
from tenants.community.models import Household, Resident
from tenants.shop.events import parcel_event
from tenants.shop.models import Parcel, Shop
from tenants.shop.services.common import active_shop, code_matches, shop_settings, text

Status = Parcel.Status


def _tell_household(parcel: Parcel, *, kind: str, subject: str, body: str) -> None:
    residents = Resident.objects.filter(
        household_id=parcel.household_id, erased_at__isnull=True, status=Resident.Status.ACTIVE
    ).values_list("pk", flat=True)
    notify(
        [
            Notice(
                resident_id=resident_id,
                kind=kind,
                subject=subject,
                body=body,
                data={"parcel_id": str(parcel.pk)},
            )
            for resident_id in residents
        ]
    )


@transaction.atomic
def parcel_log(
    *,
    shop_id: int,
    carrier: str,
    tracking_number: str,
    household_id: int,
    recipient_name: str = "",
    shelf: str = "",
) -> Parcel:
    shop = active_shop(shop_id)
    if Shop.Zone.PARCELS not in shop.zones:
        raise Conflict(_("This shop does not take parcels."), code="no_parcel_zone")
    carrier = text(carrier, field="carrier", limit=64)
    tracking_number = text(tracking_number, field="tracking_number", limit=64).upper()
    household = Household.objects.filter(pk=household_id).first()
    if household is None:
        raise ValidationFailed(
            _("No household %(id)s.") % {"id": household_id},
            code="household_not_found",
            field="household_id",
        )
    fields = {
        "shop": shop,
        "carrier": carrier,
        "tracking_number": tracking_number,
        "household": household,
        "recipient_name": text(recipient_name, field="recipient_name", limit=64, required=False),
        "shelf": text(shelf, field="shelf", limit=16, required=False),
    }
    parcel = None
    for _attempt in range(8):
        try:
            with transaction.atomic():
                parcel = Parcel.objects.create(**fields)
            break
        except IntegrityError as exc:
            if "shop_parcel_waiting_once" in str(exc):
                raise Conflict(
                    _("This parcel is already waiting at a shop."),
                    code="parcel_already_logged",
                    field="tracking_number",
                ) from exc
            if "shop_parcel_waiting_code_unique" not in str(exc):
                raise
    if parcel is None:  # pragma: no cover - 25^6 codes
        raise Conflict(_("Please try again."), code="busy")
    audit_record(action="shop.parcel.arrived", obj=parcel)
    parcel_event("arrived", parcel)
    _tell_household(
        parcel,
        kind="shop.parcel.arrived",
        subject=_("A parcel is waiting for you"),
        body=_("A %(carrier)s parcel is waiting at %(shop)s. Your pickup code is %(code)s.")
        % {"carrier": carrier, "shop": shop.name, "code": parcel.pickup_code},
    )
    return parcel


def _parcel_for_update(parcel_id: int) -> Parcel:
    parcel = Parcel.objects.select_for_update().filter(pk=parcel_id).first()
    if parcel is None:
        raise NotFound(_("No parcel %(id)s.") % {"id": parcel_id}, code="parcel_not_found")
    return parcel


def _still_waiting(parcel: Parcel) -> None:
    if parcel.status == Status.PICKED_UP:
        raise Conflict(_("This parcel was already picked up."), code="already_picked_up")
    if parcel.status == Status.RETURNED:
        raise Conflict(_("This parcel went back to the carrier."), code="parcel_returned")


@transaction.atomic
def parcel_pick_up(*, parcel_id: int, code: str, resident_id: int | None = None) -> Parcel:
    parcel = _parcel_for_update(parcel_id)
    _still_waiting(parcel)
    if not code_matches(parcel.pickup_code, code):
        raise ValidationFailed(
            _("This is not the parcel's pickup code."), code="code_invalid", field="code"
        )
    if resident_id is not None and not Resident.objects.filter(pk=resident_id).exists():
        raise ValidationFailed(
            _("No resident %(id)s.") % {"id": resident_id},
            code="resident_not_found",
            field="resident_id",
        )
    parcel.status = Status.PICKED_UP
    parcel.picked_up_at = timezone.now()
    parcel.picked_up_by_id = resident_id
    parcel.save(update_fields=["status", "picked_up_at", "picked_up_by"])
    audit_record(action="shop.parcel.picked_up", obj=parcel)
    parcel_event("picked_up", parcel)
    return parcel


@transaction.atomic
def parcel_return(*, parcel_id: int) -> Parcel:
    """Handed back to the carrier (uncollected, refused or misdelivered)."""
    parcel = _parcel_for_update(parcel_id)
    _still_waiting(parcel)
    parcel.status = Status.RETURNED
    parcel.returned_at = timezone.now()
    parcel.save(update_fields=["status", "returned_at"])
    audit_record(action="shop.parcel.returned", obj=parcel)
    return parcel


def parcels_remind(*, now: datetime | None = None) -> int:
    """Remind households of parcels waiting ``parcel_remind_days`` or longer, again every
    ``parcel_remind_days`` until they are collected or go back."""
    now = now or timezone.now()
    every = timedelta(days=shop_settings().parcel_remind_days)
    due = Parcel.objects.filter(status=Status.WAITING, arrived_at__lte=now - every).filter(
        Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lte=now - every)
    )
    reminded = 0
    for parcel_id in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            parcel = Parcel.objects.select_for_update().select_related("shop").get(pk=parcel_id)
            if parcel.status != Status.WAITING:
                continue
            parcel.reminders_sent += 1
            parcel.last_reminded_at = now
            parcel.save(update_fields=["reminders_sent", "last_reminded_at"])
            parcel_event("reminded", parcel)
            days = (now - parcel.arrived_at).days
            _tell_household(
                parcel,
                kind="shop.parcel.reminded",
                subject=_("Your parcel is still waiting"),
                body=_("Your parcel has waited %(days)s days at %(shop)s; pickup code %(code)s.")
                % {"days": days, "shop": parcel.shop.name, "code": parcel.pickup_code},
            )
            reminded += 1
    return reminded
