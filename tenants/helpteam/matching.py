"""Suggest volunteers for an open request, best first, each with its reasons.

Scoring: the skill the request needs (+3); nearness to the request's home: same
unit (+3), same building (+2), same estate (+1); available during the window
(+2); fewer requests already claimed and not finished (minus 1 each). All of it is
computed in the database, which returns only the best few.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from linli import clock
from tenants.helpteam.models import HelpRequest, Volunteer

ACTIVE_CLAIMS = [HelpRequest.Status.CLAIMED, HelpRequest.Status.IN_PROGRESS]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Suggestion:
    volunteer: Volunteer
    score: int
    reasons: tuple[str, ...]


# Whether the volunteer's weekly hours for the window's day overlap the window: slots are
# [opens, closes] hours; a slot that is not a pair of whole hours is ignored.
_AVAILABLE_SQL = """
EXISTS (
  SELECT 1 FROM jsonb_array_elements(
    CASE WHEN jsonb_typeof("helpteam_volunteer"."availability" -> %s) = 'array'
         THEN "helpteam_volunteer"."availability" -> %s ELSE '[]'::jsonb END
  ) AS slot
  WHERE jsonb_typeof(slot) = 'array'
    AND (slot ->> 0) ~ '^\\s*[-+]?[0-9]+(\\.[0-9]*)?\\s*$'
    AND (slot ->> 1) ~ '^\\s*[-+]?[0-9]+(\\.[0-9]*)?\\s*$'
    AND trunc((slot ->> 0)::numeric) < %s
    AND trunc((slot ->> 1)::numeric) > %s
)
"""


def suggestions(*, help_request: HelpRequest, limit: int = 10) -> list[Suggestion]:
    """The best ``limit`` volunteers, scored and ordered in the database in one query,
    whatever the number of volunteers."""
    home = help_request.household
    start = clock.local(help_request.window_start)
    end = clock.local(help_request.window_end)
    day = DAYS[start.weekday()]
    end_hour = end.hour if end.date() == start.date() else 24
    skill = Exists(
        Volunteer.skills.through.objects.filter(
            volunteer_id=OuterRef("pk"), skill__code=help_request.category
        )
    )
    load = Coalesce(
        Subquery(
            HelpRequest.objects.filter(claimed_by=OuterRef("pk"), status__in=ACTIVE_CLAIMS)
            .order_by()
            .values("claimed_by")
            .annotate(n=Count("id"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )
    if home is not None:
        near: Any = Case(
            When(resident__household__unit_id=home.unit_id, then=Value(3)),
            When(resident__household__unit__building_id=home.unit.building_id, then=Value(2)),
            When(
                resident__household__unit__building__estate_id=home.unit.building.estate_id,
                then=Value(1),
            ),
            default=Value(0),
            output_field=IntegerField(),
        )
    else:
        near = Value(0, output_field=IntegerField())
    available = RawSQL(  # noqa: S611 - constant SQL, every value bound as a parameter
        _AVAILABLE_SQL, [day, day, end_hour, start.hour], output_field=BooleanField()
    )
    best = (
        Volunteer.objects.filter(
            status=Volunteer.Status.ACTIVE,
            resident__status="active",
            resident__erased_at__isnull=True,
        )
        .exclude(resident_id=help_request.requester_id)
        .annotate(
            has_skill=skill,
            near=near,
            load=load,
            available=available,
            score=Case(When(has_skill=True, then=Value(3)), default=Value(0))
            + F("near")
            + Case(When(available=True, then=Value(2)), default=Value(0))
            - F("load"),
        )
        .select_related("resident__household__unit__building")
        .order_by("-score", "pk")[:limit]
    )
    return [_explained(volunteer) for volunteer in best]


NEAR_REASONS = {3: "same_unit", 2: "same_building", 1: "same_estate"}


def _explained(volunteer: Volunteer) -> Suggestion:
    reasons = []
    if volunteer.has_skill:  # type: ignore[attr-defined]
        reasons.append("skill")
    near = int(volunteer.near)  # type: ignore[attr-defined]
    if near:
        reasons.append(NEAR_REASONS[near])
    if volunteer.available:  # type: ignore[attr-defined]
        reasons.append("available")
    reasons.append(f"open_claims:{int(volunteer.load)}")  # type: ignore[attr-defined]
    return Suggestion(volunteer, int(volunteer.score), tuple(reasons))  # type: ignore[attr-defined]
