"""Suggest volunteers for an open request, best first, each with its reasons.

Scoring: the skill the request needs (+3); nearness to the request's home: same
unit (+3), same building (+2), same estate (+1); available during the window
(+2); fewer requests already claimed and not finished (minus 1 each).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import (
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
from django.db.models.functions import Coalesce
from django.utils import timezone

from tenants.helpteam.models import HelpRequest, Volunteer

ACTIVE_CLAIMS = [HelpRequest.Status.CLAIMED, HelpRequest.Status.IN_PROGRESS]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Suggestion:
    volunteer: Volunteer
    score: int
    reasons: tuple[str, ...]


def _available(volunteer: Volunteer, help_request: HelpRequest) -> bool:
    start = timezone.localtime(help_request.window_start)
    end = timezone.localtime(help_request.window_end)
    slots = (volunteer.availability or {}).get(DAYS[start.weekday()], [])
    for slot in slots:
        try:
            opens, closes = int(slot[0]), int(slot[1])
        except (TypeError, ValueError, IndexError):
            continue
        if opens < (end.hour if end.date() == start.date() else 24) and closes > start.hour:
            return True
    return False


def suggestions(*, help_request: HelpRequest, limit: int = 10) -> list[Suggestion]:
    """The best ``limit`` volunteers, without loading every volunteer of the tenant.

    Skill, nearness and load are scored in the database, best first; availability
    (+2, from each volunteer's weekly hours) is added here. Candidates are read in
    batches in that order until no later one could still reach the list: its database
    score plus 2 falls below the last place's score. The result is the same as scoring
    everyone, in a few small queries even with thousands of volunteers.
    """
    home = help_request.household
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
    candidates = (
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
            base=Case(When(has_skill=True, then=Value(3)), default=Value(0))
            + F("near")
            - F("load"),
        )
        .select_related("resident__household__unit__building")
        .order_by("-base", "pk")
    )
    ranked: list[Suggestion] = []
    offset = 0
    while True:
        batch = list(candidates[offset : offset + BATCH])
        if not batch:
            break
        for volunteer in batch:
            ranked.append(_scored(volunteer, help_request))
        ranked.sort(key=lambda s: (-s.score, s.volunteer.pk))
        offset += len(batch)
        if len(batch) < BATCH:
            break
        if len(ranked) >= limit and int(batch[-1].base) + 2 < ranked[limit - 1].score:
            break  # no later candidate can reach the list
    return ranked[:limit]


BATCH = 200
NEAR_REASONS = {3: "same_unit", 2: "same_building", 1: "same_estate"}


def _scored(volunteer: Volunteer, help_request: HelpRequest) -> Suggestion:
    score, reasons = 0, list[str]()
    if volunteer.has_skill:  # type: ignore[attr-defined]
        score, reasons = score + 3, [*reasons, "skill"]
    near = int(volunteer.near)  # type: ignore[attr-defined]
    if near:
        score, reasons = score + near, [*reasons, NEAR_REASONS[near]]
    if _available(volunteer, help_request):
        score, reasons = score + 2, [*reasons, "available"]
    load = int(volunteer.load)  # type: ignore[attr-defined]
    score -= load
    reasons.append(f"open_claims:{load}")
    return Suggestion(volunteer, score, tuple(reasons))
