"""The points statement as a resident reads it: what each line was for in words (the
tenant's label for a help category, the activity, the order), its day, and the balance
after it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from tenants.points.selectors import StatementLine


@dataclass(frozen=True)
class StatementEntry:
    at: datetime
    what: str
    amount: int
    balance_after: int


def _category_labels() -> dict[str, str]:
    from tenants.helpteam.models import Skill
    from tenants.helpteam.selectors import help_categories

    return {category.code: category.label for category in help_categories(Skill.objects.all())}


def _what(line: StatementLine, source: str, labels: dict[str, str]) -> str:
    memo = line.memo
    if source.startswith("helpteam.request:"):
        return _("Helped a neighbour: %(category)s") % {"category": labels.get(memo, memo)}
    if source.startswith("helpteam.activity:"):
        return _("Took part in: %(activity)s") % {"activity": memo}
    if line.kind == "expire":
        return _("Points expired")
    if line.kind == "refund":
        return _("Given back: %(what)s") % {"what": memo} if memo else _("Given back")
    if line.kind == "redeem":
        return _("Spent: %(what)s") % {"what": memo} if memo else _("Spent")
    if memo in labels:  # an award named by its category
        return labels[memo]
    return memo or _("Adjusted by the office")


def statement_in_words(lines: list[StatementLine]) -> list[StatementEntry]:
    """The lines, newest first, in words (three queries whatever their number)."""
    from tenants.points.models import Transaction

    if not lines:
        return []
    sources = dict(
        Transaction.objects.filter(pk__in={line.transaction_id for line in lines}).values_list(
            "pk", "source"
        )
    )
    labels = _category_labels()
    return [
        StatementEntry(
            at=line.at,
            what=_what(line, sources.get(line.transaction_id) or "", labels),
            amount=line.amount,
            balance_after=line.balance_after,
        )
        for line in reversed(lines)
    ]
