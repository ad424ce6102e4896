from typing import Any

from django import template
from django.utils import translation

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
