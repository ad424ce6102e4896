"""What Linli charges: a base subscription, a price per enabled module, and optionally a
metered price per active resident. Amounts are integers in the smallest currency unit.

The catalogue is configuration: the defaults below, or a JSON file named by
``LINLI_BILLING_PLANS_FILE`` with the same shape. ``linli billing sync`` makes Stripe's
products and plans match it; a plan's Stripe id is derived from its key, amount,
currency and interval, so a price change makes a new plan (Stripe plans cannot
change their amount) and running the sync twice changes nothing.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from django.conf import settings
from pydantic import BaseModel, Field, field_validator


class Price(BaseModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,30}$")
    name: str
    amount: int = Field(ge=0)  # per month, smallest unit

    def product_id(self, catalogue: Catalogue) -> str:
        return f"linli_{self.key}"

    def plan_id(self, catalogue: Catalogue) -> str:
        return f"linli_{self.key}_{self.amount}_{catalogue.currency}_{catalogue.interval}"


class Catalogue(BaseModel):
    currency: str = "cny"
    interval: str = "month"
    base: Price = Price(key="base", name="Linli platform", amount=19900)
    modules: dict[str, Price] = {
        "deliberation": Price(key="deliberation", name="Linli deliberation", amount=4900),
        "helpteam": Price(key="helpteam", name="Linli help team", amount=4900),
        "shop": Price(key="shop", name="Linli shop", amount=9900),
        "points": Price(key="points", name="Linli points", amount=2900),
    }
    # Per active resident per month; None leaves the metered price off. Billed from the
    # events of a Stripe Billing Meter (``meter_event`` names them; ``linli billing sync``
    # creates the meter), one per tenant and month, summed over the billing period.
    per_resident: Price | None = None
    meter_event: str = Field(default="linli_active_residents", pattern=r"^[a-z][a-z0-9_]{1,99}$")

    @field_validator("currency")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    def priced(self, modules: frozenset[str] | set[str]) -> dict[str, Price]:
        """The licensed prices a tenant running ``modules`` pays: base plus each module's."""
        prices = {"base": self.base}
        prices |= {m: price for m, price in sorted(self.modules.items()) if m in modules}
        return prices

    def monthly_amount(self, modules: frozenset[str] | set[str]) -> int:
        return sum(price.amount for price in self.priced(modules).values())

    def every_price(self) -> list[Price]:
        prices = [self.base, *self.modules.values()]
        if self.per_resident is not None:
            prices.append(self.per_resident)
        return prices


@cache
def catalogue() -> Catalogue:
    path = getattr(settings, "LINLI_BILLING_PLANS_FILE", "")
    if path:
        return Catalogue.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    return Catalogue()
