"""Stripe's webhook events, stored once and applied to the billing state machine.

Writes only (services). ``stripe_event_record`` stores a verified event once by its id
and queues its processing; ``event_process`` applies it, exactly once; the periodic
``billing_grace_enforce`` suspends tenants whose grace period has run out.

Stripe delivers events at least once and in no particular order, so arrival order is
never trusted. The rules:

1. **Every state carries a time.** A subscription snapshot (``customer.subscription.*``)
   is as of the event's ``created``, or the object's own ``canceled_at``/``ended_at`` if
   later. A paid invoice is as of the event's ``created`` or its ``paid_at``; a failed
   payment as of the event's ``created``. ``BillingAccount.state_at`` is the time of the
   newest state applied; anything older is ignored (recorded as a note on the event).
2. **Ties** (Stripe's clock has one-second steps): the later arrival wins, unless it is
   about an older billing period than the one already known.
3. **Periods.** An invoice (paid or failed) whose service period ends before the
   account's ``current_period_end`` is about an older period: ignored. So paying an old
   invoice never undoes a newer failure, and a late failure of an old invoice never
   undoes a newer payment. A subscription snapshot never moves ``current_period_end``
   back at a tie.
4. **Deletion is terminal.** A deletion applies whatever its time (even if an update
   stamped later arrived first), and once a subscription is ``canceled`` or
   ``incomplete_expired`` no event about it changes anything again, whatever its time.
   Only a *different* subscription created after that may take the account over.
5. **Payment wins over status.** ``invoice.paid`` (a real payment, not the empty invoice
   that opens a trial) makes the account ``active``; ``invoice.payment_failed`` makes it
   ``past_due`` (``unpaid`` stays ``unpaid``).

The tenant follows the account (explicit calls to the registry services, actor
``billing``):

- ``trialing`` → tenant ``trial``; ``active`` → tenant ``active``. A tenant suspended
  *for billing* is resumed (and its admins told); one suspended by ops stays suspended.
- ``past_due``, ``unpaid``, ``paused`` → tenant ``past_due``, still serving. The grace
  period starts at the first failure applied (``grace_until`` = its time +
  ``LINLI_BILLING_GRACE_DAYS``) and is kept through further failures; a payment clears
  it. When it has passed and the account is still in one of these states, the tenant is
  suspended for billing (by the periodic job, or at once if an event arrives that late).
  A good state that arrives late (older than the newest state, but after the grace
  period's start: an active snapshot, or an invoice paid within the period it bills)
  proves the failures began later: the grace period restarts from the newest failure,
  never earlier than the truth, and a tenant suspended too early serves again.
- ``canceled``/``incomplete_expired`` → tenant closed (its retention period applies).
- A closed tenant is never touched (whoever closed it, it stays closed).
- A deleted (or purged) tenant's account is kept, detached: its events are still matched
  and applied to the account, and logged with a note; if one says the subscription still
  runs, its cancellation is queued again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from linli.billing import emails
from linli.billing.models import BillingAccount, StripeEvent
from linli.registry.models import Tenant
from linli.registry.services import tenant_close, tenant_set_status, tenant_suspend

logger = logging.getLogger(__name__)

ACTOR = "billing"
Status = BillingAccount.Status
GOOD = frozenset({Status.TRIALING, Status.ACTIVE})
BAD = frozenset({Status.PAST_DUE, Status.UNPAID, Status.PAUSED})
TERMINAL = frozenset({Status.CANCELED, Status.INCOMPLETE_EXPIRED})
SERVING_FOR_BILLING = (Tenant.Status.TRIAL, Tenant.Status.ACTIVE, Tenant.Status.PAST_DUE)

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "customer.subscription.trial_will_end",
    }
)
HANDLED = SUBSCRIPTION_EVENTS | {
    "checkout.session.completed",
    "invoice.paid",
    "invoice.payment_failed",
}

# Notes left on processed events that changed nothing (kept in ``last_error``, which a
# processed event does not otherwise use).
NOTE_UNHANDLED = "note: event type not handled"
NOTE_NO_ACCOUNT = "note: no billing account matches this event"
NOTE_OLDER = "note: older than the state already applied"
NOTE_OLDER_PERIOD = "note: about an older billing period"
NOTE_ENDED = "note: the subscription has ended"
NOTE_OTHER_SUBSCRIPTION = "note: about another subscription than the account's"
NOTE_NOT_SUBSCRIPTION = "note: not a subscription invoice"
NOTE_TRIAL_OPENING = "note: the invoice opening a trial"
NOTE_TENANT_GONE = "note: the tenant was deleted; its kept billing record was updated"
ERROR_MAX = 2000


# --- receiving ------------------------------------------------------------------------------


def stripe_event_record(*, payload: dict[str, Any]) -> bool:
    """Store a verified event once by its id and queue its processing.

    Returns False for an event already stored (a redelivery): nothing else happens. The
    job is deferred inside the same transaction (procrastinate defers through Django's
    connection), so it becomes visible to workers exactly when the event row commits,
    and neither can exist without the other.
    """
    from linli.billing.tasks import billing_event_process

    created = datetime.fromtimestamp(int(payload["created"]), tz=UTC)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {StripeEvent._meta.db_table}
                    (event_id, type, created, livemode, payload, received_at, attempts,
                     last_error)
                VALUES (%s, %s, %s, %s, %s::jsonb, now(), 0, '')
                ON CONFLICT (event_id) DO NOTHING
                RETURNING id
                """,
                [
                    str(payload["id"]),
                    str(payload["type"])[:80],
                    created,
                    bool(payload.get("livemode", False)),
                    json.dumps(payload),
                ],
            )
            inserted = cursor.fetchone() is not None
        if inserted:
            billing_event_process.defer(event_id=str(payload["id"]))
    return inserted


