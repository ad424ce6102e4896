"""The one door to Stripe. Billing is on only when a secret key is configured
(``STRIPE_SECRET_KEY``); ``STRIPE_API_BASE`` points the client at a stand-in server."""

from __future__ import annotations

import stripe
from django.conf import settings


def billing_enabled() -> bool:
    """Self-hosted installations set no key: every module is available, nothing is billed."""
    return bool(settings.STRIPE_SECRET_KEY)


def stripe_client() -> stripe.StripeClient:
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": base} if base else {},
        max_network_retries=2,
        http_client=_http_client(),
    )


def _http_client() -> stripe.HTTPClient | None:
    """Tests replace this with a recorded-response client for calls the stand-in lacks."""
    return None
