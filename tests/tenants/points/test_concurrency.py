"""Real parallel connections: 200 redemptions race for a balance that covers 50.

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

from linli.registry.models import Tenant
from linli.registry.services import tenant_create, tenant_delete
from tenants.points.models import Account, Posting, Transaction
from tenants.points.selectors import ledger_verify
from tenants.points.services import (
    InsufficientPoints,
    account_for_resident,
    points_adjust,
    points_redeem,
)
from tests.factories import ResidentFactory


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

    def redeem(attempt: int) -> str:
        try:
            with tenant_context(race_tenant):
                points_redeem(
                    resident_id=resident.pk,
                    amount=10,
                    to_account_id=shop.pk,
                    idempotency_key=f"race-{attempt}",
                )
            return "ok"
        except InsufficientPoints:
            return "insufficient"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = Counter(pool.map(redeem, range(200)))

    assert outcomes == {"ok": 50, "insufficient": 150}
    with tenant_context(race_tenant):
        assert Account.objects.get(pk=account.pk).balance == 0
        assert Account.objects.get(pk=shop.pk).balance == 500
        assert Transaction.objects.filter(kind="redeem").count() == 50
        assert Posting.objects.filter(transaction__kind="redeem").count() == 100
        assert ledger_verify() == []
