"""The points ledger: accounts, transactions and immutable postings (double entry).

The database, not only Python, keeps the books: every transaction's postings
sum to zero (a deferred constraint trigger), postings and transactions are
never updated or deleted (triggers), balances move only with postings (a
trigger maintains them under the row lock its UPDATE takes, and refuses any
other change), and a resident's balance can never go below zero (a check).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.community.models import Organisation, Resident


class Account(models.Model):
    class Kind(models.TextChoices):
        RESIDENT = "resident", _("Resident")
        ORGANISATION = "organisation", _("Organisation")
        SHOP = "shop", _("Shop")
        SYSTEM = "system", _("System")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    resident = models.OneToOneField(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="points_account"
    )
    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_account",
    )
    balance = models.BigIntegerField(_("balance"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="resident") | Q(balance__gte=0),
                name="points_resident_balance_not_negative",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="resident", resident__isnull=False, organisation__isnull=True)
                    | Q(kind="organisation", resident__isnull=True, organisation__isnull=False)
                    | Q(
                        kind__in=["shop", "system"],
                        resident__isnull=True,
                        organisation__isnull=True,
                    )
                ),
                name="points_account_owner_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Transaction(models.Model):
    class Kind(models.TextChoices):
        EARN = "earn", _("Earn")
        REDEEM = "redeem", _("Redeem")
        REFUND = "refund", _("Refund")
        TRANSFER = "transfer", _("Transfer")
        ADJUST = "adjust", _("Adjust")
        EXPIRE = "expire", _("Expire")
        REVERSAL = "reversal", _("Reversal")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    memo = models.CharField(_("memo"), max_length=255, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    request_hash = models.CharField(max_length=64, editable=False)
    source = models.CharField(
        _("source event"),
        max_length=100,
        blank=True,
        help_text=_("What earned the points, e.g. helpteam.request:42; awarded once."),
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    refunds = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="refunded_by"
    )
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_key_id = models.BigIntegerField(null=True, blank=True)
    # Stamped now unless given: a demo's history carries the times it describes.
    created_at = models.DateTimeField(
        _("time"), default=timezone.now, editable=False, db_index=True
    )
    # An award's caps count by the tenant's day of the service it is for, which may be
    # days before it is posted (confirmed late, or demo history).
    served_on = models.DateField(_("served on"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("points transaction")
        verbose_name_plural = _("points transactions")
        constraints = [
            models.UniqueConstraint(
                fields=["source"],
                condition=Q(kind="earn") & ~Q(source=""),
                name="points_earn_once_per_source",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}"


class Posting(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount = models.BigIntegerField(_("amount"))
    created_at = models.DateTimeField(_("time"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        indexes = [models.Index(fields=["account", "id"], name="points_posting_account_id")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="points_posting_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount:+d}"
