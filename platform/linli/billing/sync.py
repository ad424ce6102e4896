"""``linli billing sync``: make Stripe's products and plans match the price catalogue.

Idempotent: each product and plan has an id derived from the catalogue, so a run
looks each one up and creates only what is missing. A plan whose amount changed
gets a new id (Stripe plans cannot change amount); the old one is left for the
subscriptions that still use it until they are moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import stripe

from linli.billing.client import stripe_client
from linli.billing.plans import Catalogue, Price, catalogue


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _exists(fetch: object, object_id: str) -> bool:
    try:
        fetch(object_id)  # type: ignore[operator]
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return False
        raise
    return True


def catalogue_sync(prices: Catalogue | None = None) -> SyncReport:
    prices = prices or catalogue()
    client = stripe_client().v1
    report = SyncReport()
    for price in prices.every_price():
        _product(client, prices, price, report)
        _plan(client, prices, price, report)
    return report


def _product(client: Any, prices: Catalogue, price: Price, report: SyncReport) -> None:
    product_id = price.product_id(prices)
    if _exists(client.products.retrieve, product_id):
        report.unchanged.append(product_id)
        return
    client.products.create(
        params={"id": product_id, "name": price.name, "metadata": {"linli_key": price.key}},
        options={"idempotency_key": f"linli-product-{product_id}"},
    )
    report.created.append(product_id)


def _plan(client: Any, prices: Catalogue, price: Price, report: SyncReport) -> None:
    plan_id = price.plan_id(prices)
    if _exists(client.plans.retrieve, plan_id):
        report.unchanged.append(plan_id)
        return
    metered = price is prices.per_resident
    client.plans.create(
        params={
            "id": plan_id,
            "product": price.product_id(prices),
            "amount": price.amount,
            "currency": prices.currency,
            "interval": prices.interval,
            "usage_type": "metered" if metered else "licensed",
            "metadata": {"linli_key": price.key},
        },
        options={"idempotency_key": f"linli-plan-{plan_id}"},
    )
    report.created.append(plan_id)
