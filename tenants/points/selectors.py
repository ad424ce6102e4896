"""Reads of the ledger: verification, statements, summaries, settlements."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection


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
