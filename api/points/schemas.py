from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema

from api.pagination import Page
from api.types import In, Text
from tenants.points.models import Posting, Transaction


class AccountOut(Schema):
    id: int | None = Field(
        description=(
            "Null for a resident who has had no points yet: the account opens with their first "
            "posting (an award, a gift, or an adjustment naming `resident_id`)."
        )
    )
    kind: str
    code: str
    name: str
    balance: int
    resident_id: int | None
    organisation_id: int | None


class PostingOut(Schema):
    account_id: int
    amount: int


class TransactionOut(Schema):
    id: int
    kind: str
    memo: str
    source: str
    created_at: datetime
    reverses_id: int | None
    refunds_id: int | None
    postings: list[PostingOut]

    @staticmethod
    def resolve_postings(obj: Transaction) -> list[Posting]:
        return list(obj.postings.order_by("id"))


class StatementLineOut(Schema):
    posting_id: int
    transaction_id: int
    kind: str
    memo: str
    at: datetime
    amount: int
    balance_after: int


class StatementPage(Page[StatementLineOut]):
    pass


class SummaryOut(Schema):
    issued: int
    redeemed: int
    refunded: int
    expired: int
    adjusted: int
    outstanding: int


class SettlementLineOut(Schema):
    account_id: int
    account: str
    day: date
    points_received: int


class AwardIn(In):
    resident_id: int = Field(ge=1)
    category: Text = Field(min_length=1, max_length=64)
    source: Text = Field(min_length=1, max_length=100, description="e.g. helpteam.request:42")
    hours: float | None = Field(None, gt=0, le=24)
    memo: Text = Field("", max_length=255)


class RedemptionIn(In):
    resident_id: int = Field(ge=1)
    amount: int = Field(ge=1, le=1_000_000)
    to_account_id: int = Field(ge=1)
    memo: Text = Field("", max_length=255)


class RefundIn(In):
    redemption_id: int = Field(ge=1)
    amount: int = Field(ge=1, le=1_000_000)
    memo: Text = Field("", max_length=255)


class TransferIn(In):
    from_resident_id: int = Field(ge=1)
    to_resident_id: int = Field(ge=1)
    amount: int = Field(ge=1, le=1_000_000)
    memo: Text = Field("", max_length=255)


class AdjustmentIn(In):
    account_id: int | None = Field(None, ge=1, description="The account; or name the resident.")
    resident_id: int | None = Field(
        None,
        ge=1,
        description="The resident whose account to adjust, opened if they have no points yet.",
    )
    amount: int = Field(ge=-1_000_000, le=1_000_000, description="Positive or negative, not 0.")
    reason: Text = Field(min_length=1, max_length=255)


class ReversalIn(In):
    reason: Text = Field(min_length=1, max_length=255)
