"""The shop's reports: a shop's sales for those who run it; every shop's sales, parcel
turnaround and partner settlement for the district."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from api.acting import actor
from api.errors import READ_ERRORS
from api.shop.responses import CSV_FILE, csv_response
from api.shop.schemas import SalesDayOut, SettlementOut, TurnaroundOut
from api.types import Month
from tenants.shop import access, selectors

router = Router()

SALES_COLUMNS = [
    "day",
    "shop_id",
    "shop",
    "orders",
    "cash_fen",
    "terminal_fen",
    "points",
    "sales_fen",
]
SETTLEMENT_COLUMNS = [
    "organisation_id",
    "organisation",
    "completed",
    "money_fen",
    "points",
    "declined_or_cancelled",
]


def _sales(request: HttpRequest, month: date, shop_id: int | None) -> list[dict[str, Any]]:
    """One shop's for those who run it; every shop's for the district."""
    if shop_id is None:
        access.may_read_district_reports(actor(request))
    else:
        shop = access.access_shop(actor=actor(request), shop_id=shop_id)
        access.may_run_shop(actor(request), shop)
    return selectors.sales_daily(month=month, shop_id=shop_id)


@router.get(
    "/reports/sales",
    response={200: list[SalesDayOut], **READ_ERRORS},
    summary="Sales and points redeemed per shop per day of a month",
    operation_id="shop_reports_sales",
)
def reports_sales(
    request: HttpRequest, month: Month, shop_id: int | None = None
) -> list[dict[str, Any]]:
    return _sales(request, month, shop_id)


@router.get(
    "/reports/sales.csv",
    response={200: None, **READ_ERRORS},
    summary="Sales per shop per day, as CSV",
    operation_id="shop_reports_sales_csv",
    openapi_extra=CSV_FILE,
)
def reports_sales_csv(
    request: HttpRequest, month: Month, shop_id: int | None = None
) -> HttpResponse:
    rows = _sales(request, month, shop_id)
    return csv_response(selectors.as_csv(rows, SALES_COLUMNS), f"sales-{month:%Y-%m}")


@router.get(
    "/reports/parcels",
    response={200: list[TurnaroundOut], **READ_ERRORS},
    summary="Parcel turnaround per shop for a month",
    operation_id="shop_reports_parcels",
)
def reports_parcels(request: HttpRequest, month: Month) -> list[dict[str, Any]]:
    access.may_read_district_reports(actor(request))
    return selectors.parcel_turnaround(month=month)


@router.get(
    "/reports/settlement",
    response={200: list[SettlementOut], **READ_ERRORS},
    summary="Money and points per partner for a month",
    operation_id="shop_reports_settlement",
)
def reports_settlement(request: HttpRequest, month: Month) -> list[dict[str, Any]]:
    access.may_read_district_reports(actor(request))
    return selectors.partner_settlement(month=month)


@router.get(
    "/reports/settlement.csv",
    response={200: None, **READ_ERRORS},
    summary="Partner settlement for a month, as CSV",
    operation_id="shop_reports_settlement_csv",
    openapi_extra=CSV_FILE,
)
def reports_settlement_csv(request: HttpRequest, month: Month) -> HttpResponse:
    access.may_read_district_reports(actor(request))
    rows = selectors.partner_settlement(month=month)
    return csv_response(selectors.as_csv(rows, SETTLEMENT_COLUMNS), f"settlement-{month:%Y-%m}")
