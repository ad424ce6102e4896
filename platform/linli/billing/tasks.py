"""Billing jobs: all run in the public schema and reach Stripe (or process its events)."""

from __future__ import annotations

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task

# --- Accounts, items and usage (Stripe calls happen here, never in a web request) ---


@platform_task(queue="platform", retry=RetryStrategy(max_attempts=8, exponential_wait=5))
def billing_account_connect(*, tenant_id: int) -> str:
    """Create the new tenant's Stripe customer and trial subscription."""
    from linli.billing.services import account_connect

    account = account_connect(tenant_id=tenant_id)
    return account.subscription_id if account is not None else ""


@platform_task(queue="platform", retry=RetryStrategy(max_attempts=8, exponential_wait=5))
def billing_items_sync(*, tenant_id: int) -> int:
    """Reprice the subscription after a module was turned on or off (prorated)."""
    from linli.billing.services import items_sync

    account = items_sync(tenant_id=tenant_id)
    return len(account.items) if account is not None else 0


@platform_task(queue="platform", retry=RetryStrategy(max_attempts=12, exponential_wait=5))
def billing_subscription_cancel(*, account_id: int, at_period_end: bool) -> str:
    """Stop a closed or deleted tenant's subscription in Stripe (re-checked when it runs)."""
    from linli.billing.lifecycle import subscription_cancel

    account = subscription_cancel(account_id=account_id, at_period_end=at_period_end)
    return account.status if account is not None else ""


@platform_task(queue="platform", retry=RetryStrategy(max_attempts=8, exponential_wait=5))
def billing_payment_method_adopt(*, account_id: int, setup_intent_id: str) -> bool:
    """Make a card added in Checkout the default, and pay what is overdue with it."""
    from linli.billing.services import payment_method_adopt

    account = payment_method_adopt(account_id=account_id, setup_intent_id=setup_intent_id)
    return bool(account and account.has_payment_method)


@app.periodic(cron="20 0 1 * *", periodic_id="billing_usage_report")
@platform_task(queue="platform", retry=RetryStrategy(max_attempts=8, exponential_wait=60))
def billing_usage_report_everywhere(*, timestamp: int | None = None) -> int:
    """Monthly: report last month's active residents of every billed tenant, once each."""
    from linli.billing.services import usage_report_due

    return usage_report_due()


# --- Stripe's events and the grace period ---

# A failing event is retried with backoff: 4 s, 16 s, ... about 18 h for the eighth try,
# a day in all, before the job is left failed (the event keeps its last error).
EVENT_RETRY = RetryStrategy(max_attempts=8, exponential_wait=4)


@platform_task(queue="platform", retry=EVENT_RETRY)
def billing_event_process(*, event_id: str) -> str:
    """Apply one stored Stripe event to the billing state (once, whatever the retries)."""
    from linli.billing.events import event_process

    return event_process(event_id=event_id).last_error


@app.periodic(cron="*/10 * * * *", periodic_id="billing_grace_enforce")
@platform_task(queue="platform")
def billing_grace_enforce(*, timestamp: int | None = None) -> list[str]:
    """Every 10 minutes: suspend tenants still past due once their grace period has ended
    (with billing off, self-hosted, nothing is ever suspended for billing)."""
    from linli.billing.client import billing_enabled
    from linli.billing.events import billing_grace_enforce as enforce

    return enforce() if billing_enabled() else []


@app.periodic(cron="35 * * * *", periodic_id="billing_reconcile")
@platform_task(queue="platform")
def billing_reconcile(*, timestamp: int | None = None) -> int:
    """Hourly: queue again the connects and item syncs that ran out of retries."""
    from linli.billing.services import accounts_reconcile

    return accounts_reconcile()
