from datetime import date, datetime
from typing import Any

from django import template
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import pgettext

from linli import clock
from tenants.shop.models import yuan as to_yuan

register = template.Library()


@register.filter
def yuan(fen: int) -> str:
    return to_yuan(int(fen or 0))


@register.simple_tag(takes_context=True)
def term(context: Any, key: str) -> str:
    """The tenant's own word for ``key`` in the page's language (read once per page)."""
    from tenants.community.selectors import terminology

    cache = context.render_context
    if "linli_terms" not in cache:
        cache["linli_terms"] = terminology()
    labels = cache["linli_terms"]
    language = translation.get_language() or ""
    return str(labels.get(language, {}).get(key) or labels.get("en", {}).get(key) or key)


@register.filter
def topic_status(value: str) -> str:
    """A topic state as residents read it, in their language."""
    from tenants.deliberation.models import Topic

    try:
        return str(Topic.Status(value).label)
    except ValueError:
        return value


def _weekday(day: date) -> str:
    names = [
        pgettext("weekday", "Mon"),
        pgettext("weekday", "Tue"),
        pgettext("weekday", "Wed"),
        pgettext("weekday", "Thu"),
        pgettext("weekday", "Fri"),
        pgettext("weekday", "Sat"),
        pgettext("weekday", "Sun"),
    ]
    return names[day.weekday()]


def _local_day(value: date | datetime) -> date:
    return clock.day_of(value) if isinstance(value, datetime) else value


@register.filter
def day(value: date | datetime | None) -> str:
    """A day as residents read it, ``12-03 周三``, never broken across two lines."""
    if value is None:
        return ""
    local = _local_day(value)
    return format_html(
        '<span class="d">{}-{}&nbsp;{}</span>',
        f"{local.month:02d}",
        f"{local.day:02d}",
        _weekday(local),
    )


@register.filter
def daytext(value: date | datetime | None) -> str:
    """The same day as plain text, where markup cannot go (a select's options)."""
    if value is None:
        return ""
    local = _local_day(value)
    return f"{local.month:02d}-{local.day:02d}\u00a0{_weekday(local)}"


@register.filter
def when(value: datetime | None) -> str:
    """A moment on the tenant's clock, ``12-03 周三 09:00``, on one line."""
    if value is None:
        return ""
    local = clock.day_of(value)
    return format_html(
        '<span class="d">{}-{}&nbsp;{}&nbsp;{}</span>',
        f"{local.month:02d}",
        f"{local.day:02d}",
        _weekday(local),
        clock.hhmm(value),
    )
