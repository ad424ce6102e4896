"""Leaders keep in touch: contacts logged per household, coverage against the targets,
overdue households, and a concern heard on a visit turned into a topic in one step.

Who may log a contact and whose coverage a leader sees is ``access``'s to decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.errors import ValidationFailed
from tenants.audit.services import audit_record
from tenants.community.actor import Actor
from tenants.community.models import Household, Resident
from tenants.deliberation.council import deliberation_settings
from tenants.deliberation.models import Contact, Topic
from tenants.deliberation.services import topic_raise

FREQUENCY_DAYS = {"daily": 1, "weekly": 7, "monthly": 31}


@transaction.atomic
def contact_log(
    *,
    leader_id: int,
    household_id: int,
    kind: str,
    on: date | None = None,
    notes: str = "",
    concerns: str = "",
) -> Contact:
    if kind not in Contact.Kind.values:
        raise ValidationFailed(
            _("A contact is a greeting, a meeting or a home visit."),
            code="kind_invalid",
            field="kind",
        )
    if not Household.objects.filter(pk=household_id).exists():
        raise ValidationFailed(
            _("No household %(id)s.") % {"id": household_id},
            code="household_not_found",
            field="household_id",
        )
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationFailed(
            _("A contact cannot be in the future."), code="date_invalid", field="on"
        )
    contact = Contact.objects.create(
        leader_id=leader_id,
        household_id=household_id,
        kind=kind,
        on=on,
        notes=notes,
        concerns=concerns,
    )
    audit_record(action="outreach.contact", obj=contact)
    return contact


@transaction.atomic
def topic_from_contact(*, contact_id: int, title: str, category: str, raised_by_id: int) -> Topic:
    """The concern heard on a visit becomes a topic of the household's unit."""
    contact = Contact.objects.select_related("household").select_for_update().get(pk=contact_id)
    if not contact.concerns.strip():
        raise ValidationFailed(
            _("This contact recorded no concern."), code="no_concern", field="contact_id"
        )
    resident = Resident.objects.filter(pk=raised_by_id, household_id=contact.household_id).first()
    if resident is None:
        raise ValidationFailed(
            _("The topic is raised for a resident of that household."),
            code="resident_not_in_household",
            field="raised_by_id",
        )
    topic = topic_raise(
        raised_by_id=resident.pk,
        title=title,
        description=contact.concerns,
        category=category,
        scope="unit",
        place_id=contact.household.unit_id,
        heard_by_id=contact.leader_id,
    )
    contact.topic = topic
    contact.save(update_fields=["topic"])
    return topic


@dataclass(frozen=True)
class Coverage:
    building_id: int
    building: str
    households: int
    visited: int
    greeted_this_week: int
    tagged_due: int
    tagged_covered: int

    @property
    def visit_share(self) -> float:
        return self.visited / self.households if self.households else 1.0


def coverage(
    *,
    today: date | None = None,
    estate_id: int | None = None,
    households: QuerySet[Household] | None = None,
) -> list[Coverage]:
    """Per building: households visited within the target period, greeted this week, and
    households whose residents' tags ask for closer contact (daily, weekly, monthly) that got
    it in time. One query over the tenant, or over ``households`` (a leader's) when given."""
    today = today or timezone.localdate()
    if estate_id is not None and not 0 < estate_id < 2**63:
        return []  # no such estate (and not a number PostgreSQL's bigint can hold)
    only = None if households is None else list(households.values_list("pk", flat=True))
    visit_since = today - timedelta(days=deliberation_settings().visit_every_days)
    week_start = today - timedelta(days=today.weekday())
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH due AS (  -- the tightest frequency any resident of the household carries
                SELECT r.household_id,
                       min(CASE t.outreach_frequency WHEN 'daily' THEN 1 WHEN 'weekly' THEN 7
                           WHEN 'monthly' THEN 31 END) AS every_days
                FROM community_resident r
                JOIN community_resident_tags rt ON rt.resident_id = r.id
                JOIN community_residenttag t ON t.id = rt.residenttag_id
                WHERE t.outreach_frequency <> '' AND r.status = 'active'
                  AND r.household_id IS NOT NULL
                GROUP BY r.household_id
            ), last AS (
                SELECT household_id,
                       max(on_) FILTER (WHERE kind = 'visit') AS last_visit,
                       max(on_) AS last_any,
                       bool_or(kind = 'greeting' AND on_ >= %(week)s) AS greeted
                FROM (SELECT household_id, kind, "on" AS on_ FROM deliberation_contact
                      WHERE "on" >= %(horizon)s) c
                GROUP BY household_id
            )
            SELECT b.id, e.name || ' ' || b.name, count(h.id),
                   count(h.id) FILTER (WHERE l.last_visit >= %(visit)s),
                   count(h.id) FILTER (WHERE l.greeted),
                   count(d.household_id),
                   count(d.household_id) FILTER (
                       WHERE l.last_any >= %(today)s::date - d.every_days + 1)
            FROM community_household h
            JOIN community_unit u ON u.id = h.unit_id
            JOIN community_building b ON b.id = u.building_id
            JOIN community_estate e ON e.id = b.estate_id
            LEFT JOIN last l ON l.household_id = h.id
            LEFT JOIN due d ON d.household_id = h.id
            WHERE (%(estate)s::bigint IS NULL OR e.id = %(estate)s::bigint)
              AND (%(only)s::bigint[] IS NULL OR h.id = ANY(%(only)s::bigint[]))
            GROUP BY b.id, e.name, b.name
            ORDER BY e.name, b.name
            """,
            {
                "week": week_start,
                "visit": visit_since,
                "today": today,
                "estate": estate_id,
                "only": only,
                "horizon": min(visit_since, today - timedelta(days=31)),
            },
        )
        return [Coverage(*row) for row in cursor.fetchall()]


def overdue_households(*, actor: Actor, today: date | None = None) -> list[Household]:
    """Households the actor leads that have not had a visit within the target."""
    today = today or timezone.localdate()
    since = today - timedelta(days=deliberation_settings().visit_every_days)
    if not actor.leads_anything:
        return []
    visited = Contact.objects.filter(kind="visit", on__gte=since).values("household_id")
    return list(
        actor.households_led()
        .exclude(pk__in=visited)
        .select_related("unit__building")
        .order_by("pk")
    )
