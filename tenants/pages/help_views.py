"""Help and activities pages: ask for help in three taps, follow and confirm it;
volunteers claim nearby requests; sign up for activities."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.errors import LinliError
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


@resident_page
def help_home(request: HttpRequest) -> HttpResponse:
    from tenants.helpteam.models import HelpRequest, Volunteer

    if not _on(request, "helpteam"):
        return _not_here(request)
    me = request.resident  # type: ignore[attr-defined]
    volunteer = Volunteer.objects.filter(resident=me, status="active").first()
    context: dict[str, Any] = {
        "mine": HelpRequest.objects.filter(requester=me).order_by("-id")[:10],
        "volunteer": volunteer,
    }
    if volunteer is not None:
        context["claimed"] = HelpRequest.objects.filter(
            claimed_by=volunteer, status__in=["claimed", "in_progress"]
        ).order_by("window_start")
        context["nearby"] = (
            HelpRequest.objects.filter(
                status="open",
                household__unit__building__estate_id=_estate_id(me),
                window_end__gt=timezone.now(),
            )
            .exclude(requester=me)
            .order_by("window_start")[:20]
        )
    return render(request, "pages/help.html", context)


@resident_page
def help_ask(request: HttpRequest) -> HttpResponse:
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
                raise LinliError(_("Choose when you need help."))
            day = timezone.localdate() + timedelta(days=slot[3])
            start = timezone.make_aware(datetime.combine(day, time(slot[2])))
            start = max(start, timezone.now() + timedelta(minutes=5))
            created = request_create(
                requester_id=request.resident.pk,  # type: ignore[attr-defined]
                category=chosen.code,
                description=(request.POST.get("note") or "").strip()[:2000] or str(chosen.name),
                window_start=start,
                window_end=start + timedelta(hours=3),
            )
        except LinliError as exc:
            context["error"] = exc.message
            return render(request, "pages/help_ask.html", context)
        return HttpResponseRedirect(f"/r/help/{created.pk}")
    return render(request, "pages/help_ask.html", context)


@resident_page
def help_request(request: HttpRequest, request_id: int) -> HttpResponse:
    from tenants.helpteam import services
    from tenants.helpteam.models import HelpRequest

    if not _on(request, "helpteam"):
        return _not_here(request)
    me = request.resident  # type: ignore[attr-defined]
    found = HelpRequest.objects.select_related("claimed_by__resident").filter(pk=request_id).first()
    if found is None:
        return _not_here(request)
    mine = found.requester_id == me.pk
    claimer = found.claimed_by is not None and found.claimed_by.resident_id == me.pk
    household = found.household
    nearby = (
        found.status == "open"
        and household is not None
        and household.unit.building.estate_id == _estate_id(me)
    )
    if not (mine or claimer or nearby):
        return _not_here(request)
    context: dict[str, Any] = {"r": found, "mine": mine, "claimer": claimer}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "claim":
                services.request_claim(request_id=found.pk, volunteer_resident_id=me.pk)
            elif action == "done" and claimer:
                services.request_done(request_id=found.pk, volunteer_resident_id=me.pk)
            elif action == "confirm" and mine:
                try:
                    hours = Decimal(request.POST.get("hours") or "1")
                except InvalidOperation as exc:
                    raise LinliError(_("Hours are a number, like 1 or 1.5.")) from exc
                services.request_confirm(
                    request_id=found.pk, hours=hours, by_resident_id=me.pk, as_leader=False
                )
            elif action == "cancel" and mine:
                services.request_cancel(request_id=found.pk, by_resident_id=me.pk, as_leader=False)
            else:
                raise LinliError(_("That cannot be done here."))
        except LinliError as exc:
            context["error"] = exc.message
            return render(request, "pages/help_request.html", context)
        return HttpResponseRedirect(f"/r/help/{found.pk}")
    return render(request, "pages/help_request.html", context)


@resident_page
def activities(request: HttpRequest) -> HttpResponse:
    from tenants.helpteam.models import Activity, Signup
    from tenants.helpteam.services import activity_signup

    if not _on(request, "helpteam"):
        return _not_here(request)
    me = request.resident  # type: ignore[attr-defined]
    context: dict[str, Any] = {}
    if request.method == "POST":
        try:
            raw = request.POST.get("activity") or ""
            if not raw.isdigit():
                raise LinliError(_("Choose an activity."))
            signup = activity_signup(activity_id=int(raw), resident_id=me.pk)
            context["signed"] = signup
        except LinliError as exc:
            context["error"] = exc.message
    context["activities"] = Activity.objects.filter(
        estate_id=_estate_id(me), cancelled=False, starts_at__gt=timezone.now()
    ).order_by("starts_at")[:20]
    context["mine"] = set(
        Signup.objects.filter(resident=me)
        .exclude(status="cancelled")
        .values_list("activity_id", flat=True)
    )
    return render(request, "pages/activities.html", context)
