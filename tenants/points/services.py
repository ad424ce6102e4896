"""Writes to the points ledger. Other modules call these; nothing else moves points.

Each service takes an idempotency key: a retry with the same key and the same
arguments returns the first transaction; the same key with other arguments is
refused. Every service is one database transaction; the database checks the
books (see ``models``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli import clock
from linli.errors import Conflict, LinliError, NotFound, ValidationFailed
from tenants.audit.context import current_actor
from tenants.audit.services import audit_record
from tenants.community.models import Organisation, Resident
from tenants.points.models import Account, Posting, Transaction
from tenants.points.settings import PointsSettings

ISSUANCE = "system:issuance"
ADJUSTMENTS = "system:adjustments"
EXPIRY = "system:expiry"
SYSTEM_ACCOUNTS = {
    ISSUANCE: "Points issued",
    ADJUSTMENTS: "Adjustments",
    EXPIRY: "Expired points",
}
MAX_AMOUNT = 1_000_000


class InsufficientPoints(Conflict):
    code = "insufficient_points"


# --- settings and accounts -------------------------------------------------------------


def points_settings() -> PointsSettings:
    """The current tenant's points settings (defaults when none are stored)."""
    from linli.registry.selectors import module_settings

    return module_settings("points", PointsSettings)


def _system_account(code: str) -> Account:
    account, _created = Account.objects.get_or_create(
        code=code, defaults={"kind": Account.Kind.SYSTEM, "name": SYSTEM_ACCOUNTS[code]}
    )
    return account


def account_for_resident(*, resident_id: int) -> Account:
    resident = Resident.objects.filter(pk=resident_id, erased_at__isnull=True).first()
    if resident is None:
        raise NotFound(_("No resident %(id)s.") % {"id": resident_id}, code="resident_not_found")
    account, _created = Account.objects.get_or_create(
        resident=resident,
        defaults={
            "kind": Account.Kind.RESIDENT,
            "code": f"resident:{resident.pk}",
            "name": resident.display_name or f"resident {resident.pk}",
        },
    )
    return account


def account_for_organisation(*, organisation_id: int) -> Account:
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise NotFound(
            _("No organisation %(id)s.") % {"id": organisation_id}, code="organisation_not_found"
        )
    account, _created = Account.objects.get_or_create(
        organisation=organisation,
        defaults={
            "kind": Account.Kind.ORGANISATION,
            "code": f"organisation:{organisation.pk}",
            "name": organisation.name,
        },
    )
    return account


def account_for_shop(*, shop_id: int, name: str) -> Account:
    """The account a shop receives points in (the shop module names its shops by id)."""
    account, _created = Account.objects.get_or_create(
        code=f"shop:{shop_id}", defaults={"kind": Account.Kind.SHOP, "name": name[:200]}
    )
    return account


def account_get(*, account_id: int) -> Account:
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise NotFound(
            _("No points account %(id)s.") % {"id": account_id}, code="account_not_found"
        )
    return account


# --- the one way points move ----------------------------------------------------------------


def _amount(amount: int, *, field: str = "amount") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationFailed(
            _("The amount must be a whole number above zero."), code="amount_invalid", field=field
        )
    if amount > MAX_AMOUNT:
        raise ValidationFailed(_("The amount is too large."), code="amount_invalid", field=field)
    return amount


