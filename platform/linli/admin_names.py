"""Names the admin shows for fields and models that were never given one of their own.

Django names such a field after its attribute (``household`` shows “Household”) and such a
model after its class (“action items”): English in every language. Here each gets a lazy
name looked up in the catalogue instead (the msgid is the English name Django would show,
listed in ``linli.admin_strings`` so that makemessages keeps it). Migrations record only
the names a model declares (``Field._verbose_name``, ``Options.original_attrs``), so this
changes no migration. A model that declares its own names keeps them.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# The job queue's app shows under this name instead of “Procrastinate”.
APP_NAMES = {"procrastinate": _("Background jobs")}


def _translated(english: str) -> str:
    return gettext(english)


_named = lazy(_translated, str)


def field_default_name(field: Any) -> str | None:
    """The English label Django shows for a field without a verbose name (None if it has one)."""
    if not getattr(field, "concrete", False) or getattr(field, "_verbose_name", True) is not None:
        return None
    return capfirst(field.name.replace("_", " "))


def model_default_names(model: Any) -> tuple[str | None, str | None]:
    """The English singular and plural Django derives for a model that declares neither."""
    options = model._meta
    singular = None if "verbose_name" in options.original_attrs else str(options.verbose_name)
    plural = (
        None
        if "verbose_name_plural" in options.original_attrs
        else str(options.verbose_name_plural)
    )
    return singular, plural


def names_translate() -> None:
    """Give every unnamed field and model its catalogue name (run once, at start-up)."""
    for label, name in APP_NAMES.items():
        if label in apps.app_configs:
            apps.get_app_config(label).verbose_name = name
    for model in apps.get_models():
        singular, plural = model_default_names(model)
        if singular is not None:
            model._meta.verbose_name = _named(singular)
        if plural is not None:
            model._meta.verbose_name_plural = _named(plural)
        for field in model._meta.get_fields():
            english = field_default_name(field)
            if english is not None:
                field.verbose_name = _named(english)  # type: ignore[union-attr]
