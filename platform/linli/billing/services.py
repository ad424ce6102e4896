"""Billing writes that reach Stripe: open a tenant's account (trial without a card), keep
its subscription items in step with its modules (prorated), hand out Checkout and
Billing Portal links, and report metered usage once per period.

Stripe is called from jobs, never inside a web request's transaction, except for
the two links an admin asks for. Every create carries an idempotency key derived
from what it creates, so a retried job never creates twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing.client import STRIPE_DOWN, billing_enabled, stripe_client
from linli.billing.models import BillingAccount, UsageReport
from linli.billing.plans import catalogue
from linli.errors import Conflict, LinliError
from linli.registry.models import Tenant

logger = logging.getLogger(__name__)


class BillingUnavailable(LinliError):
    status = 503
    code = "billing_unavailable"


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _from_ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _metadata(obj: Any) -> dict[str, Any]:
    metadata = obj.get("metadata") if isinstance(obj, dict) else getattr(obj, "metadata", None)
    if metadata is None:
        return {}
    return dict(metadata) if isinstance(metadata, dict) else metadata.to_dict()


def _plain(obj: Any) -> dict[str, Any]:
    """A Stripe object as plain dictionaries, all the way down."""
    return obj if isinstance(obj, dict) else obj.to_dict()


# --- Opening an account ------------------------------------------------------------


def account_open(*, tenant: Tenant) -> BillingAccount | None:
    """Start the tenant's trial, inside the provisioning transaction; Stripe comes after.

    With billing off (self-hosted) nothing is created and every module stays free.
    """
    if not billing_enabled():
        return None
    prices = catalogue()
    account = BillingAccount.objects.create(
        tenant=tenant,
        tenant_slug=tenant.schema_name,
        status=BillingAccount.Status.PENDING,
        trial_end=timezone.now() + timedelta(days=settings.LINLI_BILLING_TRIAL_DAYS),
        monthly_amount=prices.monthly_amount(tenant.enabled_modules),
        currency=prices.currency,
    )
    from linli.billing.tasks import billing_account_connect

    transaction.on_commit(lambda: billing_account_connect.defer(tenant_id=tenant.pk))
    return account


def _account_locked(tenant_id: int) -> BillingAccount | None:
    """The tenant's account, locked, if there is something to do in Stripe for it: not for
    a tenant closed (or deleted) before the job ran."""
    account = (
        BillingAccount.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .filter(tenant_id=tenant_id)
        .first()
    )
    if account is None or account.tenant is None:
        return None
    if account.tenant.status == Tenant.Status.CLOSED:
        return None
    return account


def _digest(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def account_connect(*, tenant_id: int) -> BillingAccount | None:
    """Create the tenant's Stripe customer and its trial subscription (no card needed).

    Two steps, each committed on its own. The customer id is stored as soon as Stripe
    returns it, so a retry reuses it however late it comes (Stripe forgets idempotency
    keys after 24 hours). Before a subscription is created, the customer's subscriptions
    are listed and a live one made for this tenant is adopted: one whose answer was lost
    is never created twice. Returns None when there is nothing to connect.
    """
    if _customer_ensure(tenant_id=tenant_id) is None:
        return BillingAccount.objects.filter(tenant_id=tenant_id).first()
    account, adopted = _subscription_ensure(tenant_id=tenant_id)
    if adopted:
        return items_sync(tenant_id=tenant_id)  # it may predate a module change
    return account


@transaction.atomic
def _customer_ensure(*, tenant_id: int) -> BillingAccount | None:
    account = _account_locked(tenant_id)
    if account is None or account.customer_id:
        return account
    tenant = account.tenant
    assert tenant is not None
    customer = stripe_client().v1.customers.create(
        params={"name": tenant.name, "metadata": tenant_metadata(tenant)},
        options={"idempotency_key": f"linli-customer-{tenant.pk}"},
    )
    account.customer_id = customer.id
    account.save(update_fields=["customer_id", "updated_at"])
    return account


def tenant_metadata(tenant: Tenant) -> dict[str, str]:
    return {"tenant": tenant.slug, "linli_tenant_id": str(tenant.pk)}


def _made_for(subscription: Any, tenant: Tenant) -> bool:
    metadata = _metadata(subscription)
    if "linli_tenant_id" in metadata:
        return bool(metadata["linli_tenant_id"] == str(tenant.pk))
    return bool(metadata.get("tenant") == tenant.slug)


def live_subscription(client: Any, account: BillingAccount, tenant: Tenant) -> Any:
    """The newest subscription of the account's customer made for this tenant that has
    not ended, if Stripe has one."""
    found = client.v1.subscriptions.list(
        params={"customer": account.customer_id, "status": "all", "limit": 20}
    )
    live = [
        sub
        for sub in (_plain(sub) for sub in found.data)
        if sub["status"] not in ("canceled", "incomplete_expired") and _made_for(sub, tenant)
    ]
    return max(live, key=lambda sub: sub["created"]) if live else None


@transaction.atomic
def _subscription_ensure(*, tenant_id: int) -> tuple[BillingAccount | None, bool]:
    account = _account_locked(tenant_id)
    if account is None or not account.customer_id or account.subscription_id:
        return account, False
    tenant = account.tenant
    assert tenant is not None
    client = stripe_client()
    subscription = live_subscription(client, account, tenant)
    adopted = subscription is not None
    if subscription is None:
        trial_end = account.trial_end
        if trial_end is not None and trial_end <= timezone.now() + timedelta(minutes=5):
            trial_end = None  # the trial is over: bill from now
        subscription = subscription_create(
            client, account, tenant, trial_end=trial_end, key="linli-subscription"
        )
    subscription_mirror(account, subscription)
    account.save()
    return account, adopted


def subscription_create(
    client: Any,
    account: BillingAccount,
    tenant: Tenant,
    *,
    trial_end: datetime | None,
    key: str,
    **extra: Any,
) -> Any:
    """A subscription of the tenant's items; the idempotency key carries a digest of the
    parameters, so a retry with other modules or another trial is a new request."""
    prices = catalogue()
    params: dict[str, Any] = {
        "customer": account.customer_id,
        "items": [
            {"plan": price.plan_id(prices), "metadata": {"module": module}}
            for module, price in wanted_prices(tenant).items()
        ],
        "metadata": tenant_metadata(tenant),
        **extra,
    }
    if trial_end is not None:
        params["trial_end"] = _ts(trial_end)
    return client.v1.subscriptions.create(
        params=params, options={"idempotency_key": f"{key}-{tenant.pk}-{_digest(params)}"}
    )


def subscription_mirror(account: BillingAccount, subscription: Any) -> None:
    """Take a subscription's state as Stripe returned it (not saved)."""
    sub = _plain(subscription)
    items = sub["items"]["data"]
    account.subscription_id = sub["id"]
    account.items = {item_module(item): item["id"] for item in items}
    account.status = sub["status"]
    account.trial_end = _from_ts(sub.get("trial_end"))
    ends = [item.get("current_period_end") for item in items if item.get("current_period_end")]
    account.current_period_end = _from_ts(max(ends)) if ends else None
    account.cancel_at_period_end = bool(sub.get("cancel_at_period_end"))
    account.monthly_amount = _items_amount(items)
    account.state_at = _from_ts(sub["created"])