# --- processing -----------------------------------------------------------------------------


@dataclass
class _Outcome:
    note: str = ""
    mails: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def event_process(*, event_id: str, now: datetime | None = None) -> StripeEvent:
    """Apply one stored event, once. A failure is recorded on the event and re-raised so
    the job is retried; an event already processed is left alone."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            event = StripeEvent.objects.select_for_update().get(event_id=event_id)
            if event.processed_at is not None:
                return event
            outcome = _apply(event, now=now)
            event.attempts += 1
            event.processed_at = now
            event.last_error = outcome.note
            event.save(update_fields=["attempts", "processed_at", "last_error"])
            return event
    except Exception as exc:
        StripeEvent.objects.filter(event_id=event_id, processed_at__isnull=True).update(
            attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
        )
        raise


def _apply(event: StripeEvent, *, now: datetime) -> _Outcome:
    kind = event.type
    if kind not in HANDLED:
        return _Outcome(NOTE_UNHANDLED)
    obj = (event.payload.get("data") or {}).get("object") or {}
    if kind == "checkout.session.completed":
        return _checkout_completed(obj)
    if kind in SUBSCRIPTION_EVENTS:
        return _subscription(event, obj, now=now)
    return _invoice(event, obj, now=now)


# --- reading Stripe's objects ---------------------------------------------------------------


def _ts(value: Any) -> datetime | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def _id(value: Any) -> str:
    """An id, whether Stripe sent it bare or expanded into an object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _latest(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return max(present) if present else None


def _since(created: datetime, *times: datetime | None) -> datetime:
    """When a state holds from: the event's time, or the object's own if later."""
    return max([created, *(t for t in times if t is not None)])


def _subscription_period_end(sub: dict[str, Any]) -> datetime | None:
    """API 2025-03-31 and later keep the period on each item; older versions on top."""
    items = (sub.get("items") or {}).get("data") or []
    return _latest(
        _ts(sub.get("current_period_end")),
        *(_ts(item.get("current_period_end")) for item in items),
    )


def _invoice_subscription(invoice: dict[str, Any]) -> str:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return _id(details.get("subscription")) or _id(invoice.get("subscription"))


def _invoice_metadata(invoice: dict[str, Any]) -> dict[str, Any]:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return {
        **((invoice.get("subscription_details") or {}).get("metadata") or {}),
        **(details.get("metadata") or {}),
        **(invoice.get("metadata") or {}),
    }


def _invoice_period_end(invoice: dict[str, Any]) -> datetime | None:
    """The end of the service period the invoice bills: its lines' periods (a renewal
    invoice's own ``period_end`` is the end of the period before)."""
    lines = (invoice.get("lines") or {}).get("data") or []
    ends = [_ts((line.get("period") or {}).get("end")) for line in lines]
    return _latest(*ends) or _ts(invoice.get("period_end"))


# --- finding the account --------------------------------------------------------------------


def _account_for(*, subscription_id: str, customer_id: str, metadata: dict[str, Any]) -> Any:
    """The account by subscription id, else customer id, else the ``tenant`` slug in the
    metadata (only if it names no other customer). Locked for the rest of the event."""
    accounts = BillingAccount.objects.select_for_update(of=("self",)).select_related("tenant")
    if subscription_id:
        found = accounts.filter(subscription_id=subscription_id).first()
        if found is not None:
            return found
    if customer_id:
        found = accounts.filter(customer_id=customer_id).first()
        if found is not None:
            return found
    slug = metadata.get("tenant")
    if isinstance(slug, str) and slug:
        found = accounts.filter(tenant__schema_name=slug).first()
        if found is not None and (not found.customer_id or found.customer_id == customer_id):
            return found
    return None


# --- the events -----------------------------------------------------------------------------


def _checkout_completed(session: dict[str, Any]) -> _Outcome:
    metadata = dict(session.get("metadata") or {})
    if session.get("client_reference_id") and "tenant" not in metadata:
        metadata["tenant"] = session["client_reference_id"]
    subscription_id = _id(session.get("subscription"))
    customer_id = _id(session.get("customer"))
    account = _account_for(
        subscription_id=subscription_id, customer_id=customer_id, metadata=metadata
    )
    if account is None:
        return _Outcome(NOTE_NO_ACCOUNT)
    changed = ["has_payment_method"]
    account.has_payment_method = True
    if customer_id and not account.customer_id:
        account.customer_id = customer_id
        changed.append("customer_id")
    if subscription_id and not account.subscription_id:
        account.subscription_id = subscription_id
        changed.append("subscription_id")
    account.save(update_fields=[*changed, "updated_at"])
    setup_intent = _id(session.get("setup_intent"))
    if setup_intent:
        from linli.billing.tasks import billing_payment_method_adopt

        # Checkout in setup mode only attaches the card: a job makes it the default
        billing_payment_method_adopt.defer(account_id=account.pk, setup_intent_id=setup_intent)
    return _Outcome()


def _subscription(event: StripeEvent, sub: dict[str, Any], *, now: datetime) -> _Outcome:
    sub_id = _id(sub.get("id"))
    account = _account_for(
        subscription_id=sub_id,
        customer_id=_id(sub.get("customer")),
        metadata=sub.get("metadata") or {},
    )
    if account is None:
        return _Outcome(NOTE_NO_ACCOUNT)
    if account.tenant_id is None and account.status in TERMINAL:
        return _gone_and_ended(account)
    deleted = event.type == "customer.subscription.deleted"
    status = Status.CANCELED if deleted else str(sub.get("status") or "")
    if status not in Status.values:
        raise ValueError(f"unknown subscription status {status!r}")
    as_of = _since(event.created, _ts(sub.get("canceled_at")), _ts(sub.get("ended_at")))
    period_end = _subscription_period_end(sub)

    if account.subscription_id and account.subscription_id != sub_id:
        # Another subscription may take over only from an ended one, and only if newer.
        started = _ts(sub.get("created")) or as_of
        if account.status not in TERMINAL or (account.state_at and started <= account.state_at):
            return _Outcome(NOTE_OTHER_SUBSCRIPTION)
    elif account.status in TERMINAL:
        return _Outcome(NOTE_ENDED)
    elif account.state_at is not None and status not in TERMINAL:
        if as_of < account.state_at:
            if status in GOOD:
                _late_good(account, at=as_of, now=now)
            return _Outcome(NOTE_OLDER)
        if (
            as_of == account.state_at
            and period_end is not None
            and account.current_period_end is not None
            and period_end < account.current_period_end
        ):
            return _Outcome(NOTE_OLDER_PERIOD)

    account.subscription_id = sub_id
    account.customer_id = _id(sub.get("customer")) or account.customer_id
    account.status = status
    account.trial_end = _ts(sub.get("trial_end"))
    account.current_period_end = period_end
    account.cancel_at_period_end = bool(sub.get("cancel_at_period_end"))
    if sub.get("default_payment_method"):
        account.has_payment_method = True
    # a deletion applies whatever its time (rule 4), so the clock never goes back
    account.state_at = _latest(account.state_at, as_of)
    outcome = _Outcome()
    _grace_follow(account, as_of=as_of)
    account.save()
    _tenant_follow(account, now=now, outcome=outcome)
    if (
        event.type == "customer.subscription.trial_will_end"
        and account.status == Status.TRIALING
        and account.tenant is not None
        and account.tenant.status != Tenant.Status.CLOSED
    ):
        outcome.mails.append(
            (
                emails.TRIAL_ENDING,
                {"trial_end": account.trial_end, "has_payment_method": account.has_payment_method},
            )
        )
    _send(account, outcome)
    return outcome


def _invoice(event: StripeEvent, invoice: dict[str, Any], *, now: datetime) -> _Outcome:
    subscription_id = _invoice_subscription(invoice)
    if not subscription_id:
        return _Outcome(NOTE_NOT_SUBSCRIPTION)
    account = _account_for(
        subscription_id=subscription_id,
        customer_id=_id(invoice.get("customer")),
        metadata=_invoice_metadata(invoice),
    )
    if account is None:
        return _Outcome(NOTE_NO_ACCOUNT)
    if account.tenant_id is None and account.status in TERMINAL:
        return _gone_and_ended(account)
    paid = event.type == "invoice.paid"
    if (
        paid
        and invoice.get("billing_reason") == "subscription_create"
        and not invoice.get("amount_paid")
    ):
        return _Outcome(NOTE_TRIAL_OPENING)
    if account.status in TERMINAL:
        return _Outcome(NOTE_ENDED)
    if account.subscription_id and account.subscription_id != subscription_id:
        return _Outcome(NOTE_OTHER_SUBSCRIPTION)
    paid_at = _ts((invoice.get("status_transitions") or {}).get("paid_at")) if paid else None
    as_of = _since(event.created, paid_at)
    period_end = _invoice_period_end(invoice)
    if account.state_at is not None and as_of < account.state_at:
        if paid and period_end is not None and as_of < period_end:
            _late_good(account, at=as_of, now=now)  # paid within the period it bills
        return _Outcome(NOTE_OLDER)
    if (
        period_end is not None
        and account.current_period_end is not None
        and period_end < account.current_period_end
    ):
        return _Outcome(NOTE_OLDER_PERIOD)

    account.subscription_id = subscription_id
    account.customer_id = _id(invoice.get("customer")) or account.customer_id
    account.current_period_end = _latest(account.current_period_end, period_end)
    account.state_at = as_of
    if paid:
        account.status = Status.ACTIVE
    elif account.status != Status.UNPAID:
        account.status = Status.PAST_DUE
    _grace_follow(account, as_of=as_of)
    account.save()
    outcome = _Outcome()
    _tenant_follow(account, now=now, outcome=outcome)
    if not paid and account.tenant is not None and account.tenant.status != Tenant.Status.CLOSED:
        outcome.mails.append((emails.PAYMENT_FAILED, {"grace_until": account.grace_until}))
    _send(account, outcome)
    return outcome


# --- the tenant follows the account ---------------------------------------------------------


def _grace_follow(account: BillingAccount, *, as_of: datetime) -> None:
    """The grace period starts at the first failure and ends with a payment."""
    if account.status in BAD:
        if account.grace_until is None:
            account.grace_until = as_of + timedelta(days=settings.LINLI_BILLING_GRACE_DAYS)
    else:
        account.grace_until = None


def _late_good(account: BillingAccount, *, at: datetime, now: datetime) -> None:
    """A good state (paid, active, trialing) older than the newest state applied arrived
    late. If it is later than the start of the grace period, the failures after it are a
    new streak, which began no earlier than the newest (failed) state: the grace period
    restarts from there, and a tenant suspended too early serves again (still past due)."""
    grace = timedelta(days=settings.LINLI_BILLING_GRACE_DAYS)
    if account.status not in BAD or account.grace_until is None or account.state_at is None:
        return
    if at < account.grace_until - grace:
        return
    account.grace_until = account.state_at + grace
    account.save(update_fields=["grace_until", "updated_at"])
    if account.suspended_for_billing and account.grace_until > now and account.tenant_id:
        tenant = Tenant.objects.select_for_update().get(pk=account.tenant_id)
        if tenant.status == Tenant.Status.SUSPENDED:
            account.tenant = tenant_set_status(
                slug=tenant.schema_name, status=Tenant.Status.PAST_DUE, actor=ACTOR
            )
        _flag(account, suspended=False)


def _tenant_follow(account: BillingAccount, *, now: datetime, outcome: _Outcome) -> None:
    if account.tenant_id is None:
        _tenant_gone(account, outcome=outcome)
        return
    tenant = Tenant.objects.select_for_update().get(pk=account.tenant_id)
    account.tenant = tenant
    if tenant.status == Tenant.Status.CLOSED:
        return  # closed stays closed, whoever closed it
    slug = tenant.schema_name
    if account.status in TERMINAL:
        account.tenant = tenant_close(slug=slug, actor=ACTOR)
        _flag(account, suspended=False)
    elif account.status in GOOD:
        target = Tenant.Status.TRIAL if account.status == Status.TRIALING else Tenant.Status.ACTIVE
        if tenant.status == Tenant.Status.SUSPENDED:
            if not account.suspended_for_billing:
                return  # an ops suspension is never lifted by billing
            outcome.mails.append((emails.REACTIVATED, {}))
        if tenant.status != target:
            account.tenant = tenant_set_status(slug=slug, status=target, actor=ACTOR)
        _flag(account, suspended=False)
    elif account.status in BAD:
        if tenant.status in (Tenant.Status.TRIAL, Tenant.Status.ACTIVE):
            account.tenant = tenant_set_status(
                slug=slug, status=Tenant.Status.PAST_DUE, actor=ACTOR
            )
        _suspend_if_due(account, now=now, outcome=outcome)


def _gone_and_ended(account: BillingAccount) -> _Outcome:
    logger.warning(
        "Stripe event for %s, a deleted tenant whose subscription has ended", account.tenant_slug
    )
    return _Outcome(NOTE_TENANT_GONE)


def _tenant_gone(account: BillingAccount, *, outcome: _Outcome) -> None:
    """An event about a deleted tenant's account: recorded, never ignored."""
    outcome.note = NOTE_TENANT_GONE
    logger.warning(
        "Stripe event for %s, a deleted tenant: billing status %s",
        account.tenant_slug,
        account.status,
    )
    if account.subscription_id and account.status not in TERMINAL:
        from linli.billing.tasks import billing_subscription_cancel

        billing_subscription_cancel.defer(account_id=account.pk, at_period_end=False)


def _suspend_if_due(account: BillingAccount, *, now: datetime, outcome: _Outcome) -> bool:
    """Suspend (for billing) a serving tenant whose grace has passed. A tenant ops resumed
    from a billing suspension keeps serving until its billing state changes."""
    if (
        account.tenant is None
        or account.status not in BAD
        or account.grace_until is None
        or account.grace_until > now
        or account.suspended_for_billing
        or account.tenant.status not in SERVING_FOR_BILLING
    ):
        return False
    account.tenant = tenant_suspend(slug=account.tenant.schema_name, actor=ACTOR)
    _flag(account, suspended=True)
    outcome.mails.append((emails.SUSPENDED, {}))
    return True


def _flag(account: BillingAccount, *, suspended: bool) -> None:
    if account.suspended_for_billing != suspended:
        account.suspended_for_billing = suspended
        account.save(update_fields=["suspended_for_billing", "updated_at"])


def _send(account: BillingAccount, outcome: _Outcome) -> None:
    if account.tenant is None:
        return
    for kind, context in outcome.mails:
        emails.billing_email_send(tenant=account.tenant, kind=kind, context=context)


# --- the grace period -----------------------------------------------------------------------


def billing_grace_enforce(*, now: datetime | None = None) -> list[str]:
    """Suspend every serving tenant whose account is still past due (or unpaid, or paused)
    after its grace period; returns their slugs. Each in its own transaction, re-checked
    under the account's lock, so a payment processed a moment ago wins."""
    now = now or timezone.now()
    due = list(
        BillingAccount.objects.filter(
            status__in=BAD,
            grace_until__lte=now,
            suspended_for_billing=False,
            tenant__status__in=SERVING_FOR_BILLING,
        )
        .order_by("grace_until")
        .values_list("pk", flat=True)
    )
    suspended = []
    for pk in due:
        with transaction.atomic():
            account = BillingAccount.objects.select_for_update().filter(pk=pk).first()
            if account is None:
                continue
            account.tenant = Tenant.objects.select_for_update().get(pk=account.tenant_id)
            outcome = _Outcome()
            if _suspend_if_due(account, now=now, outcome=outcome):
                _send(account, outcome)
                suspended.append(account.tenant.schema_name)
                logger.info("Suspended %s for billing (grace ended)", account.tenant.schema_name)
    return suspended
