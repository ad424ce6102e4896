"""A smoke test against Stripe itself, in test mode. It runs only when a real test-mode key
is given (``LINLI_STRIPE_TEST_KEY=sk_test_...``); CI has no network and skips it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from linli.billing import plans
from linli.billing.client import stripe_client
from linli.billing.sync import catalogue_sync

KEY = os.environ.get("LINLI_STRIPE_TEST_KEY", "")

pytestmark = pytest.mark.skipif(
    not KEY.startswith("sk_test_"), reason="set LINLI_STRIPE_TEST_KEY to a Stripe test-mode key"
)


def test_catalogue_and_a_customer_round_trip_in_stripe_test_mode(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = KEY
    settings.STRIPE_API_BASE = ""
    plans.catalogue.cache_clear()
    catalogue_sync()
    again = catalogue_sync()
    assert again.created == []
    client = stripe_client().v1
    customer = client.customers.create(params={"name": "Linli smoke test"})
    try:
        assert client.customers.retrieve(customer.id).name == "Linli smoke test"
    finally:
        client.customers.delete(customer.id)