def _items_amount(items: list[dict[str, Any]]) -> int:
    """What the subscription's licensed items cost a month (a metered item adds usage)."""
    total = 0
    for item in items:
        plan = item.get("plan") or {}
        if plan.get("usage_type") != "metered":
            total += int(plan.get("amount") or 0) * int(item.get("quantity") or 1)
    return total


# --- Modules and subscription items --------------------------------------------------


RESIDENTS = "residents"  # the metered item's key


def item_module(item: dict[str, Any]) -> str:
    """Which of Linli's prices a subscription item is: its ``module`` metadata, else the
    catalogue key in its product's id (``linli_<key>``)."""
    module = _metadata(item).get("module")
    if module:
        return str(module)
    product = str((item.get("plan") or item.get("price") or {}).get("product") or "")
    return product.removeprefix("linli_") if product.startswith("linli_") else product


def wanted_prices(tenant: Tenant) -> dict[str, Any]:
    """The prices the tenant's subscription should carry, by key: the base, each enabled
    module's, and the metered price per active resident when the catalogue has one."""
    prices = catalogue()
    wanted = dict(prices.priced(tenant.enabled_modules))
    if prices.per_resident is not None:
        wanted[RESIDENTS] = prices.per_resident
    return wanted


def items_sync(*, tenant_id: int) -> BillingAccount | None:
    """Make the subscription's items match the tenant's modules (``_items_sync``); a
    failure is recorded on the account, in its own transaction, and raised again so the
    job is retried. Success clears it."""
    try:
        account = _items_sync(tenant_id=tenant_id)
    except Exception as exc:
        BillingAccount.objects.filter(tenant_id=tenant_id).update(
            sync_error=f"{type(exc).__name__}: {exc}"[:2000], sync_failed_at=timezone.now()
        )
        raise
    if account is not None and account.sync_error:
        BillingAccount.objects.filter(pk=account.pk).update(sync_error="", sync_failed_at=None)
        account.sync_error, account.sync_failed_at = "", None
    return account


