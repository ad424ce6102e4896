"""Awards, redemptions, refunds, transfers, adjustments, reversals and expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from linli.errors import Conflict, LinliError, NotFound, ValidationFailed
from linli.registry.models import ModuleSetting
from tenants.points.models import Account, Posting, Transaction
from tenants.points.services import (
    InsufficientPoints,
    account_for_resident,
    points_adjust,
    points_award,
    points_expire,
    points_redeem,
    points_refund,
    points_transfer,
    transaction_reverse,
)


def balance(resident) -> int:
    return Account.objects.get(resident=resident).balance


def set_points_settings(tenant, **settings) -> None:
    ModuleSetting.objects.update_or_create(
        tenant=tenant, module="points", defaults={"enabled": True, "settings": settings}
    )


def award(resident, source="req:1", key=None, hours=1.0, category="default"):
    return points_award(
        resident_id=resident.pk,
        category=category,
        hours=hours,
        source=source,
        idempotency_key=key or f"award:{source}",
    )


def test_an_award_follows_the_rule_and_happens_once_per_event(volunteer):
    tx = award(volunteer, hours=1.5)
    assert balance(volunteer) == 15  # default rule: 10 points an hour
    assert sorted(p.amount for p in tx.postings.all()) == [-15, 15]
    assert award(volunteer, hours=1.5).pk == tx.pk  # the same call again: the same result
    with pytest.raises(Conflict) as err:
        award(volunteer, key="another-key", hours=1.5)
    assert err.value.code == "already_awarded"
    assert balance(volunteer) == 15


def test_the_same_key_with_other_arguments_is_refused(volunteer):
    award(volunteer, key="k1")
    with pytest.raises(ValidationFailed) as err:
        award(volunteer, source="req:2", key="k1")
    assert err.value.code == "idempotency_key_reused"


def test_daily_caps_trim_then_stop_awards(volunteer, tenant):
    set_points_settings(
        tenant,
        earning_rules=[{"category": "default", "per": "hour", "points": 10, "daily_cap": 25}],
    )
    award(volunteer, source="a", hours=2)
    second = award(volunteer, source="b", hours=2)
    assert sorted(p.amount for p in second.postings.all()) == [-5, 5]
    with pytest.raises(Conflict) as err:
        award(volunteer, source="c", hours=1)
    assert err.value.code == "cap_reached"
    assert balance(volunteer) == 25


def test_per_task_rules_and_unknown_categories(volunteer, tenant):
    set_points_settings(
        tenant, earning_rules=[{"category": "child_pickup", "per": "task", "points": 30}]
    )
    award(volunteer, category="child_pickup", source="pickup:1", hours=None)
    assert balance(volunteer) == 30
    with pytest.raises(ValidationFailed) as err:
        award(volunteer, category="plumbing", source="pipe:1")
    assert err.value.code == "no_earning_rule"


def test_redeem_within_the_balance_and_refuse_beyond_it(volunteer, shop_account):
    award(volunteer, hours=5)
    points_redeem(
        resident_id=volunteer.pk, amount=30, to_account_id=shop_account.pk, idempotency_key="r1"
    )
    assert (balance(volunteer), Account.objects.get(pk=shop_account.pk).balance) == (20, 30)
    with pytest.raises(InsufficientPoints) as err:
        points_redeem(
            resident_id=volunteer.pk, amount=21, to_account_id=shop_account.pk, idempotency_key="r2"
        )
    assert (err.value.code, err.value.status) == ("insufficient_points", 409)
    assert balance(volunteer) == 20
    assert not Transaction.objects.filter(idempotency_key="r2").exists()


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, 10**9])
def test_bad_amounts_are_refused(volunteer, shop_account, amount):
    with pytest.raises(ValidationFailed) as err:
        points_redeem(
            resident_id=volunteer.pk,
            amount=amount,
            to_account_id=shop_account.pk,
            idempotency_key="bad",
        )
    assert err.value.code == "amount_invalid"


def test_unknown_accounts_are_refused(volunteer):
    with pytest.raises(NotFound) as err:
        points_redeem(resident_id=volunteer.pk, amount=1, to_account_id=999999, idempotency_key="x")
    assert err.value.code == "account_not_found"
    with pytest.raises(NotFound):
        points_redeem(resident_id=999999, amount=1, to_account_id=1, idempotency_key="y")


def test_refunds_never_exceed_the_redemption(volunteer, partner_account):
    award(volunteer, hours=5)
    spent = points_redeem(
        resident_id=volunteer.pk, amount=40, to_account_id=partner_account.pk, idempotency_key="r"
    )
    points_refund(redemption_id=spent.pk, amount=25, idempotency_key="f1")
    with pytest.raises(Conflict) as err:
        points_refund(redemption_id=spent.pk, amount=16, idempotency_key="f2")
    assert err.value.code == "refund_too_large"
    points_refund(redemption_id=spent.pk, amount=15, idempotency_key="f3")
    assert balance(volunteer) == 50


def test_transfers_only_where_allowed(tenant, volunteer, neighbour):
    award(volunteer, hours=2)
    with pytest.raises(LinliError) as err:
        points_transfer(
            from_resident_id=volunteer.pk,
            to_resident_id=neighbour.pk,
            amount=5,
            idempotency_key="t1",
        )
    assert err.value.code == "transfers_disabled"
    set_points_settings(tenant, allow_transfers=True)
    points_transfer(
        from_resident_id=volunteer.pk, to_resident_id=neighbour.pk, amount=5, idempotency_key="t2"
    )
    assert (balance(volunteer), balance(neighbour)) == (15, 5)


def test_adjustments_need_a_reason(volunteer):
    account = account_for_resident(resident_id=volunteer.pk)
    with pytest.raises(ValidationFailed) as err:
        points_adjust(account_id=account.pk, amount=10, reason=" ", idempotency_key="a")
    assert err.value.code == "reason_required"
    points_adjust(
        account_id=account.pk, amount=10, reason="paper records of 2020", idempotency_key="a2"
    )
    assert balance(volunteer) == 10


def test_reversal_mirrors_and_cannot_itself_be_reversed(volunteer):
    earned = award(volunteer, hours=2)
    reversal = transaction_reverse(
        transaction_id=earned.pk, reason="counted twice", idempotency_key="rev"
    )
    assert balance(volunteer) == 0
    assert reversal.reverses_id == earned.pk
    with pytest.raises(Conflict) as err:
        transaction_reverse(transaction_id=reversal.pk, reason="oops", idempotency_key="rev2")
    assert err.value.code == "reversal_of_reversal"
    with pytest.raises(Conflict) as err:
        transaction_reverse(transaction_id=earned.pk, reason="again", idempotency_key="rev3")
    assert err.value.code == "already_reversed"


def test_reversing_an_award_already_spent_is_insufficient_points(volunteer, shop_account):
    earned = award(volunteer, hours=2)
    points_redeem(
        resident_id=volunteer.pk, amount=15, to_account_id=shop_account.pk, idempotency_key="spend"
    )
    with pytest.raises(InsufficientPoints):
        transaction_reverse(transaction_id=earned.pk, reason="mistake", idempotency_key="rv")
    assert balance(volunteer) == 5


def test_expiry_is_first_in_first_out_and_safe_to_run_twice(tenant, volunteer, shop_account):
    set_points_settings(tenant, expiry_months=12)
    award(volunteer, source="old", hours=5)  # 50 points, back-dated below
    award(volunteer, source="new", hours=2)  # 20 points, recent
    from django.db import connection

    with connection.cursor() as cursor:  # age the first award (tests only; ledger is immutable)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE points_posting DISABLE TRIGGER points_posting_immutable")
        cursor.execute(
            "UPDATE points_posting SET created_at = now() - interval '400 days' "
            "WHERE transaction_id = (SELECT id FROM points_transaction WHERE source = 'old')"
        )
        cursor.execute("ALTER TABLE points_posting ENABLE TRIGGER points_posting_immutable")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    points_redeem(
        resident_id=volunteer.pk, amount=30, to_account_id=shop_account.pk, idempotency_key="spend"
    )  # spends the oldest first
    first = points_expire()
    assert [sorted(p.amount for p in tx.postings.all()) for tx in first] == [[-20, 20]]
    assert balance(volunteer) == 20
    assert points_expire() == []
    assert points_expire(now=timezone.now() + timedelta(days=1)) == []
    assert balance(volunteer) == 20


def test_every_stored_balance_equals_its_postings(volunteer, neighbour, shop_account):
    award(volunteer, hours=3)
    award(neighbour, source="n1", hours=1)
    points_redeem(
        resident_id=volunteer.pk, amount=7, to_account_id=shop_account.pk, idempotency_key="s"
    )
    from tenants.points.selectors import ledger_verify

    assert ledger_verify() == []
    assert sum(Posting.objects.values_list("amount", flat=True)) == 0
