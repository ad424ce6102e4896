"""Points: balances, statements, reports, and the ledger's writes.

Every write needs an ``Idempotency-Key`` header; it becomes the ledger's own
idempotency key (scoped to the API key), so a retry never moves points twice.
A request acting for a resident may only spend or give that resident's points
and read that resident's account.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from api.acting import acting_id, acting_resident, leaders_only
from api.auth import Forbidden, KeyAuth
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, decode_cursor, encode_cursor, page
from api.points.schemas import (
    AccountOut,
    AdjustmentIn,
    AwardIn,
    RedemptionIn,
    RefundIn,
    ReversalIn,
    SettlementLineOut,
    StatementPage,
    SummaryOut,
    TransactionOut,
    TransferIn,
)
from api.types import Day, Month
from linli.errors import NotFound, ValidationFailed
from tenants.community.models import Resident
from tenants.points import selectors, services
from tenants.points.models import Account, Transaction

router = Router(auth=KeyAuth("points"), tags=["points"])


def _ledger_key(request: HttpRequest) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise ValidationFailed(
            _("Points writes need an Idempotency-Key header."),
            code="idempotency_key_required",
            field="Idempotency-Key",
        )
    return f"api:{request.api_key.prefix}:{key}"  # type: ignore[attr-defined]


def _only_self(request: HttpRequest, resident_id: int) -> None:
    acting = acting_id(request)
    if acting is not None and acting != resident_id:
        raise Forbidden(_("A resident can only use their own points."), code="not_your_points")


def _account_out(account: Account) -> dict[str, Any]:
    return {
        "id": account.pk,
        "kind": account.kind,
        "code": account.code,
        "name": account.name,
        "balance": account.balance,
        "resident_id": account.resident_id,
        "organisation_id": account.organisation_id,
    }


def _tx_out(tx: Transaction) -> dict[str, Any]:
    return {
        "id": tx.pk,
        "kind": tx.kind,
        "memo": tx.memo,
        "source": tx.source,
        "created_at": tx.created_at,
        "reverses_id": tx.reverses_id,
        "refunds_id": tx.refunds_id,
        "postings": [
            {"account_id": p.account_id, "amount": p.amount} for p in tx.postings.order_by("id")
        ],
    }


def _visible_account(request: HttpRequest, account_id: int) -> Account:
    account = Account.objects.filter(pk=account_id).first()
    acting = acting_resident(request)
    if account is None or (acting is not None and account.resident_id != acting.pk):
        raise NotFound(
            _("No points account %(id)s.") % {"id": account_id}, code="account_not_found"
        )
    return account


@router.get(
    "/accounts/{account_id}",
    response={200: AccountOut, **READ_ERRORS},
    summary="A points account and its balance",
    operation_id="points_accounts_get",
)
def accounts_get(request: HttpRequest, account_id: int) -> dict[str, Any]:
    return _account_out(_visible_account(request, account_id))


@router.get(
    "/residents/{resident_id}/account",
    response={200: AccountOut, **READ_ERRORS},
    summary="A resident's points account",
    operation_id="points_resident_account_get",
)
def resident_account_get(request: HttpRequest, resident_id: int) -> dict[str, Any]:
    _only_self(request, resident_id)
    resident = Resident.objects.filter(pk=resident_id, erased_at__isnull=True).first()
    if resident is None:
        raise NotFound(_("No resident %(id)s.") % {"id": resident_id}, code="resident_not_found")
    account = Account.objects.filter(resident=resident).first()
    if account is None:
        return {
            "id": None,
            "kind": "resident",
            "code": f"resident:{resident.pk}",
            "name": "",
            "balance": 0,
            "resident_id": resident.pk,
            "organisation_id": None,
        }
    return _account_out(account)


@router.get(
    "/accounts/{account_id}/statement",
    response={200: StatementPage, **READ_ERRORS},
    summary="An account's postings with the running balance",
    operation_id="points_statement_get",
)
def statement_get(
    request: HttpRequest,
    account_id: int,
    params: Query[PageParams],
    since: Day | None = None,
    until: Day | None = None,
) -> dict[str, Any]:
    account = _visible_account(request, account_id)
    after = decode_cursor(params.cursor) if params.cursor else 0
    lines = selectors.statement(
        account_id=account.pk,
        since=since,
        until=until,
        after_posting_id=after,
        limit=params.limit + 1,
    )
    more = len(lines) > params.limit
    lines = lines[: params.limit]
    items = [line.__dict__ for line in lines]
    return page(items, encode_cursor(lines[-1].posting_id) if more and lines else None)


@router.get(
    "/summary",
    response={200: SummaryOut, **READ_ERRORS},
    summary="Points issued, redeemed, expired and outstanding",
    operation_id="points_summary_get",
)
def summary_get(request: HttpRequest) -> dict[str, Any]:
    leaders_only(request)
    return selectors.summary().__dict__


@router.get(
    "/settlements",
    response={200: list[SettlementLineOut], **READ_ERRORS},
    summary="Points each shop and partner received per day of a month",
    operation_id="points_settlements_list",
)
def settlements_list(request: HttpRequest, month: Month) -> list[dict[str, Any]]:
    leaders_only(request)
    return [
        {"account_id": a, "account": n, "day": d, "points_received": p}
        for a, n, d, p in selectors.settlement(month=month)
    ]


@router.post(
    "/awards",
    response={201: TransactionOut, **WRITE_ERRORS},
    summary="Award points for a service event (once per event)",
    operation_id="points_awards_create",
)
def awards_create(request: HttpRequest, body: AwardIn) -> Status[dict[str, Any]]:
    leaders_only(request)
    tx = services.points_award(idempotency_key=_ledger_key(request), **body.dict())
    return Status(201, _tx_out(tx))


@router.post(
    "/redemptions",
    response={201: TransactionOut, **WRITE_ERRORS},
    summary="Spend a resident's points at a shop or partner",
    operation_id="points_redemptions_create",
)
def redemptions_create(request: HttpRequest, body: RedemptionIn) -> Status[dict[str, Any]]:
    _only_self(request, body.resident_id)
    tx = services.points_redeem(idempotency_key=_ledger_key(request), **body.dict())
    return Status(201, _tx_out(tx))


@router.post(
    "/refunds",
    response={201: TransactionOut, **WRITE_ERRORS},
    summary="Give back some or all of a redemption",
    operation_id="points_refunds_create",
)
def refunds_create(request: HttpRequest, body: RefundIn) -> Status[dict[str, Any]]:
    leaders_only(request)
    tx = services.points_refund(idempotency_key=_ledger_key(request), **body.dict())
    return Status(201, _tx_out(tx))


@router.post(
    "/transfers",
    response={201: TransactionOut, **WRITE_ERRORS},
    summary="A resident's gift of points to another",
    operation_id="points_transfers_create",
)
def transfers_create(request: HttpRequest, body: TransferIn) -> Status[dict[str, Any]]:
    _only_self(request, body.from_resident_id)
    tx = services.points_transfer(idempotency_key=_ledger_key(request), **body.dict())
    return Status(201, _tx_out(tx))


@router.post(
    "/adjustments",
    response={201: TransactionOut, **WRITE_ERRORS},
    summary="Correct an account, with a reason",
    operation_id="points_adjustments_create",
)
def adjustments_create(request: HttpRequest, body: AdjustmentIn) -> Status[dict[str, Any]]:
    leaders_only(request)
    tx = services.points_adjust(idempotency_key=_ledger_key(request), **body.dict())
    return Status(201, _tx_out(tx))


@router.post(
    "/transactions/{transaction_id}/reversal",
    response={201: TransactionOut, **WRITE_ERRORS},
    summary="Reverse a transaction, with a reason",
    operation_id="points_transactions_reverse",
)
def transactions_reverse(
    request: HttpRequest, transaction_id: int, body: ReversalIn
) -> Status[dict[str, Any]]:
    leaders_only(request)
    tx = services.transaction_reverse(
        transaction_id=transaction_id, reason=body.reason, idempotency_key=_ledger_key(request)
    )
    return Status(201, _tx_out(tx))