def _fingerprint(kind: str, arguments: dict[str, Any]) -> str:
    raw = json.dumps([kind, arguments], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _replay(idempotency_key: str, fingerprint: str) -> Transaction | None:
    existing = Transaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise ValidationFailed(
            _("This idempotency key was used for a different request."),
            code="idempotency_key_reused",
        )
    return existing


def _key(idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if not key or len(key) > 255:
        raise ValidationFailed(
            _("An idempotency key of 1 to 255 characters is required."),
            code="idempotency_key_invalid",
        )
    return key


def _post(
    *,
    kind: str,
    idempotency_key: str,
    arguments: dict[str, Any],
    lines: list[tuple[Account, int]],
    memo: str = "",
    source: str = "",
    reverses: Transaction | None = None,
    refunds: Transaction | None = None,
    served_on: date | None = None,
) -> Transaction:
    """Record one balanced transaction, locking the accounts it debits (in id order)."""
    key = _key(idempotency_key)
    fingerprint = _fingerprint(kind, arguments)
    replay = _replay(key, fingerprint)
    if replay is not None:
        return replay
    # Lock every account the transaction touches, always in id order, so two transfers
    # in opposite directions cannot deadlock.
    touched = sorted({account.pk for account, _amount in lines})
    locked = {
        a.pk: a for a in Account.objects.select_for_update().filter(pk__in=touched).order_by("pk")
    }
    for account, amount in lines:
        balance = locked[account.pk].balance
        if amount < 0 and account.kind == Account.Kind.RESIDENT and balance + amount < 0:
            raise InsufficientPoints(
                _("Not enough points: the balance is %(balance)s.")
                % {"balance": locked[account.pk].balance},
                field="amount",
            )
    actor = current_actor()
    try:
        with transaction.atomic():
            tx = Transaction.objects.create(
                kind=kind,
                memo=memo[:255],
                idempotency_key=key,
                request_hash=fingerprint,
                source=source,
                reverses=reverses,
                refunds=refunds,
                served_on=served_on,
                actor_user_id=actor.user_id,
                actor_key_id=actor.key_id,
            )
            Posting.objects.bulk_create(
                Posting(transaction=tx, account=account, amount=amount) for account, amount in lines
            )
    except IntegrityError as exc:
        # A concurrent request with the same key (or source) committed first.
        replay = _replay(key, fingerprint)
        if replay is not None:
            return replay
        if source and Transaction.objects.filter(kind=kind, source=source).exists():
            raise Conflict(
                _("Points for this event were already awarded."),
                code="already_awarded",
                field="source",
            ) from exc
        raise
    audit_record(
        action=f"points.{kind}",
        obj=tx,
        changes={"postings": [None, [[a.code, amt] for a, amt in lines]]},
    )
    _event(tx, kind, lines)
    return tx


EVENT_OF_KIND = {
    Transaction.Kind.EARN: "points.awarded",
    Transaction.Kind.REDEEM: "points.redeemed",
    Transaction.Kind.REFUND: "points.refunded",
    Transaction.Kind.EXPIRE: "points.expired",
}


def _event(tx: Transaction, kind: str, lines: list[tuple[Account, int]]) -> None:
    """Tell integrators about points a resident gained or spent."""
    from tenants.events.services import event_record

    name = EVENT_OF_KIND.get(kind)  # type: ignore[call-overload]
    resident_line = next(((a, amt) for a, amt in lines if a.kind == Account.Kind.RESIDENT), None)
    if name is None or resident_line is None:
        return
    account, amount = resident_line
    event_record(
        type=name,
        object_id=tx.pk,
        payload={
            "transaction_id": tx.pk,
            "kind": kind,
            "amount": abs(amount),
            "account_id": account.pk,
            "resident_id": account.resident_id,
            "source": tx.source,
        },
    )


# --- services other modules call ---------------------------------------------------------------


def _awarded_within(account: Account, first: date, following: date) -> int:
    """Points the account earned for service on the tenant's days ``first`` up to (not
    including) ``following``; an award that names no day of service counts on the local
    day it was posted."""
    start, _end = clock.day_bounds(first)
    end, _next = clock.day_bounds(following)
    total = (
        Posting.objects.filter(
            account=account, amount__gt=0, transaction__kind=Transaction.Kind.EARN
        )
        .filter(
            Q(transaction__served_on__gte=first, transaction__served_on__lt=following)
            | Q(transaction__served_on=None, created_at__gte=start, created_at__lt=end)
        )
        .aggregate(total=Sum("amount"))["total"]
    )
    return int(total or 0)


@transaction.atomic
def points_award(
    *,
    resident_id: int,
    category: str,
    source: str,
    idempotency_key: str,
    hours: float | None = None,
    memo: str = "",
    served_on: date | None = None,
) -> Transaction:
    """Earn points by the tenant's rule for ``category``, exactly once per ``source`` event.

    The rule's daily and monthly caps count by the tenant's day of the service
    (``served_on``, today if not given), not by the moment the award is posted."""
    source = (source or "").strip()
    if not source:
        raise ValidationFailed(
            _("An award needs its source event."), code="source_required", field="source"
        )
    arguments = {"resident": resident_id, "category": category, "source": source, "hours": hours}
    replay = _replay(_key(idempotency_key), _fingerprint("earn", arguments))
    if replay is not None:
        return replay
    if Transaction.objects.filter(kind=Transaction.Kind.EARN, source=source).exists():
        raise Conflict(
            _("Points for this event were already awarded."), code="already_awarded", field="source"
        )
    rule = points_settings().rule_for(category)
    if rule is None:
        raise ValidationFailed(
            _("No earning rule for “%(category)s”.") % {"category": category},
            code="no_earning_rule",
            field="category",
        )
    if rule.per == "hour":
        if hours is None or hours <= 0 or hours > 24:
            raise ValidationFailed(
                _("Give the hours served (more than 0, at most 24)."),
                code="hours_invalid",
                field="hours",
            )
        points = round(rule.points * hours)
    else:
        points = rule.points
    account = account_for_resident(resident_id=resident_id)
    Account.objects.select_for_update().filter(pk=account.pk).first()  # serialise the caps
    day = served_on or clock.today()
    month = day.replace(day=1)
    periods = (
        (rule.daily_cap, day, day + timedelta(days=1)),
        (rule.monthly_cap, month, (month + timedelta(days=32)).replace(day=1)),
    )
    for cap, first, following in periods:
        if cap is not None:
            points = min(points, cap - _awarded_within(account, first, following))
    if points <= 0:
        raise Conflict(_("The volunteer has reached this period's cap."), code="cap_reached")
    return _post(
        kind=Transaction.Kind.EARN,
        idempotency_key=idempotency_key,
        arguments=arguments,
        memo=memo,
        source=source,
        lines=[(_system_account(ISSUANCE), -points), (account, points)],
        served_on=day,
    )


@transaction.atomic
def points_redeem(
    *, resident_id: int, amount: int, to_account_id: int, idempotency_key: str, memo: str = ""
) -> Transaction:
    """Spend a resident's points at a shop or partner (the receiving account)."""
    _amount(amount)
    receiver = account_get(account_id=to_account_id)
    if receiver.kind not in (Account.Kind.SHOP, Account.Kind.ORGANISATION):
        raise ValidationFailed(
            _("Points are spent at a shop or a partner."),
            code="receiver_invalid",
            field="to_account_id",
        )
    payer = account_for_resident(resident_id=resident_id)
    return _post(
        kind=Transaction.Kind.REDEEM,
        idempotency_key=idempotency_key,
        arguments={"resident": resident_id, "amount": amount, "to": to_account_id},
        memo=memo,
        lines=[(payer, -amount), (receiver, amount)],
    )


@transaction.atomic
def points_refund(
    *, redemption_id: int, amount: int, idempotency_key: str, memo: str = ""
) -> Transaction:
    """Give back some or all of a redemption (never more than was spent)."""
    _amount(amount)
    redemption = Transaction.objects.filter(pk=redemption_id, kind=Transaction.Kind.REDEEM).first()
    if redemption is None:
        raise NotFound(
            _("No redemption %(id)s.") % {"id": redemption_id}, code="redemption_not_found"
        )
    arguments = {"redemption": redemption_id, "amount": amount}
    replay = _replay(_key(idempotency_key), _fingerprint("refund", arguments))
    if replay is not None:
        return replay
    Transaction.objects.select_for_update().filter(pk=redemption.pk).first()
    payer, receiver = _redemption_parties(redemption)
    spent = -sum(p.amount for p in redemption.postings.all() if p.account_id == payer.pk)
    refunded = sum(
        p.amount for p in Posting.objects.filter(transaction__refunds=redemption, account=payer)
    )
    if reversal_of(redemption) is not None:
        raise Conflict(_("This redemption was reversed."), code="already_reversed")
    if refunded + amount > spent:
        raise Conflict(
            _("Only %(left)s points of this redemption are left to refund.")
            % {"left": spent - refunded},
            code="refund_too_large",
            field="amount",
        )
    return _post(
        kind=Transaction.Kind.REFUND,
        idempotency_key=idempotency_key,
        arguments=arguments,
        memo=memo,
        refunds=redemption,
        lines=[(receiver, -amount), (payer, amount)],
    )


def _redemption_parties(redemption: Transaction) -> tuple[Account, Account]:
    postings = list(redemption.postings.select_related("account"))
    payer = next(p.account for p in postings if p.amount < 0)
    receiver = next(p.account for p in postings if p.amount > 0)
    return payer, receiver


@transaction.atomic
def points_transfer(
    *,
    from_resident_id: int,
    to_resident_id: int,
    amount: int,
    idempotency_key: str,
    memo: str = "",
) -> Transaction:
    """A resident's gift of points to another, where the tenant allows it."""
    _amount(amount)
    if not points_settings().allow_transfers:
        raise LinliError(
            _("This tenant does not allow gifts of points."), code="transfers_disabled"
        )
    if from_resident_id == to_resident_id:
        raise ValidationFailed(
            _("Choose another resident."), code="same_account", field="to_resident_id"
        )
    giver = account_for_resident(resident_id=from_resident_id)
    taker = account_for_resident(resident_id=to_resident_id)
    return _post(
        kind=Transaction.Kind.TRANSFER,
        idempotency_key=idempotency_key,
        arguments={"from": from_resident_id, "to": to_resident_id, "amount": amount},
        memo=memo,
        lines=[(giver, -amount), (taker, amount)],
    )


@transaction.atomic
def points_adjust(
    *,
    amount: int,
    reason: str,
    idempotency_key: str,
    account_id: int | None = None,
    resident_id: int | None = None,
) -> Transaction:
    """An administrator's correction, up or down, always with a reason, of an account or of
    a resident's account (opened here if they have had no points yet)."""
    if (account_id is None) == (resident_id is None):
        raise ValidationFailed(
            _("Name the account or the resident to adjust, not both."),
            code="account_required",
            field="account_id",
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("An adjustment needs a reason."), code="reason_required", field="reason"
        )
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise ValidationFailed(
            _("The amount must be a whole number other than zero."),
            code="amount_invalid",
            field="amount",
        )
    _amount(abs(amount))
    if resident_id is not None:
        arguments: dict[str, Any] = {"resident": resident_id, "amount": amount, "reason": reason}
        replay = _replay(_key(idempotency_key), _fingerprint("adjust", arguments))
        if replay is not None:
            return replay
        account = account_for_resident(resident_id=resident_id)
    else:
        assert account_id is not None
        arguments = {"account": account_id, "amount": amount, "reason": reason}
        account = account_get(account_id=account_id)
    if account.kind == Account.Kind.SYSTEM:
        raise ValidationFailed(
            _("System accounts are not adjusted directly."),
            code="account_invalid",
            field="account_id",
        )
    return _post(
        kind=Transaction.Kind.ADJUST,
        idempotency_key=idempotency_key,
        arguments=arguments,
        memo=reason,
        lines=[(_system_account(ADJUSTMENTS), -amount), (account, amount)],
    )


def reversal_of(tx: Transaction) -> Transaction | None:
    return Transaction.objects.filter(reverses=tx).first()


@transaction.atomic
def transaction_reverse(*, transaction_id: int, reason: str, idempotency_key: str) -> Transaction:
    """Undo a transaction with its mirror image; a reversal itself cannot be reversed."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("A reversal needs a reason."), code="reason_required", field="reason"
        )
    original = Transaction.objects.select_for_update().filter(pk=transaction_id).first()
    if original is None:
        raise NotFound(
            _("No transaction %(id)s.") % {"id": transaction_id}, code="transaction_not_found"
        )
    arguments = {"transaction": transaction_id, "reason": reason}
    replay = _replay(_key(idempotency_key), _fingerprint("reversal", arguments))
    if replay is not None:
        return replay
    if original.kind == Transaction.Kind.REVERSAL:
        raise Conflict(
            _("A reversal cannot be reversed; record a new transaction instead."),
            code="reversal_of_reversal",
        )
    if reversal_of(original) is not None:
        raise Conflict(_("This transaction was already reversed."), code="already_reversed")
    if original.kind == Transaction.Kind.REDEEM and original.refunded_by.exists():
        raise Conflict(
            _("This redemption was partly refunded; refund the rest instead."),
            code="already_refunded",
        )
    lines = [(p.account, -p.amount) for p in original.postings.select_related("account")]
    try:
        return _post(
            kind=Transaction.Kind.REVERSAL,
            idempotency_key=idempotency_key,
            arguments=arguments,
            memo=reason,
            reverses=original,
            lines=lines,
        )
    except IntegrityError as exc:  # a concurrent reversal won
        raise Conflict(
            _("This transaction was already reversed."), code="already_reversed"
        ) from exc


# --- expiry --------------------------------------------------------------------------------


@transaction.atomic
def points_expire(*, now: Any = None) -> list[Transaction]:
    """Expire points earned more than ``expiry_months`` ago and still unspent (first in,
    first out). Safe to run twice: what already expired counts as spent."""
    months = points_settings().expiry_months
    if not months:
        return []
    now = now or timezone.now()
    cutoff = now - timedelta(days=round(months * 30.44))
    cutoff_day = clock.day_of(cutoff).isoformat()  # the tenant's day, as its statements read
    expired: list[Transaction] = []
    expiry = _system_account(EXPIRY)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id,
                   coalesce(sum(p.amount) FILTER (WHERE p.amount > 0 AND p.created_at < %s), 0)
                     + coalesce(sum(p.amount) FILTER (WHERE p.amount < 0), 0) AS expirable
            FROM points_account a JOIN points_posting p ON p.account_id = a.id
            WHERE a.kind = 'resident'
            GROUP BY a.id
            HAVING coalesce(sum(p.amount) FILTER (WHERE p.amount > 0 AND p.created_at < %s), 0)
                   + coalesce(sum(p.amount) FILTER (WHERE p.amount < 0), 0) > 0
            ORDER BY a.id
            """,
            [cutoff, cutoff],
        )
        due = cursor.fetchall()
    for account_id, expirable in due:
        account = Account.objects.select_for_update().get(pk=account_id)
        amount = min(int(expirable), account.balance)
        if amount <= 0:
            continue
        expired.append(
            _post(
                kind=Transaction.Kind.EXPIRE,
                idempotency_key=f"expire:{account_id}:{cutoff_day}:{amount}",
                arguments={"account": account_id, "cutoff": cutoff_day, "amount": amount},
                memo=f"expired: earned before {cutoff_day}",
                lines=[(account, -amount), (expiry, amount)],
            )
        )
    return expired
