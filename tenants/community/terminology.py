"""Labels residents see, which each tenant may rename per language."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

DEFAULT_TERMS = {
    "estate": _("estate"),
    "building": _("building"),
    "unit": _("unit"),
    "household": _("household"),
    "resident": _("resident"),
    "help_team": _("help team"),
    "neighbourhood_council": _("neighbourhood council"),
    "shop": _("neighbourhood shop"),
    "points": _("service points"),
}


def terminology_defaults() -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            result[language] = {key: str(label) for key, label in DEFAULT_TERMS.items()}
    return result