def _items_sync(*, tenant_id: int) -> BillingAccount | None:
    """Make the subscription's items match the tenant's modules, prorating the change.

    Stripe's subscription is the truth, not Linli's copy: it is read first, the missing
    items are added and the extra module items removed, and the copy is rewritten from
    what Stripe then holds. An item keeps its plan when a price changed (old
    subscriptions keep theirs)."""
    from linli.registry.models import ModuleSettingVersion

    with transaction.atomic():
        account = _account_locked(tenant_id)
        if account is None or not account.subscription_id:
            # not in Stripe yet (account_connect will price the modules), or closed
            return BillingAccount.objects.filter(tenant_id=tenant_id).first()
        if account.status in (BillingAccount.Status.CANCELED, "incomplete_expired"):
            return account
        tenant = Tenant.objects.get(pk=tenant_id)  # fresh enabled modules
        prices = catalogue()
        wanted = wanted_prices(tenant)
        client = stripe_client()
        subscription = _plain(client.v1.subscriptions.retrieve(account.subscription_id))
        if subscription["status"] in ("canceled", "incomplete_expired"):
            return account  # the deletion event will say so
        present = {item_module(item): item for item in subscription["items"]["data"]}
        changed = False
        for module in sorted(set(wanted) - set(present)):
            version = (
                ModuleSettingVersion.objects.filter(tenant_id=tenant_id, module=module)
                .order_by("-id")
                .values_list("id", flat=True)
                .first()
            )
            client.v1.subscription_items.create(
                params={
                    "subscription": account.subscription_id,
                    "plan": wanted[module].plan_id(prices),
                    "proration_behavior": "create_prorations",
                    "metadata": {"module": module},
                },
                options={"idempotency_key": f"linli-item-{tenant_id}-{module}-{version or 0}"},
            )
            changed = True
        for module in sorted(set(present) - set(wanted)):
            if module not in prices.modules:
                continue  # the base and the metered price are not a module's to remove
            try:
                client.v1.subscription_items.delete(
                    present[module]["id"], params={"proration_behavior": "create_prorations"}
                )
            except stripe.InvalidRequestError as exc:
                if getattr(exc, "code", None) != "resource_missing":
                    raise
            changed = True
        if changed:
            subscription = _plain(client.v1.subscriptions.retrieve(account.subscription_id))
        items = subscription["items"]["data"]
        account.items = {item_module(item): item["id"] for item in items}
        account.monthly_amount = _items_amount(items)
        account.save(update_fields=["items", "monthly_amount", "updated_at"])
    return account


def modules_changed(*, tenant: Tenant) -> None:
    """Called by the registry when a module is turned on or off: reprice after commit."""
    if not billing_enabled():
        return
    from linli.billing.tasks import billing_items_sync

    transaction.on_commit(lambda: billing_items_sync.defer(tenant_id=tenant.pk))


# --- What a job gave up on --------------------------------------------------------------

RECONCILE_AFTER = timedelta(hours=1)


