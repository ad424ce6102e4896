"""Help and activities pages: ask for help in three taps, follow and confirm it;
volunteers claim nearby requests; sign up for activities.

Who sees and does what is ``tenants.helpteam.access``'s to say, as on the API: a page looks
the request up through it (404, the same as missing) and calls the same services, which run
the same checks; a refusal is shown with its status (403, 409, 422) and its code.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli import clock
from linli.errors import LinliError, NotFound, ValidationFailed
from tenants.pages.views import _not_here, resident_page

# Three taps: what, when, send. The "when" choices, as (key, label, start hour, day offset).
WHEN = [
    ("today_pm", gettext_lazy("This afternoon"), 14, 0),
    ("today_eve", gettext_lazy("This evening"), 18, 0),
    ("tomorrow_am", gettext_lazy("Tomorrow morning"), 9, 1),
    ("tomorrow_pm", gettext_lazy("Tomorrow afternoon"), 14, 1),
]


def _on(request: HttpRequest, module: str) -> bool:
    return module in request.tenant.enabled_modules  # type: ignore[attr-defined]


def _estate_id(resident: Any) -> int:
    """The resident's estate (0, which matches nothing, for a resident without a home)."""
    if resident.household_id is None:
        return 0
    return int(resident.household.unit.building.estate_id)


def _refused(exc: LinliError) -> dict[str, Any]:
    return {"error": exc.message, "error_code": exc.code}


@resident_page
def help_home(request: HttpRequest) -> HttpResponse:
    from tenants.helpteam import access
    from tenants.helpteam.selectors import help_requests_recent

    if not _on(request, "helpteam"):
        return _not_here(request)
    me = request.actor  # type: ignore[attr-defined]
    volunteer = access.volunteer_of(me)
    if volunteer is not None and volunteer.status != volunteer.Status.ACTIVE:
        volunteer = None
    context: dict[str, Any] = {
        "mine": help_requests_recent(access.help_requests_asked(me), limit=10),
        "volunteer": volunteer,
    }
    if volunteer is not None:
        context["claimed"] = access.help_requests_helping(me).order_by("window_start")
        context["nearby"] = access.help_requests_nearby(me).order_by("window_start")[:20]
    return render(request, "pages/help.html", context)


@resident_page
def help_ask(request: HttpRequest) -> HttpResponse:
    from tenants.helpteam.access import may_ask
    from tenants.helpteam.models import Skill
    from tenants.helpteam.services import request_create

    if not _on(request, "helpteam"):
        return _not_here(request)
    skills = list(Skill.objects.order_by("name"))
    category = request.GET.get("what") or request.POST.get("what")
    chosen = next((s for s in skills if s.code == category), None)
    context: dict[str, Any] = {"skills": skills, "chosen": chosen, "when": WHEN}
    if request.method == "POST" and chosen is not None:
        key = request.POST.get("when")
        slot = next((w for w in WHEN if w[0] == key), None)
        try:
            if slot is None:
                raise ValidationFailed(_("Choose when you need help."), code="when_required")
            day = clock.today() + timedelta(days=slot[3])
            start = clock.at(day, time(slot[2]))
            start = max(start, timezone.now() + timedelta(minutes=5))
            asking = may_ask(request.actor)  # type: ignore[attr-defined]
            created = request_create(
                **asdict(asking),
                category=chosen.code,
                description=(request.POST.get("note") or "").strip()[:2000] or str(chosen.name),
                window_start=start,
                window_end=start + timedelta(hours=3),
            )
        except LinliError as exc:
            context.update(_refused(exc))
            return render(request, "pages/help_ask.html", context, status=exc.status)
        return HttpResponseRedirect(f"/r/help/{created.pk}")
    return render(request, "pages/help_ask.html", context)


@resident_page
def help_request(request: HttpRequest, request_id: int) -> HttpResponse:
    from tenants.helpteam import access

    if not _on(request, "helpteam"):
        return _not_here(request)
    me = request.actor  # type: ignore[attr-defined]
    action = request.POST.get("action") if request.method == "POST" else None
    # A claim looks the request up as a claim does: one a neighbour claimed first is a 409.
    lookup = (
        access.access_help_request_to_claim if action == "claim" else access.access_help_request
    )
    try:
        found = lookup(actor=me, help_request_id=request_id)
    except NotFound:
        return _not_here(request)
    if action is not None:
        try:
            _act(me, found, action, request.POST.get("hours"))
        except LinliError as exc:
            # a refused claim shows no more than the volunteer saw while the request was open
            shown = _help_request_page(me, found) if action != "claim" else {}
            context = {**shown, **_refused(exc)}
            return render(request, "pages/help_request.html", context, status=exc.status)
        return HttpResponseRedirect(f"/r/help/{found.pk}")
    return render(request, "pages/help_request.html", _help_request_page(me, found))


def _help_request_page(me: Any, found: Any) -> dict[str, Any]:
    from tenants.helpteam import access

    allowed = access.help_request_actions(me, found)
    # Work is marked done once its window has opened (the service refuses it before: 409
    # window_not_started), so the page does not offer it until then, and says when.
    done_later = "done" in allowed and timezone.now() < found.window_start
    if done_later:
        allowed -= {"done"}
    return {
        "r": found,
        "allowed": allowed,
        "done_later": done_later,
        "category": _category_label(found.category),
    }


def _category_label(code: str) -> str:
    """The tenant's word for a help category in the page's language, not its code."""
    from tenants.helpteam.models import Skill
    from tenants.helpteam.selectors import help_categories

    labels = help_categories(Skill.objects.filter(code=code))
    return labels[0].label if labels else code


def _act(me: Any, found: Any, action: str, hours: str | None) -> None:
    """One step on the request, as the signed-in resident (the services check who may)."""
    from tenants.helpteam import services

    if action == "claim":
        services.request_claim(request_id=found.pk, volunteer_resident_id=me.resident_id)
    elif action == "done":
        services.request_done(request_id=found.pk, volunteer_resident_id=me.resident_id)
    elif action == "confirm":
        try:
            given = Decimal(hours or "1")
        except InvalidOperation as exc:
            raise ValidationFailed(
                _("Hours are a number, like 1 or 1.5."), code="hours_invalid", field="hours"
            ) from exc
        services.request_confirm(request_id=found.pk, hours=given, actor=me)
    elif action == "cancel":
        services.request_cancel(request_id=found.pk, actor=me)
    else:
        raise LinliError(_("That cannot be done here."), code="action_unknown")


@resident_page
def activities(request: HttpRequest) -> HttpResponse:
    from tenants.helpteam import access, selectors
    from tenants.helpteam.services import activity_signup

    if not _on(request, "helpteam"):
        return _not_here(request)
    me = request.actor  # type: ignore[attr-defined]
    context: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        try:
            raw = request.POST.get("activity") or ""
            if not raw.isdigit():
                raise ValidationFailed(_("Choose an activity."), code="activity_required")
            activity = access.access_activity(actor=me, activity_id=int(raw))
            context["signed"] = activity_signup(activity_id=activity.pk, resident_id=me.resident_id)
        except LinliError as exc:
            context.update(_refused(exc))
            status = exc.status
    context["activities"] = selectors.activities_upcoming(access.activities_visible(me))
    context["mine"] = set(access.activities_signed_up(me).values_list("activity_id", flat=True))
    return render(request, "pages/activities.html", context, status=status)
