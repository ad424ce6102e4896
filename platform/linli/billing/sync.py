"""``linli billing sync``: make Stripe's products and plans match the price catalogue.

Idempotent: each product and plan has an id derived from the catalogue, so a run
looks each one up and creates only what is missing. A plan whose amount changed
gets a new id (Stripe plans cannot change amount); the old one is left for the
subscriptions that still use it until they are moved. With a metered price, the
Billing Meter its usage is reported to comes first (found by its event name, created
if missing), and the metered plan is billed from it.
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
    meter = _meter(client, prices, report) if prices.per_resident is not None else None
    for price in prices.every_price():
        _product(client, prices, price, report)
        _plan(client, prices, price, report, meter=meter)
    return report


def _meter(client: Any, prices: Catalogue, report: SyncReport) -> str:
    """The id of the active meter for the catalogue's usage events, created if missing."""
    meters = client.billing.meters.list(params={"status": "active", "limit": 100})
    for meter in meters.auto_paging_iter():
        if meter.event_name == prices.meter_event:
            report.unchanged.append(f"meter {prices.meter_event}")
            return str(meter.id)
    created = client.billing.meters.create(
        params={
            "display_name": "Linli active residents",
            "event_name": prices.meter_event,
            "default_aggregation": {"formula": "sum"},
            "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
            "value_settings": {"event_payload_key": "value"},
        },
        options={"idempotency_key": f"linli-meter-{prices.meter_event}"},
    )
    report.created.append(f"meter {prices.meter_event}")
    return str(created.id)


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


def _plan(
    client: Any, prices: Catalogue, price: Price, report: SyncReport, *, meter: str | None
) -> None:
    plan_id = price.plan_id(prices)
    if _exists(client.plans.retrieve, plan_id):
        report.unchanged.append(plan_id)
        return
    params: dict[str, Any] = {
        "id": plan_id,
        "product": price.product_id(prices),
        "amount": price.amount,
        "currency": prices.currency,
        "interval": prices.interval,
        "usage_type": "licensed",
        "metadata": {"linli_key": price.key},
    }
    if price is prices.per_resident:
        params |= {"usage_type": "metered", "meter": meter}
    client.plans.create(params=params, options={"idempotency_key": f"linli-plan-{plan_id}"})
    report.created.append(plan_id)
