"""Parcels at the shop: a household sees its own; those who run the shop log them, hand
them over against their code, send them back and read the day's figures."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.http import HttpRequest
from ninja import Query, Router, Status

from api.acting import actor
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from api.shop.schemas import (
    ParcelDayOut,
    ParcelIn,
    ParcelOut,
    ParcelPage,
    ParcelPickUpIn,
    RecipientSuggestionOut,
)
from api.types import Day
from tenants.shop import access, selectors
from tenants.shop.models import Parcel
from tenants.shop.services import parcels

router = Router()


def _parcel_to_hand_over(request: HttpRequest, parcel_id: int) -> Parcel:
    parcel = access.access_parcel(actor=actor(request), parcel_id=parcel_id)
    access.may_hand_over_parcel(actor(request), parcel)
    return parcel


@router.get(
    "/parcels",
    response={200: ParcelPage, **READ_ERRORS},
    summary="List parcels (a household's own; a shop's for its operators)",
    operation_id="shop_parcels_list",
)
def parcels_list(
    request: HttpRequest,
    params: Query[PageParams],
    status: Parcel.Status | None = None,
    shop_id: int | None = None,
    household_id: int | None = None,
    due_back: bool = False,
) -> dict[str, Any]:
    rows = selectors.parcel_list(
        access.parcels_visible(actor(request)),
        status=status,
        shop_id=shop_id,
        for_household=household_id,
        due_back=due_back,
    )
    return page(*paginate(rows, params))


@router.post(
    "/parcels",
    response={201: ParcelOut, **WRITE_ERRORS},
    summary="Log an arriving parcel (the household is told)",
    operation_id="shop_parcels_create",
)
def parcels_create(request: HttpRequest, body: ParcelIn) -> Status[Parcel]:
    shop = access.shop_named(actor=actor(request), shop_id=body.shop_id)
    access.may_run_shop(actor(request), shop)
    return Status(201, parcels.parcel_log(**body.dict()))


@router.get(
    "/parcels/recipients",
    response={200: list[RecipientSuggestionOut], **READ_ERRORS},
    summary="Households a parcel label may mean (name, phone's last digits, flat)",
    operation_id="shop_parcels_recipients",
)
def parcels_recipients(request: HttpRequest, q: str) -> list[Model]:
    access.may_look_up_recipients(actor(request))
    return list(selectors.recipient_suggestions(query=q[:64].replace("\x00", "")))


@router.post(
    "/parcels/{parcel_id}/pick-up",
    response={200: ParcelOut, **WRITE_ERRORS},
    summary="Hand a parcel over against its code",
    operation_id="shop_parcels_pick_up",
)
def parcels_pick_up(request: HttpRequest, parcel_id: int, body: ParcelPickUpIn) -> Parcel:
    parcel = _parcel_to_hand_over(request, parcel_id)
    # ``resident_id`` records who collected it (any neighbour with the code may): a record
    # the operator makes, not a person acting, so it is not held to ``named_resident``.
    return parcels.parcel_pick_up(parcel_id=parcel.pk, code=body.code, resident_id=body.resident_id)


@router.post(
    "/parcels/{parcel_id}/return",
    response={200: ParcelOut, **WRITE_ERRORS},
    summary="Send a parcel back to the carrier",
    operation_id="shop_parcels_return",
)
def parcels_return(request: HttpRequest, parcel_id: int) -> Parcel:
    parcel = _parcel_to_hand_over(request, parcel_id)
    return parcels.parcel_return(parcel_id=parcel.pk)


@router.get(
    "/parcels/daily",
    response={200: ParcelDayOut, **READ_ERRORS},
    summary="One day of a shop's parcels",
    operation_id="shop_parcels_daily",
)
def parcels_daily(request: HttpRequest, shop_id: int, day: Day) -> dict[str, Any]:
    shop = access.access_shop(actor=actor(request), shop_id=shop_id)
    access.may_run_shop(actor(request), shop)
    return selectors.parcels_daily(shop_id=shop.pk, day=day)
