"""Billing pages in the admins: a district's plan, invoices and payment links (tenant
admin, district admins only), and every tenant's billing at a glance (platform staff).
Both answer 404 when billing is off (self-hosted)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from linli.billing import selectors, services
from linli.billing.client import billing_enabled
from linli.billing.models import BillingAccount
from linli.errors import LinliError
from linli.http import absolute_url


def money(amount: int, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    return f"{sign}{currency.upper()} {amount // 100:,}.{amount % 100:02d}"


def _may_manage_billing(request: HttpRequest) -> bool:
    from tenants.community.staff import is_district_admin

    return bool(request.user.is_active and is_district_admin(request.user))


def tenant_billing_view(site: Any, request: HttpRequest) -> HttpResponse:
    if not billing_enabled():
        raise Http404("Billing is off.")
    if not _may_manage_billing(request):
        raise PermissionDenied
    tenant = request.tenant  # type: ignore[attr-defined]
    account = BillingAccount.objects.filter(tenant=tenant).first()
    error, error_status = "", 400
    reads = selectors.StripeReads()
    if request.method == "POST":
        here = absolute_url(request, request.path)
        try:
            if request.POST.get("action") == "checkout":
                return HttpResponseRedirect(
                    services.checkout_url(
                        tenant=tenant, success_url=f"{here}?added=1", cancel_url=here
                    )
                )
            if request.POST.get("action") == "portal":
                return HttpResponseRedirect(services.portal_url(tenant=tenant, return_url=here))
            error = _("Choose what to do.")
        except services.BillingUnavailable as exc:
            error, error_status = exc.message, exc.status
            reads.down = True  # Stripe was just waited for: do not wait again
        except LinliError as exc:
            error, error_status = exc.message, exc.status
    currency = account.currency if account else "cny"
    lines = selectors.plan_lines(tenant)
    upcoming = selectors.next_invoice(account, reads) if account else None
    invoices = selectors.invoices(account, reads) if account else []
    context = {
        **site.each_context(request),
        "title": _("Billing"),
        "account": account,
        "lines": [(line.name, money(line.amount, currency)) for line in lines],
        "total": money(sum(line.amount for line in lines), currency),
        "upcoming": upcoming
        and {**upcoming, "amount": money(upcoming["amount_due"], upcoming["currency"])},
        "invoices": None
        if invoices is None
        else [{**i, "amount": money(i["amount_due"], i["currency"])} for i in invoices],
        "added": request.GET.get("added") == "1",
        "error": error,
        "stripe_down": reads.down,
    }
    status = error_status if error else 200
    return TemplateResponse(request, "admin/billing/tenant.html", context, status=status)


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
            {"account": a, "amount": money(a.monthly_amount, a.currency)} for a in overview.accounts
        ],
    }
    return TemplateResponse(request, "admin/billing/overview.html", context)
