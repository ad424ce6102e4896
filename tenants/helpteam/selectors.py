"""Reads for leaders and volunteers: lists, recognition, leaderboards, the dashboard.

Who may see which rows is ``tenants.helpteam.access``'s to say: the lists here narrow a
queryset the caller got from there (``requests``, ``activities``), never widen it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils import timezone, translation

from tenants.helpteam.models import Activity, HelpRequest, Signup, Skill, Volunteer

# A tenant names a help category in each language as a term (community terminology) keyed
# ``help_category.<code>``; without one, the category's own name is its label.
CATEGORY_TERM = "help_category.{code}"


@dataclass(frozen=True)
class HelpCategory:
    code: str
    label: str


def help_categories(skills: QuerySet[Skill]) -> list[HelpCategory]:
    """The help categories (the tenant's skills) with their labels in the active language:
    the tenant's term for it in that language, else its name. Two queries."""
    from tenants.community.models import Term

    rows = list(skills.order_by("name", "pk"))
    language = translation.get_language() or ""
    keys = [CATEGORY_TERM.format(code=skill.code) for skill in rows]
    terms = dict(
        Term.objects.filter(key__in=keys, language__iexact=language).values_list("key", "label")
    )
    return [
        HelpCategory(
            code=skill.code, label=terms.get(CATEGORY_TERM.format(code=skill.code)) or skill.name
        )
        for skill in rows
    ]


def help_requests_filtered(
    requests: QuerySet[HelpRequest],
    *,
    status: str | None = None,
    estate_id: int | None = None,
    building_id: int | None = None,
) -> QuerySet[HelpRequest]:
    """The API's list filters over the requests the caller sees."""
    if status:
        requests = requests.filter(status=status)
    if estate_id is not None:
        requests = requests.filter(household__unit__building__estate_id=estate_id)
    if building_id is not None:
        requests = requests.filter(household__unit__building_id=building_id)
    return requests


def help_requests_recent(requests: QuerySet[HelpRequest], *, limit: int) -> list[HelpRequest]:
    """A resident's own requests as their pages list them (home and help alike): the newest
    first, whatever their state, so a confirmed request is never missing from one of them."""
    return list(requests.order_by("-id")[:limit])


def activities_counted(activities: QuerySet[Activity]) -> QuerySet[Activity]:
    """Activities with their places taken (``confirmed``) and waiting list (``waitlisted``)."""
    return activities.select_related("space").annotate(
        confirmed=Count("signups", filter=Q(signups__status=Signup.Status.CONFIRMED)),
        waitlisted=Count("signups", filter=Q(signups__status=Signup.Status.WAITLISTED)),
    )


def activities_listed(
    activities: QuerySet[Activity], *, estate_id: int | None = None
) -> QuerySet[Activity]:
    """The API's list: activities not cancelled, within an estate if asked."""
    activities = activities.filter(cancelled=False)
    if estate_id is not None:
        activities = activities.filter(estate_id=estate_id)
    return activities_counted(activities)


def activity_counted(*, activity_id: int) -> Activity:
    return activities_counted(Activity.objects.filter(pk=activity_id)).get()


def activities_upcoming(activities: QuerySet[Activity], *, limit: int = 20) -> list[Activity]:
    """The resident pages' list: the next activities not cancelled."""
    return list(
        activities.filter(cancelled=False, starts_at__gt=timezone.now())
        .select_related("space")
        .order_by("starts_at")[:limit]
    )


@dataclass(frozen=True)
class Recognition:
    resident_id: int
    confirmed_hours: Decimal
    services: int
    stars: int
    next_star_at: int | None


def recognition(*, volunteer: Volunteer, thresholds: list[int] | None = None) -> Recognition:
    """Confirmed hours and services, and the stars they earn (the tenant's thresholds unless
    given)."""
    if thresholds is None:
        from tenants.helpteam.services import helpteam_settings

        thresholds = helpteam_settings().star_thresholds
    totals = HelpRequest.objects.filter(claimed_by=volunteer, status="confirmed").aggregate(
        hours=Sum("hours"), services=Count("id")
    )
    hours = totals["hours"] or Decimal(0)
    stars = sum(1 for threshold in thresholds if hours >= threshold)
    upcoming = [t for t in thresholds if hours < t]
    return Recognition(
        volunteer.resident_id, hours, totals["services"], stars, upcoming[0] if upcoming else None
    )


@dataclass(frozen=True)
class LeaderboardLine:
    rank: int
    resident_id: int
    name: str
    hours: Decimal
    services: int


def leaderboard(
    *, month: date, estate_id: int | None = None, area_id: int | None = None, limit: int = 20
) -> list[LeaderboardLine]:
    """Volunteers by confirmed hours in ``month`` (one query), within an estate or an area."""
    from tenants.community.models import Area

    start = month.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    requests = HelpRequest.objects.filter(
        status="confirmed", confirmed_at__date__gte=start, confirmed_at__date__lt=end
    )
    if estate_id is not None:
        requests = requests.filter(household__unit__building__estate_id=estate_id)
    if area_id is not None:
        area = Area.objects.filter(pk=area_id).first()
        requests = requests.filter(
            household__unit__building__estate__area__path__startswith=area.path if area else "-"
        )
    rows = (
        requests.values("claimed_by__resident_id", "claimed_by__resident__display_name")
        .annotate(hours=Sum("hours"), services=Count("id"))
        .order_by("-hours", "claimed_by__resident_id")[:limit]
    )
    return [
        LeaderboardLine(
            n,
            r["claimed_by__resident_id"],
            r["claimed_by__resident__display_name"],
            r["hours"],
            r["services"],
        )
        for n, r in enumerate(rows, start=1)
    ]


@dataclass(frozen=True)
class BuildingQueue:
    building_id: int
    building: str
    open_requests: int
    oldest_hours: float
    unclaimed_over_alert: int


def open_requests_by_building(
    *, alert_hours: int, requests: QuerySet[HelpRequest] | None = None
) -> list[BuildingQueue]:
    """Open requests per building, among ``requests`` (all of them unless given)."""
    now = timezone.now()
    requests = requests if requests is not None else HelpRequest.objects.all()
    rows = (
        requests.filter(status="open", household__isnull=False)
        .values(
            "household__unit__building_id",
            "household__unit__building__name",
            "household__unit__building__estate__name",
        )
        .annotate(
            open_requests=Count("id"),
            oldest=Min("created_at"),
            stale=Count("id", filter=Q(created_at__lt=now - timedelta(hours=alert_hours))),
        )
        .order_by("-stale", "oldest")
    )
    return [
        BuildingQueue(
            r["household__unit__building_id"],
            " ".join(
                [r["household__unit__building__estate__name"], r["household__unit__building__name"]]
            ),
            r["open_requests"],
            round((now - r["oldest"]).total_seconds() / 3600, 1),
            r["stale"],
        )
        for r in rows
    ]


class Week(NamedTuple):
    week: str
    raised: int
    resolved: int


def _among(requests: QuerySet[HelpRequest] | None) -> tuple[str, list[Any]]:
    """A condition on ``r.id`` keeping only ``requests`` (nothing when all of them)."""
    if requests is None:
        return "", []
    sql, params = requests.order_by().values("pk").query.sql_with_params()
    return f"AND r.id IN ({sql})", list(params)


def weekly_flow(*, weeks: int = 12, requests: QuerySet[HelpRequest] | None = None) -> list[Week]:
    """(week starting, raised, resolved) for the last ``weeks`` weeks, oldest first, among
    ``requests`` (all of them unless given)."""
    among, params = _among(requests)
    with connection.cursor() as cursor:
        cursor.execute(
            # the only text put in is Django's own SQL for ``requests``, its values bound
            f"""
            WITH weeks AS (
                SELECT generate_series(date_trunc('week', now()) - make_interval(weeks => %s),
                                       date_trunc('week', now()), interval '1 week') AS week
            )
            SELECT to_char(w.week, 'YYYY-MM-DD'),
                   (SELECT count(*) FROM helpteam_helprequest r
                     WHERE r.created_at >= w.week AND r.created_at < w.week + interval '1 week'
                     {among}),
                   (SELECT count(*) FROM helpteam_helprequest r
                     WHERE r.confirmed_at >= w.week AND r.confirmed_at < w.week + interval '1 week'
                     {among})
            FROM weeks w ORDER BY w.week
            """,
            [weeks - 1, *params, *params],
        )
        return [Week(week, int(raised), int(resolved)) for week, raised, resolved in cursor]


class VolunteerMonth(NamedTuple):
    resident_id: int
    name: str
    hours: Decimal
    points: int


def volunteer_month(
    *, month: date, requests: QuerySet[HelpRequest] | None = None
) -> list[VolunteerMonth]:
    """(resident id, name, confirmed hours, points earned) per volunteer in ``month``, for
    the service among ``requests`` (all of it unless given)."""
    start = month.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    among, params = _among(requests)
    with connection.cursor() as cursor:
        cursor.execute(
            # as above: only Django's own SQL for ``requests`` is put in, its values bound
            f"""
            SELECT v.resident_id, res.display_name,
                   coalesce(sum(r.hours), 0),
                   coalesce((SELECT sum(p.amount) FROM points_posting p
                             JOIN points_account a ON a.id = p.account_id
                             JOIN points_transaction t ON t.id = p.transaction_id
                             WHERE a.resident_id = v.resident_id AND t.kind = 'earn'
                               AND p.created_at >= %s AND p.created_at < %s), 0)
            FROM helpteam_volunteer v
            JOIN community_resident res ON res.id = v.resident_id
            LEFT JOIN helpteam_helprequest r ON r.claimed_by_id = v.id
                 AND r.status = 'confirmed' AND r.confirmed_at >= %s AND r.confirmed_at < %s
                 {among}
            GROUP BY v.resident_id, res.display_name
            HAVING coalesce(sum(r.hours), 0) > 0
            ORDER BY 3 DESC, 1
            """,
            [start, end, start, end, *params],
        )
        return [VolunteerMonth(int(i), name, Decimal(h), int(p)) for i, name, h, p in cursor]


@dataclass(frozen=True)
class Dashboard:
    alert_hours: int
    open_by_building: list[BuildingQueue]
    weeks: list[Week]
    volunteers_this_month: list[VolunteerMonth]


def dashboard(*, requests: QuerySet[HelpRequest]) -> Dashboard:
    """The leaders' view over ``requests`` (those of the places they lead)."""
    from tenants.helpteam.services import helpteam_settings

    alert = helpteam_settings().unclaimed_alert_hours
    return Dashboard(
        alert,
        open_requests_by_building(alert_hours=alert, requests=requests),
        weekly_flow(requests=requests),
        volunteer_month(month=timezone.localdate(), requests=requests),
    )


def service_history(*, volunteer: Volunteer) -> list[tuple[datetime, str, Decimal]]:
    return [
        (r.confirmed_at, r.category, r.hours)
        for r in HelpRequest.objects.filter(claimed_by=volunteer, status="confirmed").order_by(
            "confirmed_at"
        )
        if r.confirmed_at is not None and r.hours is not None
    ]
