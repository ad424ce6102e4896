"""Real parallel connections: 200 redemptions race for a balance that covers 50; eight
confirmations of one service race to award its points, which happens exactly once.

The test commits (its threads have their own connections), so it runs in a
tenant of its own and drops that tenant's schema afterwards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from linli.errors import LinliError
from linli.registry.models import Tenant
from linli.registry.services import tenant_create, tenant_delete
from tenants.points.models import Account, Posting, Transaction
from tenants.points.selectors import ledger_verify
from tenants.points.services import (
    InsufficientPoints,
    account_for_resident,
    points_adjust,
    points_award,
    points_redeem,
)
from tests.factories import ResidentFactory
from tests.races import race


@pytest.fixture
def race_tenant(django_db_setup, django_db_blocker) -> Iterator[Tenant]:
    with django_db_blocker.unblock():
        tenant = tenant_create(slug="points_race", name="Race", status="active")
        try:
            yield tenant
        finally:
            tenant_delete(slug="points_race")


def test_200_redemptions_against_a_balance_for_50(race_tenant):
    with tenant_context(race_tenant):
        resident = ResidentFactory()
        account = account_for_resident(resident_id=resident.pk)
        shop = Account.objects.create(kind="shop", code="shop:race", name="shop")
        points_adjust(
            account_id=account.pk, amount=500, reason="starting balance", idempotency_key="seed"
        )

    def redeem(attempt: int) -> tuple[int, str]:
        try:
            with tenant_context(race_tenant):
                points_redeem(
                    resident_id=resident.pk,
                    amount=10,
                    to_account_id=shop.pk,
                    idempotency_key=f"race-{attempt}",
                )
            return 201, "ok"
        except InsufficientPoints as exc:
            return exc.status, exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = Counter(pool.map(redeem, range(200)))

    # the losers are told why, as the API tells them: 409 insufficient_points
    assert outcomes == {(201, "ok"): 50, (409, "insufficient_points"): 150}
    with tenant_context(race_tenant):
        assert Account.objects.get(pk=account.pk).balance == 0
        assert Account.objects.get(pk=shop.pk).balance == 500
        assert Transaction.objects.filter(kind="redeem").count() == 50
        assert Posting.objects.filter(transaction__kind="redeem").count() == 100
        assert ledger_verify() == []


def test_eight_confirmations_race_and_the_points_are_awarded_once(race_tenant):
    with tenant_context(race_tenant):
        volunteer = ResidentFactory()

    refused: list[int] = []

    def award(attempt: int) -> None:
        try:
            points_award(
                resident_id=volunteer.pk,
                category="default",
                hours=2,
                source="helpteam.request:race",
                idempotency_key=f"confirm-{attempt}",
            )
        except LinliError as exc:
            refused.append(exc.status)
            raise

    outcomes = race(race_tenant, [lambda n=n: award(n) for n in range(8)])

    assert outcomes == {"ok": 1, "already_awarded": 7}
    assert refused == [409] * 7  # the losers' answer on the API: 409 already_awarded
    with tenant_context(race_tenant):
        assert Transaction.objects.filter(kind="earn").count() == 1
        assert account_for_resident(resident_id=volunteer.pk).balance == 20
        assert ledger_verify() == []
