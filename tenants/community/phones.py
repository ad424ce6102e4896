"""Phone numbers: stored in E.164, shown masked to those without personal-data access."""

from __future__ import annotations

import phonenumbers
from django.utils.translation import gettext as _

from linli.errors import ValidationFailed

DEFAULT_REGION = "CN"


def normalise_phone(raw: str | None, *, region: str = DEFAULT_REGION) -> str | None:
    """``138 1234 5678`` → ``+8613812345678``; empty → None; nonsense → a clear error."""
    if raw is None or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(
            _("“%(phone)s” is not a phone number.") % {"phone": raw},
            code="phone_invalid",
            field="phone",
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(
            _("“%(phone)s” is not a valid phone number.") % {"phone": raw},
            code="phone_invalid",
            field="phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str | None) -> str | None:
    """``+8613812341234`` → ``138****1234``: enough to recognise, not to call."""
    if not e164:
        return e164
    try:
        national = str(phonenumbers.parse(e164).national_number)
    except phonenumbers.NumberParseException:
        national = e164.lstrip("+")
    if len(national) <= 7:
        return national[:2] + "*" * (len(national) - 2)
    return national[:3] + "*" * (len(national) - 7) + national[-4:]


def mask_name(name: str) -> str:
    """``張小明`` → ``張**``; ``Li`` → ``L*``."""
    name = name.strip()
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)
