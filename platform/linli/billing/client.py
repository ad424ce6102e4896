"""The one door to Stripe. Billing is on only when a secret key is configured
(``STRIPE_SECRET_KEY``); ``STRIPE_API_BASE`` points the client at a stand-in server.

Every call is bounded: Stripe gets ``CONNECT_TIMEOUT`` seconds to accept the connection
and then, for a page an admin is waiting on, ``PAGE_READ_TIMEOUT`` seconds to answer,
with no retry (the page says Stripe is not answering); a job waits ``JOB_READ_TIMEOUT``
seconds and the library retries twice before the job itself is retried. Settings of the
same names prefixed ``LINLI_STRIPE_`` (``LINLI_STRIPE_CONNECT_TIMEOUT``,
``LINLI_STRIPE_PAGE_TIMEOUT``, ``LINLI_STRIPE_READ_TIMEOUT``) override them.
"""

from __future__ import annotations

import stripe
from django.conf import settings
from django.utils.translation import gettext_lazy as _

CONNECT_TIMEOUT = 3.0
PAGE_READ_TIMEOUT = 5.0
JOB_READ_TIMEOUT = 30.0

STRIPE_DOWN = _("Stripe is not answering; try again in a minute.")


def billing_enabled() -> bool:
    """Self-hosted installations set no key: every module is available, nothing is billed."""
    return bool(settings.STRIPE_SECRET_KEY)


def _seconds(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def stripe_client(*, interactive: bool = False) -> stripe.StripeClient:
    """A client for a job (patient, retried), or with ``interactive`` for a page (quick)."""
    connect = _seconds("LINLI_STRIPE_CONNECT_TIMEOUT", CONNECT_TIMEOUT)
    if interactive:
        read = _seconds("LINLI_STRIPE_PAGE_TIMEOUT", PAGE_READ_TIMEOUT)
    else:
        read = _seconds("LINLI_STRIPE_READ_TIMEOUT", JOB_READ_TIMEOUT)
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": base, "meter_events": base} if base else {},
        max_network_retries=0 if interactive else 2,
        http_client=stripe.RequestsClient(timeout=(connect, read)),
    )
