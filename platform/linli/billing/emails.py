"""Billing emails to a tenant's admins, in the tenant's language.

Each letter is a plain-text template per language
(``billing/email/<kind>.<language>.txt``: the first line is the subject, the rest the
body), so a translator works on whole letters rather than on sentences out of context.
A language without its own letter falls back to the platform's default language, then
English. Dates are shown in the tenant's time zone.

The recipients are found inside the tenant's schema: its active staff with an email
address who are superusers or hold the district-admin role. Mail goes out when the
surrounding transaction commits, so a rolled-back event sends nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone, translation

from linli.registry.context import tenant_zone, within
from linli.registry.models import Tenant

TRIAL_ENDING = "trial_ending"
PAYMENT_FAILED = "payment_failed"
SUSPENDED = "suspended"
REACTIVATED = "reactivated"
CLOSED = "closed"
REOPENED = "reopened"
KINDS = (TRIAL_ENDING, PAYMENT_FAILED, SUSPENDED, REACTIVATED, CLOSED, REOPENED)


def tenant_admin_emails(tenant: Tenant) -> list[str]:
    """The email addresses of the tenant's district admins (superusers included)."""
    from tenants.community.staff import is_district_admin

    with within(tenant):
        staff = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
        return sorted({user.email for user in staff.order_by("pk") if is_district_admin(user)})


def _template(kind: str, language: str) -> Any:
    for candidate in dict.fromkeys([language, settings.LANGUAGE_CODE, "en"]):
        try:
            return get_template(f"billing/email/{kind}.{candidate}.txt"), candidate
        except TemplateDoesNotExist:
            continue
    raise TemplateDoesNotExist(f"billing/email/{kind}.en.txt")


def billing_email_render(*, tenant: Tenant, kind: str, context: dict[str, Any]) -> tuple[str, str]:
    """The subject and body of one letter to ``tenant``'s admins."""
    if kind not in KINDS:
        raise ValueError(f"unknown billing email {kind!r}")
    template, language = _template(kind, tenant.locale)
    domain = tenant.domains.filter(is_primary=True).values_list("domain", flat=True).first()
    scheme = "http" if settings.DEBUG else "https"
    billing_url = f"{scheme}://{domain}/admin/billing/" if domain else ""
    with timezone.override(tenant_zone(tenant)), translation.override(language):
        text = template.render({**context, "tenant": tenant, "billing_url": billing_url})
    subject, _sep, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"


def billing_email_send(*, tenant: Tenant, kind: str, context: dict[str, Any]) -> int:
    """Queue the letter to each admin for when the transaction commits; returns how many."""
    recipients = tenant_admin_emails(tenant)
    if not recipients:
        return 0
    subject, body = billing_email_render(tenant=tenant, kind=kind, context=context)
    messages = tuple((subject, body, None, [email]) for email in recipients)
    transaction.on_commit(lambda: send_mass_mail(messages))
    return len(messages)