def accounts_reconcile(*, now: datetime | None = None) -> int:
    """Queue again what the jobs gave up on (Stripe was out longer than their retries):
    the connect of a serving tenant's account that never reached Stripe, and the item
    sync of one whose last sync failed. Each at most once in the queue; returns how many
    were queued."""
    from procrastinate.exceptions import AlreadyEnqueued

    from linli.billing.tasks import billing_account_connect, billing_items_sync

    if not billing_enabled():
        return 0
    now = now or timezone.now()
    serving = BillingAccount.objects.filter(tenant__status__in=SERVING)
    unconnected = serving.filter(subscription_id="", created_at__lt=now - RECONCILE_AFTER)
    unsynced = serving.exclude(sync_error="").filter(sync_failed_at__lt=now - RECONCILE_AFTER)
    queued = 0
    for task, name, tenant_ids in [
        (billing_account_connect, "connect", unconnected.values_list("tenant_id", flat=True)),
        (billing_items_sync, "items", unsynced.values_list("tenant_id", flat=True)),
    ]:
        for tenant_id in tenant_ids:
            try:
                with transaction.atomic():  # a refused insert must not abort the caller's
                    task.configure(queueing_lock=f"billing-{name}-{tenant_id}").defer(
                        tenant_id=tenant_id
                    )
            except AlreadyEnqueued:
                continue
            queued += 1
    return queued


# --- A payment method added in Checkout -------------------------------------------------


def payment_method_adopt(*, account_id: int, setup_intent_id: str) -> BillingAccount | None:
    """Make the card an admin added in Checkout the customer's default payment method (and
    the subscription's), since Checkout in setup mode leaves it merely attached; then, if
    the account is behind, pay its open invoices with it, so a district suspended for
    non-payment serves again as soon as Stripe says the invoice is paid."""
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().filter(pk=account_id).first()
        if account is None or not account.customer_id:
            return account
        client = stripe_client()
        intent = _plain(client.v1.setup_intents.retrieve(setup_intent_id))
        method = intent.get("payment_method")
        method = method.get("id") if isinstance(method, dict) else method
        if intent.get("status") != "succeeded" or not method:
            return account
        if intent.get("customer") not in (None, account.customer_id):
            logger.warning("Setup intent %s is not %s's", setup_intent_id, account.customer_id)
            return account
        client.v1.customers.update(
            account.customer_id, params={"invoice_settings": {"default_payment_method": method}}
        )
        live = account.subscription_id and account.status not in (
            BillingAccount.Status.CANCELED,
            "incomplete_expired",
        )
        if live:
            client.v1.subscriptions.update(
                account.subscription_id, params={"default_payment_method": method}
            )
        account.has_payment_method = True
        account.save(update_fields=["has_payment_method", "updated_at"])
        behind = account.status in ("past_due", "unpaid", "incomplete", "paused")
    if live and behind:
        _open_invoices_pay(client, account)
    return account


def _open_invoices_pay(client: Any, account: BillingAccount) -> None:
    """Pay the subscription's open invoices, oldest first; a decline is left to the page
    and the events (the account stays past due)."""
    found = client.v1.invoices.list(
        params={
            "customer": account.customer_id,
            "subscription": account.subscription_id,
            "status": "open",
            "limit": 20,
        }
    )
    for invoice in sorted(found.data, key=lambda invoice: invoice.created):
        try:
            client.v1.invoices.pay(invoice.id)
        except stripe.CardError as exc:
            logger.info("Invoice %s declined again: %s", invoice.id, exc.user_message)
            return
        except stripe.InvalidRequestError as exc:
            if exc.code != "invoice_already_paid":
                raise


# --- Links for the district admin ---------------------------------------------------------


def _connected(tenant: Tenant) -> BillingAccount:
    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account is None or not account.customer_id:
        raise Conflict(
            _("Billing for this district is still being set up; try again in a minute."),
            code="billing_not_ready",
        )
    return account


def checkout_url(*, tenant: Tenant, success_url: str, cancel_url: str) -> str:
    """A Stripe Checkout page (setup mode) where the admin adds a payment method."""
    account = _connected(tenant)
    try:
        session = stripe_client(interactive=True).v1.checkout.sessions.create(
            params={
                "mode": "setup",
                "customer": account.customer_id,
                "currency": account.currency,
                "success_url": success_url,
                "cancel_url": cancel_url,
                "metadata": {"tenant": tenant.slug},
                "setup_intent_data": {"metadata": {"tenant": tenant.slug}},
            }
        )
    except stripe.StripeError as exc:
        raise BillingUnavailable(str(STRIPE_DOWN)) from exc
    if not session.url:
        raise BillingUnavailable(str(STRIPE_DOWN))
    return str(session.url)


