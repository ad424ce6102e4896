"""What a tenant's slug (its schema name and subdomain) may be."""

from __future__ import annotations

import re
import zoneinfo

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.errors import ValidationFailed

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED_SLUGS = frozenset(
    {
        "public",
        "information_schema",
        "template",
        "linli",
        "www",
        "api",
        "admin",
        "ops",
        "static",
        "media",
        "mail",
        "docs",
        "status",
        "help",
        "signup",
        "billing",
        "localhost",
    }
)


# The host label is the slug with hyphens for underscores, so what a DNS label may not be
# (RFC 1035, RFC 5891 section 4.2.3.1) rules out slugs too.
SLUG_ENDS_WITH_UNDERSCORE = gettext_lazy(
    "A tenant slug may not end with an underscore: its web address would end with a hyphen."
)
SLUG_PUNYCODE = gettext_lazy(
    "A tenant slug may not start with “xn__”: its web address would be read as an "
    "internationalised (punycode) name."
)
SLUG_IDNA_FORM = gettext_lazy(
    "A tenant slug may not have two underscores as its third and fourth characters: that "
    "form of web address is reserved."
)


def validate_slug(slug: str) -> str:
    """Return the slug if it can name a tenant's schema and subdomain, else raise."""
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise ValidationFailed(
            _(
                "A tenant slug must be 2 to 40 characters: lowercase letters, digits and "
                "underscores, starting with a letter."
            ),
            code="slug_invalid",
            field="slug",
        )
    if slug.endswith("_"):
        raise ValidationFailed(
            str(SLUG_ENDS_WITH_UNDERSCORE), code="slug_ends_with_underscore", field="slug"
        )
    if slug[2:4] == "__":
        if slug.startswith("xn"):
            raise ValidationFailed(str(SLUG_PUNYCODE), code="slug_punycode", field="slug")
        raise ValidationFailed(str(SLUG_IDNA_FORM), code="slug_idna_form", field="slug")
    if slug.startswith("pg_") or slug in RESERVED_SLUGS:
        raise ValidationFailed(
            _("The slug “%(slug)s” is reserved; choose another.") % {"slug": slug},
            code="slug_reserved",
            field="slug",
        )
    return slug


def slug_to_host_label(slug: str) -> str:
    """Underscores are not valid in host names, so the subdomain uses hyphens (a valid slug
    gives a valid DNS label: no hyphen at either end, none in the third and fourth place)."""
    return slug.replace("_", "-")


def validate_locale(locale: str) -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    if locale not in codes:
        raise ValidationFailed(
            _("Unknown language “%(locale)s”; choose one of: %(codes)s.")
            % {"locale": locale, "codes": ", ".join(codes)},
            code="locale_invalid",
            field="locale",
        )
    return locale


def validate_time_zone(time_zone: str) -> str:
    if time_zone not in zoneinfo.available_timezones():
        raise ValidationFailed(
            _("Unknown time zone “%(tz)s”; use an IANA name such as Asia/Shanghai.")
            % {"tz": time_zone},
            code="time_zone_invalid",
            field="time_zone",
        )
    return time_zone


def validate_currency(currency: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", currency or ""):
        raise ValidationFailed(
            _("A currency is a three-letter ISO 4217 code such as CNY."),
            code="currency_invalid",
            field="currency",
        )
    return currency
