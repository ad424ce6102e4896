"""Billing's side of a tenant's life: closing, deleting and purging stop its
subscription; the billing record outlives the tenant.

Writes (services), called through ``linli.billing.hooks`` from the registry's own
transactions. Stripe is not called there: the cancellation is a job deferred in that
transaction (procrastinate defers through Django's connection), so it exists exactly when
the closure or deletion commits, and is retried until Stripe has it. The job re-checks the
tenant under its lock, so a tenant resumed meanwhile keeps its subscription.
"""

from __future__ import annotations

import logging

import stripe
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing.client import billing_enabled, stripe_client
from linli.billing.models import BillingAccount
from linli.errors import ValidationFailed
from linli.registry.models import Tenant

logger = logging.getLogger(__name__)

Status = BillingAccount.Status
ENDED = frozenset({Status.CANCELED, Status.INCOMPLETE_EXPIRED})


def _live(account: BillingAccount) -> bool:
    """Whether the account has a subscription in Stripe that has not ended."""
    return bool(account.subscription_id) and account.status not in ENDED


def _cancel_later(account: BillingAccount, *, at_period_end: bool) -> None:
    from linli.billing.tasks import billing_subscription_cancel

    billing_subscription_cancel.defer(account_id=account.pk, at_period_end=at_period_end)


def account_close(*, tenant: Tenant, cancel: str) -> BillingAccount | None:
    """The tenant is closed: stop its subscription at the end of the period or now."""
    from linli.billing.hooks import CANCEL_CHOICES, CANCEL_NOW

    if cancel not in CANCEL_CHOICES:
        raise ValidationFailed(
            _("Cancel the subscription at the period's end or now."),
            code="billing_cancel_invalid",
            field="billing_cancel",
        )
    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account is not None and _live(account):
        _cancel_later(account, at_period_end=cancel != CANCEL_NOW)
    return account


def account_detach(*, tenant: Tenant) -> BillingAccount | None:
    """The tenant is being deleted: keep its billing record without it, and cancel its
    subscription now."""
    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account is None:
        return None
    account.tenant_slug = tenant.schema_name
    account.tenant_gone_at = timezone.now()
    account.tenant = None
    account.save(update_fields=["tenant", "tenant_slug", "tenant_gone_at", "updated_at"])
    if billing_enabled() and _live(account):
        _cancel_later(account, at_period_end=False)
    logger.info("Billing account %s of %s detached", account.pk, account.tenant_slug)
    return account


def subscription_cancel(*, account_id: int, at_period_end: bool) -> BillingAccount | None:
    """The job: tell Stripe, unless the tenant serves again (resumed since the closure).

    A deleted tenant's subscription is always cancelled now. The account is locked, then
    its tenant (the order the event processing uses)."""
    from django.db import transaction

    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().filter(pk=account_id).first()
        if account is None or not _live(account):
            return account
        tenant = None
        if account.tenant_id is not None:
            tenant = Tenant.objects.select_for_update().get(pk=account.tenant_id)
            if tenant.status != Tenant.Status.CLOSED:
                logger.info("Not cancelling %s: the tenant serves again", account.tenant_slug)
                return account
        subscriptions = stripe_client().v1.subscriptions
        try:
            if at_period_end and tenant is not None:
                subscription = subscriptions.update(
                    account.subscription_id, params={"cancel_at_period_end": True}
                )
            else:
                subscription = subscriptions.cancel(account.subscription_id)
        except stripe.InvalidRequestError as exc:
            if exc.code != "resource_missing":
                raise
            account.status = Status.CANCELED  # Stripe has no such subscription (any more)
        else:
            account.status = subscription.status
            account.cancel_at_period_end = bool(subscription.cancel_at_period_end)
        account.save(update_fields=["status", "cancel_at_period_end", "updated_at"])
        logger.info(
            "Subscription %s of %s: %s",
            account.subscription_id,
            account.tenant_slug or account.tenant_id,
            "cancels at the period's end" if account.cancel_at_period_end else account.status,
        )
        return account