def portal_url(*, tenant: Tenant, return_url: str) -> str:
    """A Stripe Billing Portal session: payment methods, invoices, cancellation."""
    account = _connected(tenant)
    try:
        session = stripe_client(interactive=True).v1.billing_portal.sessions.create(
            params={"customer": account.customer_id, "return_url": return_url}
        )
    except stripe.StripeError as exc:
        raise BillingUnavailable(str(STRIPE_DOWN)) from exc
    return str(session.url)


# --- Metered usage ---------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def previous_month(day: date) -> date:
    return month_start(month_start(day) - timedelta(days=1))


def active_residents(tenant: Tenant) -> int:
    from django_tenants.utils import tenant_context

    from tenants.community.models import Resident

    with tenant_context(tenant):
        return Resident.objects.filter(
            status=Resident.Status.ACTIVE, erased_at__isnull=True
        ).count()


SERVING = (Tenant.Status.TRIAL, Tenant.Status.ACTIVE, Tenant.Status.PAST_DUE)


def usage_period(tenant: Tenant, period: date) -> tuple[datetime, datetime]:
    """A month as the tenant lives it: from the first midnight to the next, in its zone."""
    from linli.registry.context import tenant_zone

    zone = tenant_zone(tenant)
    start = month_start(period)
    following = (start + timedelta(days=32)).replace(day=1)
    return (
        datetime(start.year, start.month, 1, tzinfo=zone),
        datetime(following.year, following.month, 1, tzinfo=zone),
    )


def usage_report(
    *, tenant_id: int, period: date, now: datetime | None = None
) -> UsageReport | None:
    """Report the tenant's active residents for ``period`` (a month) to Stripe, once.

    Only for a tenant that serves, with a subscription that has not ended, for a month
    that is over and that it existed in. The count is fixed in a row unique per tenant
    and period before Stripe is called; the meter event carries that row's identifier,
    which Stripe de-duplicates, so a retry after a crash between the two reports nothing
    twice. The event is stamped inside the month and inside the tenant's life, so Stripe
    bills it in the subscription period that holds it.
    """
    prices = catalogue()
    if prices.per_resident is None:
        return None
    now = now or timezone.now()
    period = month_start(period)
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    account = BillingAccount.objects.filter(tenant_id=tenant_id).first()
    if tenant is None or account is None or not account.customer_id:
        return None
    if tenant.status not in SERVING or not account.subscription_id:
        return None
    if account.status in (BillingAccount.Status.CANCELED, "incomplete_expired"):
        return None
    starts, ends = usage_period(tenant, period)
    began = max(tenant.created_at, account.created_at)
    if began >= ends or ends > now:
        return None  # it did not exist then, or the month is not over
    report, _created = UsageReport.objects.get_or_create(
        tenant=tenant,
        period=period,
        defaults={
            "quantity": active_residents(tenant),
            "identifier": f"linli-{tenant.slug}-{tenant.pk}-{period:%Y-%m}",
        },
    )
    if report.reported_at is not None:
        return report
    moment = max(min(ends - timedelta(seconds=1), now), starts, began)
    stripe_client().v1.billing.meter_events.create(
        params={
            "event_name": prices.meter_event,
            "identifier": report.identifier,
            "timestamp": int(moment.timestamp()),
            "payload": {"stripe_customer_id": account.customer_id, "value": str(report.quantity)},
        }
    )
    UsageReport.objects.filter(pk=report.pk, reported_at__isnull=True).update(
        reported_at=timezone.now()
    )
    report.refresh_from_db()
    return report


def usage_report_due(*, now: datetime | None = None) -> int:
    """Report last month's active residents of every tenant that serves and is billed
    (each tenant's last month, in its own zone); returns how many were reported."""
    from linli.registry.context import tenant_zone

    if not billing_enabled() or catalogue().per_resident is None:
        return 0
    now = now or timezone.now()
    reported = 0
    accounts = (
        BillingAccount.objects.filter(tenant__status__in=SERVING)
        .exclude(customer_id="")
        .exclude(subscription_id="")
        .exclude(status__in=[BillingAccount.Status.CANCELED, "incomplete_expired"])
        .select_related("tenant")
        .order_by("pk")
    )
    for account in accounts:
        tenant = account.tenant
        assert tenant is not None
        period = previous_month(now.astimezone(tenant_zone(tenant)).date())
        if usage_report(tenant_id=tenant.pk, period=period, now=now) is not None:
            reported += 1
    return reported
