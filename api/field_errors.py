"""Field errors in the caller's language: pydantic's messages are English only, so each
error is told again from its ``type`` and ``ctx`` (a Chinese integrator reads Chinese,
as every other message of the API). A type not listed here keeps a general message."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


def _messages() -> dict[str, str]:
    return {
        "missing": _("This field is required."),
        "extra_forbidden": _("This field is not one this request takes."),
        "string_type": _("Send text here."),
        "string_too_short": _("Send at least %(min_length)s characters."),
        "string_too_long": _("Send at most %(max_length)s characters."),
        "string_pattern_mismatch": _("This text is not in the expected form."),
        "string_unicode": _("This text is not valid Unicode."),
        "int_type": _("Send a whole number here."),
        "int_parsing": _("Send a whole number here."),
        "int_from_float": _("Send a whole number here."),
        "float_type": _("Send a number here."),
        "float_parsing": _("Send a number here."),
        "finite_number": _("Send a finite number here."),
        "decimal_type": _("Send a number here."),
        "decimal_parsing": _("Send a number here."),
        "decimal_max_digits": _("Send at most %(max_digits)s digits."),
        "decimal_max_places": _("Send at most %(decimal_places)s decimal places."),
        "bool_type": _("Send true or false here."),
        "bool_parsing": _("Send true or false here."),
        "greater_than": _("Send a value greater than %(gt)s."),
        "greater_than_equal": _("Send a value of at least %(ge)s."),
        "less_than": _("Send a value less than %(lt)s."),
        "less_than_equal": _("Send a value of at most %(le)s."),
        "multiple_of": _("Send a multiple of %(multiple_of)s."),
        "enum": _("Send one of %(expected)s."),
        "literal_error": _("Send one of %(expected)s."),
        "list_type": _("Send a list here."),
        "tuple_type": _("Send a list here."),
        "set_type": _("Send a list here."),
        "too_short": _("Send at least %(min_length)s items."),
        "too_long": _("Send at most %(max_length)s items."),
        "dict_type": _("Send an object here."),
        "model_type": _("Send an object here."),
        "model_attributes_type": _("Send an object here."),
        "date_type": _("Send a date (YYYY-MM-DD) here."),
        "date_parsing": _("Send a date (YYYY-MM-DD) here."),
        "date_from_datetime_parsing": _("Send a date (YYYY-MM-DD) here."),
        "date_from_datetime_inexact": _("Send a date without a time of day."),
        "date_past": _("Send a date in the past."),
        "date_future": _("Send a date in the future."),
        "datetime_type": _("Send a date and time (ISO 8601) here."),
        "datetime_parsing": _("Send a date and time (ISO 8601) here."),
        "datetime_from_date_parsing": _("Send a date and time (ISO 8601) here."),
        "datetime_past": _("Send a time in the past."),
        "datetime_future": _("Send a time in the future."),
        "timezone_aware": _("Send a time with its offset from UTC (e.g. +08:00)."),
        "timezone_naive": _("Send a time without an offset."),
        "time_type": _("Send a time of day (HH:MM) here."),
        "time_parsing": _("Send a time of day (HH:MM) here."),
        "uuid_type": _("Send a UUID here."),
        "uuid_parsing": _("Send a UUID here."),
        "url_type": _("Send a web address here."),
        "url_parsing": _("Send a web address here."),
        "url_scheme": _("Send a web address that starts with %(expected_schemes)s."),
        "json_invalid": _("The request body is not valid JSON."),
        "json_type": _("Send JSON here."),
        "none_required": _("Leave this field empty."),
        "union_tag_invalid": _("Send one of %(expected_tags)s as %(discriminator)s."),
        "union_tag_not_found": _("Say which kind this is with %(discriminator)s."),
    }


def field_message(error: dict[str, Any]) -> str:
    """One pydantic error, told in the active language."""
    kind = str(error.get("type", ""))
    if kind in ("value_error", "assertion_error"):
        # Raised by Linli's own validators, in the active language already.
        message = str(error.get("msg", ""))
        for prefix in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(prefix)
        return message
    template = _messages().get(kind)
    if template is None:
        return _("This value is not valid.")
    context = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    try:
        return template % context
    except (KeyError, TypeError, ValueError):
        return _("This value is not valid.")
