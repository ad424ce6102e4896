"""PostgreSQL itself refuses what the books forbid, whatever code tries."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from tenants.points.models import Account, Posting, Transaction
from tenants.points.services import account_for_resident, points_award


def execute(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


@pytest.fixture
def awarded(volunteer):
    return points_award(
        resident_id=volunteer.pk,
        category="default",
        hours=2,
        source="helpteam.request:1",
        idempotency_key="award-1",
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE points_posting SET amount = amount * 2 WHERE transaction_id = %s",
        "DELETE FROM points_posting WHERE transaction_id = %s",
        "UPDATE points_transaction SET memo = 'forged' WHERE id = %s",
        "DELETE FROM points_transaction WHERE id = %s",
    ],
)
def test_postings_and_transactions_cannot_be_changed_or_deleted(awarded, statement):
    with pytest.raises(Exception, match="immutable"), transaction.atomic():
        execute(statement, [awarded.pk])
    assert sorted(Posting.objects.filter(transaction=awarded).values_list("amount", flat=True)) == [
        -20,
        20,
    ]


def test_an_unbalanced_transaction_is_refused_at_commit(volunteer):
    account = account_for_resident(resident_id=volunteer.pk)
    with pytest.raises(Exception, match="unbalanced"), transaction.atomic():
        tx = Transaction.objects.create(kind="adjust", idempotency_key="x", request_hash="x")
        Posting.objects.create(transaction=tx, account=account, amount=5)
        Posting.objects.create(transaction=tx, account=account, amount=-3)
        execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not Transaction.objects.filter(idempotency_key="x").exists()


def test_a_transaction_without_postings_is_refused(in_tenant):
    with pytest.raises(Exception, match="fewer than two postings"), transaction.atomic():
        Transaction.objects.create(kind="adjust", idempotency_key="empty", request_hash="x")
        execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_balance_changes_only_through_postings(awarded, volunteer):
    account = Account.objects.get(resident=volunteer)
    with pytest.raises(Exception, match="only through postings"), transaction.atomic():
        execute("UPDATE points_account SET balance = 1000000 WHERE id = %s", [account.pk])
    with pytest.raises(Exception, match="opens with a zero balance"), transaction.atomic():
        execute(
            "INSERT INTO points_account (kind, code, name, balance, created_at) "
            "VALUES ('shop', 'shop:rich', 'x', 500, now())"
        )
    assert Account.objects.get(pk=account.pk).balance == 20


def test_a_resident_balance_cannot_go_negative_even_bypassing_the_services(
    awarded, volunteer, shop_account
):
    account = Account.objects.get(resident=volunteer)
    with (
        pytest.raises(Exception, match="points_resident_balance_not_negative"),
        transaction.atomic(),
    ):
        tx = Transaction.objects.create(kind="redeem", idempotency_key="raw", request_hash="x")
        Posting.objects.create(transaction=tx, account=account, amount=-21)
        Posting.objects.create(transaction=tx, account=shop_account, amount=21)
    assert Account.objects.get(pk=account.pk).balance == 20
