"""Topic pages: see the neighbourhood's topics, raise one (with a photo), support and
comment."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from linli.errors import LinliError
from linli.uploads import MAX_PHOTO_BYTES
from tenants.pages.help_views import _estate_id, _on
from tenants.pages.views import _not_here, resident_page


@resident_page
def topics(request: HttpRequest) -> HttpResponse:
    from tenants.deliberation.models import Topic

    if not _on(request, "deliberation"):
        return _not_here(request)
    me = request.resident  # type: ignore[attr-defined]
    rows = (
        Topic.objects.filter(estate_id=_estate_id(me), held_for_review=False)
        .exclude(status__in=["rejected", "merged"])
        .order_by("-id")[:30]
    )
    return render(request, "pages/topics.html", {"topics": rows})


@resident_page
def topic_new(request: HttpRequest) -> HttpResponse:
    from tenants.deliberation.services import topic_photo_add, topic_raise

    if not _on(request, "deliberation"):
        return _not_here(request)
    me = request.resident  # type: ignore[attr-defined]
    context: dict[str, Any] = {}
    if request.method == "POST":
        try:
            if me.household_id is None:
                raise LinliError(_("Only residents of an estate can raise a topic here."))
            with transaction.atomic():  # a photo refused leaves no topic behind
                topic = topic_raise(
                    raised_by_id=me.pk,
                    title=(request.POST.get("title") or "")[:200],
                    description=(request.POST.get("description") or "")[:5000],
                    category=(request.POST.get("category") or "facilities")[:64],
                    scope="building",
                    place_id=me.household.unit.building_id,
                )
                photo = request.FILES.get("photo")
                if photo is not None:
                    topic_photo_add(
                        topic_id=topic.pk, kind="problem", content=photo.read(MAX_PHOTO_BYTES + 1)
                    )
        except LinliError as exc:
            context["error"] = exc.message
            context["values"] = request.POST
            return render(request, "pages/topic_new.html", context)
        return HttpResponseRedirect(f"/r/topics/{topic.pk}")
    return render(request, "pages/topic_new.html", context)


@resident_page
def topic(request: HttpRequest, topic_id: int) -> HttpResponse:
    from tenants.deliberation import services
    from tenants.deliberation.models import Topic

    if not _on(request, "deliberation"):
        return _not_here(request)
    me = request.resident  # type: ignore[attr-defined]
    found = Topic.objects.filter(
        pk=topic_id, estate_id=_estate_id(me), held_for_review=False
    ).first()
    if found is None:
        return _not_here(request)
    context: dict[str, Any] = {"topic": found}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "support":
                services.topic_support(topic_id=found.pk, resident_id=me.pk)
            else:
                services.topic_comment(
                    topic_id=found.pk,
                    resident_id=me.pk,
                    body=(request.POST.get("body") or "")[:2000],
                )
        except LinliError as exc:
            context["error"] = exc.message
        else:
            return HttpResponseRedirect(f"/r/topics/{found.pk}")
    context["timeline"] = found.events.order_by("at")
    context["comments"] = (
        found.comments.filter(held_for_review=False).select_related("author").order_by("id")[:50]
    )
    context["supporters"] = found.supports.count()
    return render(request, "pages/topic.html", context)
