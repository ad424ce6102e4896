"""Billing's side of a tenant's life: closing, deleting and purging stop its
subscription; resuming bills it again (or is refused); the billing record outlives the
tenant.

Writes (services), called through ``linli.billing.hooks`` from the registry's own
transactions. Stripe is not called there: the cancellation is a job deferred in that
transaction (procrastinate defers through Django's connection), so it exists exactly when
the closure or deletion commits, and is retried until Stripe has it. The job re-checks the
tenant under its lock, so a tenant resumed meanwhile keeps its subscription.

Resuming is the exception: it calls Stripe at once, inside the registry's transaction (an
operator's command, bounded by the client's timeouts), because a resume that would run a
tenant free must be refused there and then, with the reason.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import stripe
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.billing import emails
from linli.billing.client import billing_enabled, stripe_client
from linli.billing.models import BillingAccount
from linli.errors import Conflict, ValidationFailed
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


def _connect_later(tenant: Tenant) -> None:
    from procrastinate.exceptions import AlreadyEnqueued

    from linli.billing.tasks import billing_account_connect

    try:
        with transaction.atomic():  # a refused insert must not abort the caller's
            billing_account_connect.configure(queueing_lock=f"billing-connect-{tenant.pk}").defer(
                tenant_id=tenant.pk
            )
    except AlreadyEnqueued:
        pass


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
    if account is None:
        return None
    at_period_end = cancel != CANCEL_NOW
    ends_at = None
    if _live(account):
        _cancel_later(account, at_period_end=at_period_end)
        if at_period_end:
            ends_at = account.trial_end if account.status == Status.TRIALING else None
            ends_at = ends_at or account.current_period_end
    emails.billing_email_send(
        tenant=tenant,
        kind=emails.CLOSED,
        context={
            "ended": account.status in ENDED,
            "ends_at": ends_at,
            "purge_after": tenant.purge_after,
        },
    )
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


# --- Resuming -------------------------------------------------------------------------------

NO_PAYMENT_METHOD = gettext_noop(
    "The subscription of %(slug)s has ended and no payment method is on file, so resuming "
    "it would run it free. Resume it with a trial (linli tenants resume %(slug)s "
    "--trial-days N), or once the district has a payment method on file."
)
PAYMENT_DECLINED = gettext_noop(
    "The subscription of %(slug)s could not start again: Stripe declined its payment "
    "method (%(reason)s). Nothing was resumed."
)

STRIPE_UNREACHABLE = gettext_noop(
    "Stripe is not answering, so %(slug)s was not resumed; try again in a minute."
)

# The tenant status that follows each billing status (as the events apply it).
TENANT_STATUS: dict[str, str] = {
    Status.TRIALING: Tenant.Status.TRIAL,
    Status.ACTIVE: Tenant.Status.ACTIVE,
    Status.PAST_DUE: Tenant.Status.PAST_DUE,
    Status.UNPAID: Tenant.Status.PAST_DUE,
    Status.PAUSED: Tenant.Status.PAST_DUE,
}


def account_reopen(*, tenant: Tenant, trial_days: int | None = None) -> str | None:
    """See ``_account_reopen``; Stripe out of reach refuses the resume, with the reason."""
    from linli.billing.services import BillingUnavailable

    try:
        return _account_reopen(tenant=tenant, trial_days=trial_days)
    except stripe.StripeError as exc:
        raise BillingUnavailable(_(STRIPE_UNREACHABLE) % {"slug": tenant.slug}) from exc


def _account_reopen(*, tenant: Tenant, trial_days: int | None = None) -> str | None:
    """The tenant is about to serve again: make sure it is billed. Returns the status the
    tenant takes (None: the registry's default), or refuses with a ``Conflict``.

    - A subscription still running (a closure at the period's end) keeps running: its
      cancellation is withdrawn.
    - An ended one is replaced by a new subscription of the tenant's modules, billed from
      now with the payment method on file, or with a trial of ``trial_days``; without
      either the resume is refused. A declined payment refuses it too.
    - An account not yet in Stripe is left to its connect job.
    """
    account = BillingAccount.objects.select_for_update(of=("self",)).filter(tenant=tenant).first()
    if account is None:
        from linli.billing.services import account_open

        account_open(tenant=tenant)
        return Tenant.Status.TRIAL
    if not account.customer_id or not account.subscription_id:
        # Not yet in Stripe: its connect job may have run while the tenant was closed and
        # stopped there, so it is queued again (at most once in the queue).
        _connect_later(tenant)
        trial = account.trial_end is not None and account.trial_end > timezone.now()
        return Tenant.Status.TRIAL if trial else None
    if _live(account):
        if account.cancel_at_period_end:
            subscription = stripe_client().v1.subscriptions.update(
                account.subscription_id, params={"cancel_at_period_end": False}
            )
            account.cancel_at_period_end = bool(subscription.cancel_at_period_end)
            account.save(update_fields=["cancel_at_period_end", "updated_at"])
        return TENANT_STATUS.get(account.status)
    _subscribe_again(account, tenant, trial_days=trial_days)
    emails.billing_email_send(
        tenant=tenant,
        kind=emails.REOPENED,
        context={"trial_end": account.trial_end if account.status == Status.TRIALING else None},
    )
    return TENANT_STATUS.get(account.status)


def _subscribe_again(account: BillingAccount, tenant: Tenant, *, trial_days: int | None) -> None:
    from linli.billing.services import live_subscription, subscription_create, subscription_mirror

    client = stripe_client()
    customer = client.v1.customers.retrieve(account.customer_id).to_dict()
    settings = customer.get("invoice_settings") or {}
    has_payment_method = bool(settings.get("default_payment_method"))
    subscription = live_subscription(client, account, tenant)  # a lost answer, adopted
    if subscription is None:
        if not trial_days and not has_payment_method:
            raise Conflict(
                _(NO_PAYMENT_METHOD) % {"slug": tenant.slug}, code="billing_payment_method_missing"
            )
        trial_end = timezone.now() + timedelta(days=trial_days) if trial_days else None
        try:
            subscription = subscription_create(
                client,
                account,
                tenant,
                trial_end=trial_end,
                key=f"linli-resubscribe-{account.subscription_id}",
                payment_behavior="error_if_incomplete",
            )
        except stripe.CardError as exc:
            raise Conflict(
                _(PAYMENT_DECLINED) % {"slug": tenant.slug, "reason": exc.user_message or ""},
                code="billing_payment_declined",
            ) from exc
    subscription_mirror(account, subscription)
    account.has_payment_method = has_payment_method
    account.grace_until = None
    account.suspended_for_billing = False
    account.save()
    logger.info("Subscription %s of %s started again", account.subscription_id, tenant.slug)
