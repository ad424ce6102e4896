"""Property-based: any sequence of operations keeps the books right after every step.

Hypothesis drives random awards, redemptions, refunds, transfers and reversals
(valid or not) against the real ledger; after each step the postings sum to
zero, no resident is below zero, and every stored balance equals its postings.
"""

from __future__ import annotations

from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from linli.errors import LinliError
from linli.registry.models import ModuleSetting, Tenant
from tenants.community.models import Resident
from tenants.points.models import Account, Posting, Transaction
from tenants.points.selectors import ledger_verify
from tenants.points.services import (
    points_award,
    points_redeem,
    points_refund,
    points_transfer,
    transaction_reverse,
)
from tests.factories import ResidentFactory

amounts = st.integers(min_value=1, max_value=120)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each run is one savepoint inside the test's transaction, rolled back at the end.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        tenant = Tenant.objects.get(schema_name="alpha")
        ModuleSetting.objects.update_or_create(
            tenant=tenant,
            module="points",
            defaults={"enabled": True, "settings": {"allow_transfers": True}},
        )
        self.residents: list[Resident] = ResidentFactory.create_batch(3)
        self.shop = Account.objects.create(kind="shop", code="shop:prop", name="shop")
        self.counter = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def key(self) -> str:
        self.counter += 1
        return f"k{self.counter}"

    def attempt(self, operation, **arguments) -> None:
        try:
            with transaction.atomic():
                operation(**arguments)
        except LinliError:
            pass  # refused cleanly: nothing may have been written

    @rule(who=st.integers(0, 2), hours=st.integers(1, 8))
    def award(self, who: int, hours: int) -> None:
        self.attempt(
            points_award,
            resident_id=self.residents[who].pk,
            category="default",
            hours=hours,
            source=f"event:{self.key()}",
            idempotency_key=self.key(),
        )

    @rule(who=st.integers(0, 2), amount=amounts)
    def redeem(self, who: int, amount: int) -> None:
        self.attempt(
            points_redeem,
            resident_id=self.residents[who].pk,
            amount=amount,
            to_account_id=self.shop.pk,
            idempotency_key=self.key(),
        )

    @rule(amount=amounts, pick=st.integers(0, 1000))
    def refund(self, amount: int, pick: int) -> None:
        redemptions = list(Transaction.objects.filter(kind="redeem").values_list("pk", flat=True))
        if redemptions:
            self.attempt(
                points_refund,
                redemption_id=redemptions[pick % len(redemptions)],
                amount=amount,
                idempotency_key=self.key(),
            )

    @rule(giver=st.integers(0, 2), taker=st.integers(0, 2), amount=amounts)
    def transfer(self, giver: int, taker: int, amount: int) -> None:
        self.attempt(
            points_transfer,
            from_resident_id=self.residents[giver].pk,
            to_resident_id=self.residents[taker].pk,
            amount=amount,
            idempotency_key=self.key(),
        )

    @rule(pick=st.integers(0, 1000))
    def reverse(self, pick: int) -> None:
        ids = list(Transaction.objects.values_list("pk", flat=True))
        if ids:
            self.attempt(
                transaction_reverse,
                transaction_id=ids[pick % len(ids)],
                reason="property test",
                idempotency_key=self.key(),
            )

    @rule(key_index=st.integers(1, 50), who=st.integers(0, 2))
    def replay_an_old_key(self, key_index: int, who: int) -> None:
        self.attempt(
            points_redeem,
            resident_id=self.residents[who].pk,
            amount=1,
            to_account_id=self.shop.pk,
            idempotency_key=f"k{key_index}",
        )

    @invariant()
    def books_balance(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the deferred checks now
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        assert sum(Posting.objects.values_list("amount", flat=True)) == 0
        assert not Account.objects.filter(kind="resident", balance__lt=0).exists()
        assert ledger_verify() == []


LedgerMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_the_books_always_balance(in_tenant):
    LedgerMachine.TestCase().runTest()
