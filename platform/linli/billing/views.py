"""Billing pages in the admins: a district's plan, invoices and payment links (tenant
admin, district admins only), and every tenant's billing at a glance (platform staff).
Both answer 404 when billing is off (self-hosted)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from linli.billing import selectors, services
from linli.billing.client import billing_enabled
from linli.billing.models import BillingAccount
from linli.errors import LinliError
from linli.http import absolute_url
from linli.registry.context import tenant_zone

# Yuan as each language writes them; other currencies as the language's CLDR data does.
_YUAN = {"zh-hans": "¥{n}", "zh-hant": "{n} 元", "en": "CNY {n}"}


def money(amount: int, currency: str, language: str | None = None) -> str:
    """An amount in the smallest unit (fen, cents), for a reader of ``language`` (the
    active one by default): ¥425.00 in Simplified Chinese, 425.00 元 in Traditional,
    CNY 425.00 in English."""
    language = (language or translation.get_language() or "en").lower()
    sign = "-" if amount < 0 else ""
    whole = abs(amount)
    number = f"{whole // 100:,}.{whole % 100:02d}"
    if currency.lower() == "cny":
        pattern = _YUAN.get(language) or _YUAN.get(language.split("-")[0], _YUAN["en"])
        return sign + pattern.format(n=number)
    from decimal import Decimal

    from babel.numbers import format_currency

    locale = {"zh-hans": "zh_Hans_CN", "zh-hant": "zh_Hant_TW"}.get(language, "en")
    return str(format_currency(Decimal(amount) / 100, currency.upper(), locale=locale))


def _may_manage_billing(request: HttpRequest) -> bool:
    from tenants.community.staff import is_district_admin

    return bool(request.user.is_active and is_district_admin(request.user))


# The payment buttons are GET forms carrying a signed token bound to the tenant, the admin
# and the action, valid for an hour: they work while the tenant is suspended, when its
# admin accepts no POST at all (only reads), and no other site can make an admin press them.
PAY_ACTIONS = ("checkout", "portal")
PAY_SALT = "linli.billing.pay"
PAY_BUTTON_SECONDS = 3600


def _pay_token(request: HttpRequest, action: str) -> str:
    tenant = request.tenant  # type: ignore[attr-defined]
    return signing.dumps([tenant.pk, request.user.pk, action], salt=PAY_SALT)


def _pay_token_valid(request: HttpRequest, action: str, token: str) -> bool:
    tenant = request.tenant  # type: ignore[attr-defined]
    try:
        value = signing.loads(token, salt=PAY_SALT, max_age=PAY_BUTTON_SECONDS)
    except signing.BadSignature:
        return False
    return bool(value == [tenant.pk, request.user.pk, action])


def _buttons(request: HttpRequest, situation: selectors.Situation) -> list[dict[str, Any]]:
    if not situation.may_pay:
        return []
    if situation.pay_first:
        labels = [
            ("checkout", _("Add a payment method"), "credit_card", "primary"),
            ("portal", _("Pay or manage billing in Stripe"), "open_in_new", "default"),
        ]
    else:
        labels = [
            ("portal", _("Manage billing in Stripe"), "open_in_new", "primary"),
            ("checkout", _("Use another payment method"), "credit_card", "default"),
        ]
    return [
        {
            "action": action,
            "label": label,
            "icon": icon,
            "variant": variant,
            "token": _pay_token(request, action),
        }
        for action, label, icon, variant in labels
    ]


INVOICE_STATUSES = {
    "draft": _lazy("Draft"),
    "open": _lazy("Open"),
    "paid": _lazy("Paid"),
    "uncollectible": _lazy("Uncollectible"),
    "void": _lazy("Void"),
}


def _moment(moment: datetime | None, tenant: Any) -> str:
    """A moment on a district's page: its date and time in the tenant's zone, named."""
    if moment is None:
        return ""
    local = timezone.localtime(moment, tenant_zone(tenant))
    return f"{date_format(local, 'DATETIME_FORMAT')} ({tenant.time_zone})"


def _pay(request: HttpRequest, tenant: Any, action: str) -> HttpResponse:
    """Send the admin to Stripe: Checkout (to add a payment method) or the Portal."""
    here = absolute_url(request, request.path)
    if action == "checkout":
        return HttpResponseRedirect(
            services.checkout_url(tenant=tenant, success_url=f"{here}?added=1", cancel_url=here)
        )
    return HttpResponseRedirect(services.portal_url(tenant=tenant, return_url=here))


def tenant_billing_view(site: Any, request: HttpRequest) -> HttpResponse:
    if not billing_enabled():
        raise Http404("Billing is off.")
    if not _may_manage_billing(request):
        raise PermissionDenied
    tenant = request.tenant  # type: ignore[attr-defined]
    account = BillingAccount.objects.filter(tenant=tenant).first()
    situation = selectors.billing_situation(tenant=tenant, account=account)
    reads = selectors.StripeReads()
    error, error_status = "", 400
    if request.method == "POST":
        action: str | None = request.POST.get("action", "")
    else:
        action = request.GET.get("pay")
    if action is not None:
        if not situation.may_pay:
            raise PermissionDenied
        if action not in PAY_ACTIONS:
            error = _("Choose what to do.")
        elif request.method != "POST" and not _pay_token_valid(
            request, action, request.GET.get("token", "")
        ):
            error = _("This button has expired; use the button on this page again.")
        else:
            try:
                return _pay(request, tenant, action)
            except services.BillingUnavailable as exc:
                error, error_status = exc.message, exc.status
                reads.down = True  # Stripe was just waited for: do not wait again
            except LinliError as exc:
                error, error_status = exc.message, exc.status
    currency = account.currency if account else "cny"
    lines = selectors.plan_lines(tenant)
    held = selectors.subscription_lines(account, reads) if account else []
    upcoming = selectors.next_invoice(account, reads) if account else None
    invoices = selectors.invoices(account, reads) if account else []
    context = {
        **site.each_context(request),
        "title": _("Billing"),
        "account": account,
        "situation": situation,
        "buttons": _buttons(request, situation),
        "lines": [(line.name, money(line.amount, currency), line.metered) for line in lines],
        "total": money(selectors.plan_total(lines), currency),
        "held": None
        if held is None
        else [(line.name, money(line.amount, currency), line.metered) for line in held],
        "held_total": money(selectors.plan_total(held or []), currency),
        "differs": selectors.plan_differs(tenant, account, held),
        "upcoming": upcoming
        and {**upcoming, "amount": money(upcoming["amount_due"], upcoming["currency"])},
        "invoices": None
        if invoices is None
        else [
            {
                **i,
                "amount": money(i["amount_due"], i["currency"]),
                "status_label": INVOICE_STATUSES.get(i["status"], i["status"]),
            }
            for i in invoices
        ],
        "until": _moment(situation.until, tenant),
        "added": request.GET.get("added") == "1",
        "error": error,
        "stripe_down": reads.down,
        "zone": tenant.time_zone,
    }
    status = error_status if error else 200
    response = TemplateResponse(request, "admin/billing/tenant.html", context, status=status)
    with timezone.override(tenant_zone(tenant)):  # the district's page: its own clock
        response.render()
    return response


def ops_billing_view(site: Any, request: HttpRequest) -> HttpResponse:
    if not billing_enabled():
        raise Http404("Billing is off.")
    if not (request.user.is_active and request.user.is_staff):
        raise PermissionDenied
    overview = selectors.ops_overview()
    context = {
        **site.each_context(request),
        "title": _("Billing overview"),
        "overview": overview,
        "mrr": money(overview.mrr, overview.currency),
        "rows": [
            {
                "account": a,
                "slug": a.tenant.schema_name if a.tenant else a.tenant_slug,
                "amount": money(a.monthly_amount, a.currency),
            }
            for a in overview.accounts
        ],
    }
    response = TemplateResponse(request, "admin/billing/overview.html", context)
    with timezone.override(UTC):  # the platform's pages: UTC, and they say so
        response.render()
    return response
