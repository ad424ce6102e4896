"""The registry's one door into billing: every step of a tenant's life calls its hook
here, inside the registry's own transaction, and nothing else of billing.

The dependency runs one way. Billing reads the registry and changes tenants through the
registry's services; the registry knows billing only by these functions. With billing off
(self-hosted, no ``STRIPE_SECRET_KEY``) every hook does nothing.
"""

from __future__ import annotations

from linli.billing.client import billing_enabled
from linli.registry.models import Tenant

# How a closure stops the subscription.
CANCEL_AT_PERIOD_END = "period_end"
CANCEL_NOW = "now"
CANCEL_CHOICES = (CANCEL_AT_PERIOD_END, CANCEL_NOW)


def tenant_opened(*, tenant: Tenant) -> None:
    """A new tenant: its trial starts now; Stripe is reached by a job after commit."""
    if billing_enabled():
        from linli.billing.services import account_open

        account_open(tenant=tenant)


def modules_changed(*, tenant: Tenant) -> None:
    """A module was turned on or off (or a version restored): reprice after commit."""
    if billing_enabled():
        from linli.billing.services import modules_changed as reprice

        reprice(tenant=tenant)


def tenant_closed(*, tenant: Tenant, cancel: str = CANCEL_AT_PERIOD_END) -> None:
    """The tenant stopped serving: its subscription stops billing, at the end of the period
    or now, in a job deferred in this transaction (it is re-checked when it runs, so a
    tenant resumed meanwhile keeps its subscription)."""
    if billing_enabled():
        from linli.billing.lifecycle import account_close

        account_close(tenant=tenant, cancel=cancel)


def tenant_deleting(*, tenant: Tenant) -> None:
    """The tenant's schema and registry rows are about to go: its billing record is kept,
    detached, and its subscription is cancelled now (in a job deferred in this
    transaction). The record is kept even with billing off."""
    from linli.billing.lifecycle import account_detach

    account_detach(tenant=tenant)


def tenant_resuming(*, tenant: Tenant, trial_days: int | None = None) -> str | None:
    """The tenant is about to serve again: its billing resumes too (a cancellation still
    pending is withdrawn; an ended subscription is replaced, billed from now or after a
    trial of ``trial_days``), or the resume is refused (``Conflict``) when it would run
    free. Returns the status the tenant should take, None for the registry's default."""
    if not billing_enabled():
        return None
    from linli.billing.lifecycle import account_reopen

    return account_reopen(tenant=tenant, trial_days=trial_days)
