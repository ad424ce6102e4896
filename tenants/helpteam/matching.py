"""Suggest volunteers for an open request, best first, each with its reasons.

Scoring: the skill the request needs (+3); nearness to the request's home: same
unit (+3), same building (+2), same estate (+1); available during the window
(+2); fewer requests already claimed and not finished (minus 1 each).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
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
    """Two queries whatever the number of volunteers: candidates with their places and
    load, and their skills."""
    home = help_request.household
    volunteers = (
        Volunteer.objects.filter(
            status=Volunteer.Status.ACTIVE,
            resident__status="active",
            resident__erased_at__isnull=True,
        )
        .exclude(resident_id=help_request.requester_id)
        .select_related("resident__household__unit__building")
        .prefetch_related("skills")
        .annotate(load=Count("claims", filter=Q(claims__status__in=ACTIVE_CLAIMS)))
    )
    ranked: list[Suggestion] = []
    for volunteer in volunteers:
        score, reasons = 0, list[str]()
        if any(skill.code == help_request.category for skill in volunteer.skills.all()):
            score, reasons = score + 3, [*reasons, "skill"]
        theirs = volunteer.resident.household
        if home is not None and theirs is not None:
            if theirs.unit_id == home.unit_id:
                score, reasons = score + 3, [*reasons, "same_unit"]
            elif theirs.unit.building_id == home.unit.building_id:
                score, reasons = score + 2, [*reasons, "same_building"]
            elif theirs.unit.building.estate_id == home.unit.building.estate_id:
                score, reasons = score + 1, [*reasons, "same_estate"]
        if _available(volunteer, help_request):
            score, reasons = score + 2, [*reasons, "available"]
        load = int(getattr(volunteer, "load", 0))
        score -= load
        reasons.append(f"open_claims:{load}")
        ranked.append(Suggestion(volunteer, score, tuple(reasons)))
    ranked.sort(key=lambda s: (-s.score, s.volunteer.pk))
    return ranked[:limit]
