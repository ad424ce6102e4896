"""Points: balances, statements, reports, and the ledger's writes.

Every write needs an ``Idempotency-Key`` header; it becomes the ledger's own
idempotency key (scoped to the API key), so a retry never moves points twice.
Who sees which account and who may move points is ``tenants.points.access``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from api.acting import actor
from api.auth import KeyAuth
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
from linli.errors import ValidationFailed
from tenants.points import access, selectors, services
from tenants.points.models import Account, Transaction

router = Router(auth=KeyAuth("points"), tags=["points"])
MAX_LEDGER_KEY = 255  # the ledger's idempotency key column


def _ledger_key(request: HttpRequest) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    # A header, not a field of the body: the problem names it in its detail, with no pointer.
    if not key:
        raise ValidationFailed(
            _("Points writes need an Idempotency-Key header."), code="idempotency_key_required"
        )
    ledger_key = f"api:{request.api_key.prefix}:{key}"  # type: ignore[attr-defined]
    if len(ledger_key) > MAX_LEDGER_KEY:  # a long header (up to 255) still fits the ledger
        digest = hashlib.sha256(key.encode()).hexdigest()
        ledger_key = f"api:{request.api_key.prefix}:sha256:{digest}"  # type: ignore[attr-defined]
    return ledger_key


@router.get(
    "/accounts/{account_id}",
    response={200: AccountOut, **READ_ERRORS},
    summary="A points account and its balance",
    operation_id="points_accounts_get",
)
def accounts_get(request: HttpRequest, account_id: int) -> Account:
    return access.access_account(actor=actor(request), account_id=account_id)


@router.get(
    "/residents/{resident_id}/account",
    response={200: AccountOut, **READ_ERRORS},
    summary="A resident's points account",
    operation_id="points_resident_account_get",
)
def resident_account_get(request: HttpRequest, resident_id: int) -> Account:
    resident = access.access_point_holder(actor=actor(request), resident_id=resident_id)
    return selectors.resident_account(resident=resident)


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
    account = access.access_account(actor=actor(request), account_id=account_id)
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
    return page(lines, encode_cursor(lines[-1].posting_id) if more and lines else None)


@router.get(
    "/summary",
    response={200: SummaryOut, **READ_ERRORS},
    summary="Points issued, redeemed, expired and outstanding",
    operation_id="points_summary_get",
)
def summary_get(request: HttpRequest) -> selectors.Summary:
    access.may_keep_books(actor(request))
    return selectors.summary()


@router.get(
    "/settlements",
    response={200: list[SettlementLineOut], **READ_ERRORS},
    summary="Points each shop and partner received per day of a month",
    operation_id="points_settlements_list",
)
def settlements_list(request: HttpRequest, month: Month) -> list[dict[str, Any]]:
    access.may_keep_books(actor(request))
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
def awards_create(request: HttpRequest, body: AwardIn) -> Status[Transaction]:
    access.may_award(actor(request), body.resident_id)
    return Status(201, services.points_award(idempotency_key=_ledger_key(request), **body.dict()))


@router.post(
    "/redemptions",
    response={201: TransactionOut, **WRITE_ERRORS},
    summary="Spend a resident's points at a shop or partner",
    operation_id="points_redemptions_create",
)
def redemptions_create(request: HttpRequest, body: RedemptionIn) -> Status[Transaction]:
    access.payer(actor(request), body.resident_id, field="resident_id")
    access.account_named(body.to_account_id, field="to_account_id")
    return Status(201, services.points_redeem(idempotency_key=_ledger_key(request), **body.dict()))


@router.post(
    "/refunds",
    response={201: TransactionOut, **WRITE_ERRORS},
    summary="Give back some or all of a redemption",
    operation_id="points_refunds_create",
)
def refunds_create(request: HttpRequest, body: RefundIn) -> Status[Transaction]:
    access.may_undo(actor(request), body.redemption_id)
    access.redemption_named(body.redemption_id, field="redemption_id")
    return Status(201, services.points_refund(idempotency_key=_ledger_key(request), **body.dict()))


@router.post(
    "/transfers",
    response={201: TransactionOut, **WRITE_ERRORS},
    summary="A resident's gift of points to another",
    operation_id="points_transfers_create",
)
def transfers_create(request: HttpRequest, body: TransferIn) -> Status[Transaction]:
    access.payer(actor(request), body.from_resident_id, field="from_resident_id")
    access.resident_named(body.to_resident_id, field="to_resident_id")
    return Status(
        201, services.points_transfer(idempotency_key=_ledger_key(request), **body.dict())
    )


@router.post(
    "/adjustments",
    response={201: TransactionOut, **WRITE_ERRORS},
    summary="Correct an account (or a resident's, opened if need be), with a reason",
    operation_id="points_adjustments_create",
)
def adjustments_create(request: HttpRequest, body: AdjustmentIn) -> Status[Transaction]:
    access.may_adjust(actor(request), account_id=body.account_id, resident_id=body.resident_id)
    return Status(201, services.points_adjust(idempotency_key=_ledger_key(request), **body.dict()))


@router.post(
    "/transactions/{transaction_id}/reversal",
    response={201: TransactionOut, **WRITE_ERRORS},
    summary="Reverse a transaction, with a reason",
    operation_id="points_transactions_reverse",
)
def transactions_reverse(
    request: HttpRequest, transaction_id: int, body: ReversalIn
) -> Status[Transaction]:
    access.may_undo(actor(request), transaction_id)
    tx = services.transaction_reverse(
        transaction_id=transaction_id, reason=body.reason, idempotency_key=_ledger_key(request)
    )
    return Status(201, tx)
