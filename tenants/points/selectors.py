"""Reads of the ledger: verification, statements, summaries, settlements."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection

from linli import clock
from tenants.community.models import Resident
from tenants.points.models import Account


@dataclass(frozen=True)
class BalanceMismatch:
    account_id: int
    code: str
    stored: int
    from_postings: int


def ledger_verify() -> list[BalanceMismatch]:
    """Recompute every balance from its postings; any difference is returned."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, a.code, a.balance, coalesce(sum(p.amount), 0)
            FROM points_account a LEFT JOIN points_posting p ON p.account_id = a.id
            GROUP BY a.id
            HAVING a.balance <> coalesce(sum(p.amount), 0)
            ORDER BY a.id
            """
        )
        return [BalanceMismatch(*row) for row in cursor.fetchall()]


def resident_account(*, resident: Resident) -> Account:
    """The resident's account; before their first points, an unsaved empty one (no id)."""
    account = Account.objects.filter(resident=resident).first()
    if account is None:
        return Account(
            kind=Account.Kind.RESIDENT, code=f"resident:{resident.pk}", name="", resident=resident
        )
    return account


@dataclass(frozen=True)
class StatementLine:
    posting_id: int
    transaction_id: int
    kind: str
    memo: str
    at: datetime
    amount: int
    balance_after: int


def statement(
    *,
    account_id: int,
    since: date | None = None,
    until: date | None = None,
    after_posting_id: int = 0,
    limit: int = 50,
    newest: bool = False,
) -> list[StatementLine]:
    """An account's postings in order with the running balance after each (one query).

    ``since`` and ``until`` are the tenant's days (from its midnight). The running balance
    counts every earlier posting, also those before ``since``. ``newest``: the last
    ``limit`` lines (still in order), for a page that shows the recent ones.
    """
    start = clock.day_bounds(since)[0] if since is not None else None
    end = clock.day_bounds(until)[1] if until is not None else None
    order = "DESC" if newest else "ASC"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT * FROM (
                SELECT p.id, p.transaction_id, t.kind, t.memo, p.created_at, p.amount,
                       sum(p.amount) OVER (ORDER BY p.id) AS balance_after
                FROM points_posting p JOIN points_transaction t ON t.id = p.transaction_id
                WHERE p.account_id = %(account)s
            ) lines
            WHERE id > %(after)s
              AND (%(start)s::timestamptz IS NULL OR created_at >= %(start)s::timestamptz)
              AND (%(end)s::timestamptz IS NULL OR created_at < %(end)s::timestamptz)
            ORDER BY id {order}
            LIMIT %(limit)s
            """,  # the order is one of two constants; every value is bound
            {"account": account_id, "after": after_posting_id, "start": start, "end": end,
             "limit": limit},
        )  # fmt: skip
        lines = [StatementLine(*row) for row in cursor.fetchall()]
    return lines[::-1] if newest else lines


@dataclass(frozen=True)
class Summary:
    issued: int
    redeemed: int
    refunded: int
    expired: int
    adjusted: int
    outstanding: int


def summary() -> Summary:
    """The tenant's points: issued, redeemed, refunded, expired, adjusted, held by residents."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              coalesce(sum(p.amount) FILTER (WHERE t.kind = 'earn' AND p.amount > 0), 0)
                - coalesce(sum(-p.amount) FILTER (WHERE r.kind = 'earn' AND p.amount < 0
                                                  AND a.kind = 'resident'), 0),
              coalesce(sum(-p.amount) FILTER (WHERE t.kind = 'redeem' AND p.amount < 0), 0),
              coalesce(sum(p.amount) FILTER (WHERE t.kind = 'refund' AND a.kind = 'resident'), 0),
              coalesce(sum(-p.amount) FILTER (WHERE t.kind = 'expire' AND p.amount < 0), 0),
              coalesce(sum(p.amount) FILTER (WHERE t.kind = 'adjust' AND a.kind <> 'system'), 0),
              (SELECT coalesce(sum(balance), 0) FROM points_account WHERE kind = 'resident')
            FROM points_posting p
            JOIN points_transaction t ON t.id = p.transaction_id
            JOIN points_account a ON a.id = p.account_id
            LEFT JOIN points_transaction r ON r.id = t.reverses_id
            """
        )
        return Summary(*(int(v) for v in cursor.fetchone()))


def monthly_flows(*, months: int = 12) -> list[tuple[str, int, int]]:
    """(month, issued, redeemed) for the last ``months`` months, oldest first (for the chart)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT to_char(date_trunc('month', p.created_at), 'YYYY-MM') AS month,
                   coalesce(sum(p.amount) FILTER (WHERE t.kind = 'earn' AND p.amount > 0), 0),
                   coalesce(sum(-p.amount) FILTER (WHERE t.kind = 'redeem' AND p.amount < 0), 0)
            FROM points_posting p JOIN points_transaction t ON t.id = p.transaction_id
            WHERE p.created_at >= date_trunc('month', now()) - make_interval(months => %s)
            GROUP BY 1 ORDER BY 1
            """,
            [months - 1],
        )
        return [(month, int(issued), int(redeemed)) for month, issued, redeemed in cursor]


def settlement(*, month: date) -> list[tuple[int, str, date, int]]:
    """Points each shop and partner received per day of ``month`` (net of refunds)."""
    start = month.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, a.name, p.created_at::date AS day, sum(p.amount)
            FROM points_posting p
            JOIN points_transaction t ON t.id = p.transaction_id
            JOIN points_account a ON a.id = p.account_id
            WHERE a.kind IN ('shop', 'organisation')
              AND t.kind IN ('redeem', 'refund', 'reversal')
              AND p.created_at >= %s AND p.created_at < %s
            GROUP BY a.id, a.name, day
            ORDER BY a.name, day
            """,
            [start, end],
        )
        return [(int(i), name, day, int(total)) for i, name, day, total in cursor]


def settlement_csv(*, month: date) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(["account_id", "account", "day", "points_received"])
    for row in settlement(month=month):
        writer.writerow([row[0], row[1], row[2].isoformat(), row[3]])
    return buffer.getvalue()
