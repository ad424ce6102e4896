"""Reports for leaders: topics by status and age, time to resolution, coverage per estate."""

from __future__ import annotations

from django.db import connection


def topics_by_status() -> list[tuple[str, int, float]]:
    """(status, topics, average age in days), one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT status, count(*),
                   round(avg(extract(epoch FROM now() - created_at) / 86400)::numeric, 1)
            FROM deliberation_topic GROUP BY status ORDER BY count(*) DESC
            """
        )
        return [(s, int(n), float(age)) for s, n, age in cursor]


def days_to_resolve_by_month(*, months: int = 12) -> list[tuple[str, float, int]]:
    """(month resolved, median days from raised to resolved, topics) — PostgreSQL's median."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT to_char(date_trunc('month', resolved_at), 'YYYY-MM'),
                   percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY extract(epoch FROM resolved_at - created_at) / 86400),
                   count(*)
            FROM deliberation_topic
            WHERE resolved_at IS NOT NULL
              AND resolved_at >= date_trunc('month', now()) - make_interval(months => %s)
            GROUP BY 1 ORDER BY 1
            """,
            [months - 1],
        )
        return [(m, round(float(d), 1), int(n)) for m, d, n in cursor]


def coverage_by_estate() -> list[tuple[str, int, int, float]]:
    """(estate, households, visited within target, share), rolled up from the building report."""
    from tenants.deliberation.outreach import coverage

    totals: dict[str, list[int]] = {}
    for row in coverage():
        estate = row.building.rsplit(" ", 1)[0]
        households, visited = totals.setdefault(estate, [0, 0])
        totals[estate] = [households + row.households, visited + row.visited]
    return [
        (estate, h, v, round(v / h, 3) if h else 1.0) for estate, (h, v) in sorted(totals.items())
    ]
