"""Who may see and do what in the shop, on every channel (API keys, resident pages, admin).

Every rule takes the ``Actor`` its channel built (``tenants.community.actor``), and
nothing else in the shop decides who may see or do what:

- list filters (``orders_visible(actor)``, ...) give the rows an actor sees;
- lookups (``access_order(actor=..., order_id=...)``) answer 404 with the module's
  not-found code, the same for a row that is missing and one the actor may not see;
- action checks (``may_run_shop(actor, shop)``, ...) return nothing or raise
  ``NotAllowed`` (403) with a code saying why. State conflicts (409) are the services'.

The rules:

- The catalogue is public: shops, suppliers, products, pre-order batches and partner
  services (and their slots) are seen by every caller, even a signed-out visitor who
  scanned a batch's QR code.
- A shop is **run** by the district's tool, the residents holding the shop-operator
  role for its estate, and the leaders of its estate (its estate secretary, or a
  leader of an area above it). They keep its catalogue and batches, run its counter
  (orders and parcels) and read its reports. Leading a building or unit of the estate
  is not running its shop.
- Orders: a resident sees the orders they placed; those who run a shop see its orders.
  A resident cancels their own (while the shop has not started on it); those who run
  the shop cancel any of its open orders.
- Parcels: a resident sees their household's; those who run a shop see its parcels.
  Only those who run the shop hand parcels over or send them back.
- Bookings: a resident sees the bookings they made; a member of a partner organisation
  sees that partner's. The partner's members (and the district's tool) answer for a
  booking, but never for one they made themselves; only the resident who booked (or
  the district) cancels one.
- Setting up shops, suppliers and partner services, and the district-wide reports, are
  the district's.
- An order or booking is placed for a person: a person names only themselves, the
  district's tool names anyone (``named_resident``). The resident a parcel's handover
  records as collecting it is a record the counter makes, not a person acting.
- Checks come in this order: not visible (404), not allowed (403), then the state the
  service finds (409), so a refusal never depends on the state of what one may not touch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _

from linli.errors import NotAllowed, NotFound, ValidationFailed
from tenants.community.access import named_person
from tenants.community.actor import Actor
from tenants.community.models import OrganisationMember, Role
from tenants.community.roles import active_roles
from tenants.shop.models import (
    Booking,
    Order,
    Parcel,
    PartnerService,
    PreorderBatch,
    Product,
    Shop,
    Supplier,
)

# The codes of the refusals (stable: integrators and tests match on them).
NOT_DISTRICT = "not_for_residents"
NOT_OPERATOR = "not_shop_operator"
NOT_PARTNER = "not_the_partner"
NOT_YOURSELF = "not_yourself"
OWN_BOOKING = "own_booking"


def permits(check: Callable[..., Any], *args: Any) -> bool:
    """Whether an action check lets the actor through (for the admin's permission hooks)."""
    try:
        check(*args)
    except NotAllowed:
        return False
    return True


# --- who runs which shop, who answers for which partner ------------------------------------


def shops_operated(actor: Actor) -> QuerySet[Shop]:
    """The shops the actor runs: all for the district; the estates they lead or hold the
    shop-operator role for. One query when evaluated (the roles are a subquery)."""
    shops = Shop.objects.all()
    if actor.is_district:
        return shops
    runs = Q(pk__in=[])
    if actor.scope.estate_ids:
        runs |= Q(estate_id__in=actor.scope.estate_ids)
    for path in actor.scope.area_paths:
        runs |= Q(estate__area__path__startswith=path)
    if actor.resident is not None:
        operator_of = (
            active_roles(resident=actor.resident)
            .filter(role=Role.SHOP_OPERATOR, estate__isnull=False)
            .values("estate_id")
        )
        runs |= Q(estate_id__in=operator_of)
    return shops.filter(runs)


def operates(actor: Actor, shop_id: int) -> bool:
    return actor.is_district or shops_operated(actor).filter(pk=shop_id).exists()


def _partner_ids(actor: Actor) -> QuerySet[Any]:
    """The organisations the actor is a member of (a subquery)."""
    if actor.resident is None:
        return OrganisationMember.objects.none().values("organisation_id")
    return OrganisationMember.objects.filter(resident=actor.resident).values("organisation_id")


def answers_for(actor: Actor, organisation_id: int) -> bool:
    if actor.is_district:
        return True
    if actor.resident_id is None:
        return False
    return OrganisationMember.objects.filter(
        resident_id=actor.resident_id, organisation_id=organisation_id
    ).exists()


# --- list filters ---------------------------------------------------------------------------


def shops_visible(actor: Actor | None) -> QuerySet[Shop]:
    return Shop.objects.all()


def suppliers_visible(actor: Actor | None) -> QuerySet[Supplier]:
    return Supplier.objects.all()


def products_visible(actor: Actor | None) -> QuerySet[Product]:
    return Product.objects.all()


def batches_visible(actor: Actor | None) -> QuerySet[PreorderBatch]:
    return PreorderBatch.objects.all()


def services_visible(actor: Actor | None) -> QuerySet[PartnerService]:
    return PartnerService.objects.all()


def products_managed(actor: Actor) -> QuerySet[Product]:
    """The products of the shops the actor runs (what the admin lets them edit)."""
    return Product.objects.filter(shop__in=shops_operated(actor))


def batches_managed(actor: Actor) -> QuerySet[PreorderBatch]:
    return PreorderBatch.objects.filter(shop__in=shops_operated(actor))


def services_managed(actor: Actor) -> QuerySet[PartnerService]:
    """The services the actor answers for: all for the district, else their partners'."""
    if actor.is_district:
        return PartnerService.objects.all()
    return PartnerService.objects.filter(organisation_id__in=_partner_ids(actor))


def orders_visible(actor: Actor) -> QuerySet[Order]:
    if actor.is_district:
        return Order.objects.all()
    seen = Q(shop__in=shops_operated(actor))
    if actor.resident_id is not None:
        seen |= Q(resident_id=actor.resident_id)
    return Order.objects.filter(seen)


def orders_placed(actor: Actor) -> QuerySet[Order]:
    """The orders the actor placed themselves ("my orders"), a part of what they see."""
    if actor.resident_id is None:
        return Order.objects.none()
    return Order.objects.filter(resident_id=actor.resident_id)


def parcels_visible(actor: Actor) -> QuerySet[Parcel]:
    if actor.is_district:
        return Parcel.objects.all()
    seen = Q(shop__in=shops_operated(actor))
    if actor.household_id is not None:
        seen |= Q(household_id=actor.household_id)
    return Parcel.objects.filter(seen)


def parcels_of_household(actor: Actor) -> QuerySet[Parcel]:
    """The parcels for the actor's own household ("my parcels"), a part of what they see."""
    if actor.household_id is None:
        return Parcel.objects.none()
    return Parcel.objects.filter(household_id=actor.household_id)


def bookings_visible(actor: Actor) -> QuerySet[Booking]:
    if actor.is_district:
        return Booking.objects.all()
    if actor.resident_id is None:
        return Booking.objects.none()
    return Booking.objects.filter(
        Q(resident_id=actor.resident_id) | Q(service__organisation_id__in=_partner_ids(actor))
    )


# --- lookups: missing and not visible answer the same -----------------------------------------


def _one[M: Model](
    queryset: QuerySet[M], pk: int, *, for_update: bool, code: str, message: str
) -> M:
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound(message % {"id": pk}, code=code)
    return found


def access_shop(*, actor: Actor | None, shop_id: int, for_update: bool = False) -> Shop:
    return _one(
        shops_visible(actor),
        shop_id,
        for_update=for_update,
        code="shop_not_found",
        message=_("No shop %(id)s."),
    )


def shop_named(*, actor: Actor | None, shop_id: int, field: str = "shop_id") -> Shop:
    """A shop a body names (a product's, a batch's, a parcel's): missing is the body's fault,
    422 ``shop_not_found`` on ``field``, not the 404 of a path's shop."""
    shop = shops_visible(actor).filter(pk=shop_id).first()
    if shop is None:
        raise ValidationFailed(
            _("No shop %(id)s.") % {"id": shop_id}, code="shop_not_found", field=field
        )
    return shop


def access_product(*, actor: Actor | None, product_id: int, for_update: bool = False) -> Product:
    return _one(
        products_visible(actor).select_related("shop"),
        product_id,
        for_update=for_update,
        code="product_not_found",
        message=_("No product %(id)s."),
    )


def access_batch(*, actor: Actor | None, batch_id: int, for_update: bool = False) -> PreorderBatch:
    return _one(
        batches_visible(actor).select_related("shop", "supplier"),
        batch_id,
        for_update=for_update,
        code="batch_not_found",
        message=_("No batch %(id)s."),
    )


def access_batch_by_code(*, actor: Actor | None, token: str) -> PreorderBatch:
    """The batch a scanned QR code names (anyone may scan one)."""
    batch = (
        batches_visible(actor)
        .select_related("shop", "supplier")
        .filter(qr_token=token[:24])
        .first()
    )
    if batch is None:
        raise NotFound(_("This code names no batch."), code="batch_not_found")
    return batch


def access_service(
    *, actor: Actor | None, service_id: int, for_update: bool = False
) -> PartnerService:
    return _one(
        services_visible(actor).select_related("organisation"),
        service_id,
        for_update=for_update,
        code="service_not_found",
        message=_("No service %(id)s."),
    )


def access_order(*, actor: Actor, order_id: int, for_update: bool = False) -> Order:
    return _one(
        orders_visible(actor),
        order_id,
        for_update=for_update,
        code="order_not_found",
        message=_("No order %(id)s."),
    )


def access_parcel(*, actor: Actor, parcel_id: int, for_update: bool = False) -> Parcel:
    return _one(
        parcels_visible(actor),
        parcel_id,
        for_update=for_update,
        code="parcel_not_found",
        message=_("No parcel %(id)s."),
    )


def access_booking(*, actor: Actor, booking_id: int, for_update: bool = False) -> Booking:
    return _one(
        bookings_visible(actor).select_related("service"),
        booking_id,
        for_update=for_update,
        code="booking_not_found",
        message=_("No booking %(id)s."),
    )


# --- action checks ----------------------------------------------------------------------------


def may_set_up(actor: Actor) -> None:
    """Opening and closing shops, adding suppliers and partner services."""
    if not actor.is_district:
        raise NotAllowed(_("Only the district sets this up."), code=NOT_DISTRICT)


def may_read_district_reports(actor: Actor) -> None:
    """Sales of every shop, parcel turnaround, partner settlement."""
    if not actor.is_district:
        raise NotAllowed(_("Only the district reads these reports."), code=NOT_DISTRICT)


def may_run_shop(actor: Actor, shop: Shop) -> None:
    """The shop's catalogue, batches, counter, parcels and reports."""
    if not operates(actor, shop.pk):
        raise NotAllowed(_("Only this shop's operators can do this."), code=NOT_OPERATOR)


def may_look_up_recipients(actor: Actor) -> None:
    """The household suggestions for a parcel's label: for those who run some shop."""
    if not (actor.is_district or shops_operated(actor).exists()):
        raise NotAllowed(_("Only shop operators look up recipients."), code=NOT_OPERATOR)


def may_run_counter(actor: Actor, order: Order) -> None:
    """Confirming, packing and handing over an order."""
    if not operates(actor, order.shop_id):
        raise NotAllowed(_("Only this shop's operators can do this."), code=NOT_OPERATOR)


def may_cancel_order(actor: Actor, order: Order) -> int | None:
    """Who cancels: None when the shop does (its operators, the district), else the
    resident cancelling their own order (the service holds them to its stricter rules)."""
    if operates(actor, order.shop_id):
        return None
    if actor.is_self(order.resident_id):
        return actor.resident_id
    raise NotAllowed(_("Only this shop's operators can do this."), code=NOT_OPERATOR)


def may_hand_over_parcel(actor: Actor, parcel: Parcel) -> None:
    """Handing a parcel over against its code, or sending it back."""
    if not operates(actor, parcel.shop_id):
        raise NotAllowed(_("Only this shop's operators can do this."), code=NOT_OPERATOR)


def may_answer_for_partner(actor: Actor, organisation_id: int) -> None:
    """Offering a partner's slots."""
    if not answers_for(actor, organisation_id):
        raise NotAllowed(_("Only the partner can do this."), code=NOT_PARTNER)


def may_decide_booking(actor: Actor, booking: Booking) -> None:
    """Confirming, completing or declining a booking: the partner, never for themselves."""
    may_answer_for_partner(actor, booking.service.organisation_id)
    if actor.is_self(booking.resident_id):
        raise NotAllowed(_("No one answers for their own booking."), code=OWN_BOOKING)


def may_cancel_booking(actor: Actor, booking: Booking) -> int | None:
    """Who cancels: the resident who booked (their id: the slot must not have started yet),
    or the district (None). The partner declines instead."""
    if actor.is_self(booking.resident_id):
        return actor.resident_id
    if actor.is_district:
        return None
    raise NotAllowed(_("Only the resident who booked cancels."), code=NOT_YOURSELF)


def named_resident(actor: Actor, resident_id: int | None, *, field: str = "resident_id") -> Actor:
    """The person an order or booking is for (``tenants.community.access.named_person``)."""
    return named_person(actor, resident_id, field=field)
