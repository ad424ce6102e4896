"""Topic pages: see the neighbourhood's topics, raise one (with a photo), support and
comment.

Who sees and does what is ``tenants.deliberation.access``'s, as on the API: a topic the
resident may not see is not found; an action they may not take is refused (403), one the
topic's state refuses is a conflict (409), both on the page with their message.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from linli.errors import LinliError, NotFound
from linli.uploads import MAX_PHOTO_BYTES
from tenants.pages.help_views import _on
from tenants.pages.views import _not_here, resident_page


def _status(exc: LinliError) -> int:
    """Refusals and conflicts keep their status; a form that needs fixing is shown again."""
    return exc.status if exc.status in (403, 409) else 200


@resident_page
def topics(request: HttpRequest) -> HttpResponse:
    from tenants.deliberation import selectors

    if not _on(request, "deliberation"):
        return _not_here(request)
    rows = selectors.topics_recent(actor=request.actor)  # type: ignore[attr-defined]
    return render(request, "pages/topics.html", {"topics": rows})


@resident_page
def topic_new(request: HttpRequest) -> HttpResponse:
    from tenants.deliberation import access, selectors
    from tenants.deliberation.services import topic_photo_add, topic_raise

    if not _on(request, "deliberation"):
        return _not_here(request)
    me = request.actor  # type: ignore[attr-defined]
    context: dict[str, Any] = {}
    if request.method == "POST":
        try:
            building_id = access.home_building(me)
            place = selectors.topic_place(scope="building", place_id=building_id)
            access.may_raise(me, scope="building", place=place)
            with transaction.atomic():  # a photo refused leaves no topic behind
                topic = topic_raise(
                    raised_by_id=access.person_id(me),
                    title=(request.POST.get("title") or "")[:200],
                    description=(request.POST.get("description") or "")[:5000],
                    category=(request.POST.get("category") or "facilities")[:64],
                    scope="building",
                    place_id=building_id,
                )
                photo = request.FILES.get("photo")
                if photo is not None:
                    topic_photo_add(
                        topic_id=topic.pk, kind="problem", content=photo.read(MAX_PHOTO_BYTES + 1)
                    )
        except LinliError as exc:
            context["error"] = exc.message
            context["values"] = request.POST
            return render(request, "pages/topic_new.html", context, status=_status(exc))
        return HttpResponseRedirect(f"/r/topics/{topic.pk}")
    return render(request, "pages/topic_new.html", context)


@resident_page
def topic(request: HttpRequest, topic_id: int) -> HttpResponse:
    from tenants.deliberation import access, services

    if not _on(request, "deliberation"):
        return _not_here(request)
    me = request.actor  # type: ignore[attr-defined]
    try:
        found = access.access_topic(actor=me, topic_id=topic_id)
    except NotFound:
        return _not_here(request)
    context: dict[str, Any] = {"topic": found}
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "support":
                access.may_support(me, found)
                services.topic_support(topic_id=found.pk, resident_id=access.person_id(me))
            else:
                access.may_comment(me, found)
                services.topic_comment(
                    topic_id=found.pk,
                    resident_id=access.person_id(me),
                    body=(request.POST.get("body") or "")[:2000],
                )
        except LinliError as exc:
            context["error"] = exc.message
            status = _status(exc)
        else:
            return HttpResponseRedirect(f"/r/topics/{found.pk}")
    context["timeline"] = found.events.order_by("at")
    context["comments"] = (
        access.comments_visible(me, found).select_related("author").order_by("id")[:50]
    )
    context["supporters"] = found.supports.count()
    context["photos"] = list(found.photos.all()[:6])
    # Supporting one's own topic is refused by the deliberation rules' owner; until its
    # access check says so, the page does not offer it.
    context["own"] = me.is_self(found.raised_by_id)
    return render(request, "pages/topic.html", context, status=status)
