"""Who sees which points accounts and who may move points. Every channel passes its
``Actor``; nothing else decides.

- The district's tool sees every account and keeps the books: adjustments, refunds,
  reversals, the summary and the settlements (a resident acting, leader or not, is
  refused: ``not_for_residents``).
- A person sees their own account and statement, and spends and gives only their own
  points (naming someone else: ``not_your_points``).
- A leader also sees the accounts of the residents of the places they lead, and awards
  points for services there (elsewhere: ``out_of_scope``).
- No one approves their own points: an award, adjustment, refund or reversal that would
  credit the actor's own account is refused (``self_approval``), even for a district
  admin acting as themself.

Lookups answer 404 with the module's code whether the account is missing or not theirs.
An id a body names (the resident points are for, the account they go to, the redemption
refunded) that is missing is the body's fault instead: 422 ``<thing>_not_found`` on the
field, checked here before the ledger is written.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from linli.errors import NotFound, ValidationFailed
from tenants.community.access import (
    NotAllowed,
    leaders_only,
    names_anyone,
    not_for_residents,
    out_of_scope,
    resident_not_found,
)
from tenants.community.actor import Actor
from tenants.community.models import Resident
from tenants.points.models import Account, Posting, Transaction


def account_not_found(account_id: int) -> NotFound:
    return NotFound(_("No points account %(id)s.") % {"id": account_id}, code="account_not_found")


def no_resident(resident_id: int, *, field: str) -> ValidationFailed:
    return ValidationFailed(
        _("No active resident %(id)s.") % {"id": resident_id},
        code="resident_not_found",
        field=field,
    )


def not_your_points() -> NotAllowed:
    return NotAllowed(_("A resident can only use their own points."), code="not_your_points")


def self_approval() -> NotAllowed:
    return NotAllowed(_("No one approves their own points."), code="self_approval")


# --- list filters ------------------------------------------------------------------------


def point_holders_visible(actor: Actor) -> QuerySet[Resident]:
    """The residents whose points the actor sees: all for the district; for a person
    themself and the residents of the places they lead."""
    residents = Resident.objects.filter(erased_at__isnull=True)
    if actor.is_district:
        return residents
    mine = Q(pk=actor.resident_id) if actor.resident_id is not None else Q(pk__in=[])
    if actor.scope.anything:
        mine |= actor.place_q("household__unit__")
    return residents.filter(mine)


def accounts_visible(actor: Actor) -> QuerySet[Account]:
    """Every account for the district; a person's own and (a leader's) their residents'."""
    if actor.is_district:
        return Account.objects.all()
    return Account.objects.filter(
        kind=Account.Kind.RESIDENT, resident__in=point_holders_visible(actor)
    )


# --- lookups -------------------------------------------------------------------------------


def access_account(*, actor: Actor, account_id: int, for_update: bool = False) -> Account:
    accounts = accounts_visible(actor)
    if for_update:
        accounts = accounts.select_for_update()
    account = accounts.filter(pk=account_id).first()
    if account is None:
        raise account_not_found(account_id)
    return account


def access_point_holder(*, actor: Actor, resident_id: int) -> Resident:
    """A resident whose points the actor may look at; 404 as for a missing resident."""
    resident = point_holders_visible(actor).filter(pk=resident_id).first()
    if resident is None:
        raise resident_not_found(resident_id)
    return resident


def own_account(actor: Actor) -> Account | None:
    """The person's own account (None before their first points): the resident pages'."""
    if actor.resident_id is None:
        return None
    return Account.objects.filter(resident_id=actor.resident_id).first()


# --- action checks ---------------------------------------------------------------------------


def may_keep_books(actor: Actor) -> None:
    """Adjustments, refunds, reversals and the reports: the district's tool only."""
    if not actor.is_district:
        raise not_for_residents()


def keeps_books(actor: Actor) -> bool:
    """The admin's ledger screens: the same rule, as a yes or no."""
    return actor.is_district


def payer(actor: Actor, resident_id: int, *, field: str = "resident_id") -> Actor:
    """The person whose points are spent or given: a person (even a district admin acting as
    themself) names only themself; the district's tool names anyone, judged as that person
    (422 ``resident_not_found`` on ``field`` when there is no such active resident)."""
    if not names_anyone(actor) and not actor.is_self(resident_id):
        raise not_your_points()
    named = actor.as_named(resident_id)
    if named is None:
        raise no_resident(resident_id, field=field)
    return named


def resident_named(resident_id: int, *, field: str) -> Resident:
    """A resident a body names who does not act (a gift's receiver, an award's, the account
    adjusted): one who holds points (not erased; moved out still counts, as in the ledger),
    else 422 ``resident_not_found`` on ``field``."""
    resident = Resident.objects.filter(pk=resident_id, erased_at__isnull=True).first()
    if resident is None:
        raise ValidationFailed(
            _("No resident %(id)s.") % {"id": resident_id},
            code="resident_not_found",
            field=field,
        )
    return resident


def account_named(account_id: int, *, field: str) -> Account:
    """An account a body names (where points are spent, the account adjusted): any account of
    the tenant, since shops' and partners' accounts are where residents spend; missing is 422
    ``account_not_found`` on ``field``. (What kind it must be is the ledger's rule.)"""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise ValidationFailed(
            _("No points account %(id)s.") % {"id": account_id},
            code="account_not_found",
            field=field,
        )
    return account


def redemption_named(redemption_id: int, *, field: str = "redemption_id") -> None:
    """The redemption a refund names: missing is 422 ``redemption_not_found`` on ``field``."""
    if not Transaction.objects.filter(pk=redemption_id, kind=Transaction.Kind.REDEEM).exists():
        raise ValidationFailed(
            _("No redemption %(id)s.") % {"id": redemption_id},
            code="redemption_not_found",
            field=field,
        )


def may_award(actor: Actor, resident_id: int) -> None:
    """Awarding points for a service: a leader, to a resident of the places they lead (the
    district: anyone), never to themself."""
    leaders_only(actor)
    if actor.is_self(resident_id):
        raise self_approval()
    resident = resident_named(resident_id, field="resident_id")
    if actor.is_district:
        return
    if resident.household_id is None or not actor.leads_household(resident.household_id):
        raise out_of_scope()


def may_credit(actor: Actor, account: Account) -> None:
    """An adjustment of ``account``: the books' keepers, never to their own account."""
    may_keep_books(actor)
    if actor.resident_id is not None and account.resident_id == actor.resident_id:
        raise self_approval()


def may_adjust(actor: Actor, *, account_id: int | None, resident_id: int | None) -> None:
    """An adjustment names an account, or a resident (whose account the ledger opens if
    they have none yet): the books' keepers only, the named one must exist (422 on its
    field), and never the keeper's own."""
    may_keep_books(actor)
    if (account_id is None) == (resident_id is None):
        raise ValidationFailed(
            _("Name the account or the resident to adjust, not both."),
            code="account_required",
            field="account_id",
        )
    if account_id is not None:
        may_credit(actor, account_named(account_id, field="account_id"))
    elif resident_id is not None:
        resident_named(resident_id, field="resident_id")
        if actor.is_self(resident_id):
            raise self_approval()


def may_undo(actor: Actor, transaction_id: int) -> None:
    """A refund or a reversal gives back what a transaction took: the books' keepers, never
    to their own account. (A missing transaction is the service's 404.)"""
    may_keep_books(actor)
    if (
        actor.resident_id is not None
        and Posting.objects.filter(
            transaction_id=transaction_id,
            account__resident_id=actor.resident_id,
            amount__lt=0,
        ).exists()
    ):
        raise self_approval()
