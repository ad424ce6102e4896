"""The points ledger in the tenant admin: read-only books, adjustments and reversals with a
reason (through the services, so they are audited), and the reports with a monthly chart."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.widgets import UnfoldAdminIntegerFieldWidget, UnfoldAdminTextInputWidget

from linli.admin_base import ModelAdmin, TabularInline
from linli.errors import LinliError
from tenants.community.access import NotAllowed
from tenants.community.actor import request_actor
from tenants.points import access, selectors, services
from tenants.points.models import Account, Posting, Transaction


class LedgerAdmin(ModelAdmin):
    """The books' keepers only (``tenants.points.access``); nothing is added, changed or
    deleted here directly."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return access.keeps_books(request_actor(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return access.keeps_books(request_actor(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _guard(self, request: HttpRequest) -> None:
        if not access.keeps_books(request_actor(request)):
            raise PermissionDenied


def _refused(check: Any, *args: Any) -> None:
    """An access rule's refusal as the admin shows it: a 403 page."""
    try:
        check(*args)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc


class AdjustForm(forms.Form):
    amount = forms.IntegerField(
        label=gettext_lazy("points (negative to take away)"),
        widget=UnfoldAdminIntegerFieldWidget,
    )
    reason = forms.CharField(
        label=gettext_lazy("reason"), max_length=255, widget=UnfoldAdminTextInputWidget
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("reason"), max_length=255, widget=UnfoldAdminTextInputWidget
    )


class MonthForm(forms.Form):
    month = forms.DateField(
        label=gettext_lazy("month"),
        widget=UnfoldAdminTextInputWidget(attrs={"type": "month"}),
        input_formats=["%Y-%m", "%Y-%m-%d"],
    )


# The system accounts' stored names are English; the admin names them in the visitor's language.
SYSTEM_ACCOUNT_NAMES = {
    services.ISSUANCE: gettext_lazy("Points issued"),
    services.ADJUSTMENTS: gettext_lazy("Adjustments"),
    services.EXPIRY: gettext_lazy("Expired points"),
}
# What a transaction's source (``helpteam.request:12``) points at, for people.
SOURCE_NAMES = {
    "helpteam.request": gettext_lazy("Help request"),
    "helpteam.activity": gettext_lazy("Activity"),
    "shop.order": gettext_lazy("Order"),
    "shop.booking": gettext_lazy("Booking"),
}


def source_shown(source: str) -> str:
    kind, _sep, rest = source.partition(":")
    number = rest.split(":")[0]
    if kind in SOURCE_NAMES and number.isdigit():
        return f"{SOURCE_NAMES[kind]} #{number}"
    return source


@admin.register(Account)
class AccountAdmin(LedgerAdmin):
    list_display = ["shown_name", "kind", "balance"]
    fields = ["shown_name", "kind", "resident", "organisation", "balance", "created_at"]
    readonly_fields = ["shown_name"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    change_list_template = "admin/points/account/change_list.html"
    change_form_template = "admin/points/account/change_form.html"

    @admin.display(description=gettext_lazy("name"), ordering="name")
    def shown_name(self, obj: Account) -> str:
        return str(SYSTEM_ACCOUNT_NAMES.get(obj.code, obj.name))

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("report/", view(self.report_view), name="points_report"),
            path("<int:account_id>/adjust/", view(self.adjust_view), name="points_adjust"),
            *super().get_urls(),
        ]

    def adjust_view(self, request: HttpRequest, account_id: int) -> HttpResponse:
        self._guard(request)
        actor = request_actor(request)
        account = get_object_or_404(access.accounts_visible(actor), pk=account_id)
        _refused(access.may_credit, actor, account)
        form = AdjustForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.points_adjust(
                    account_id=account.pk,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    idempotency_key=f"admin:{request.user.pk}:{request.POST.get('nonce', '')}",
                )
            except LinliError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Adjusted %(account)s.") % {"account": account})
                return redirect("admin:points_account_change", account.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Adjust %(account)s") % {"account": account},
            "form": form,
            "nonce": _nonce(),
        }
        return render(request, "admin/points/form.html", context)

    def report_view(self, request: HttpRequest) -> HttpResponse:
        self._guard(request)
        form = MonthForm(request.GET or None)
        month = form.cleaned_data["month"] if form.is_valid() else date.today().replace(day=1)
        if request.GET.get("format") == "csv":
            response = HttpResponse(
                selectors.settlement_csv(month=month), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="settlement-{month:%Y-%m}.csv"'
            return response
        flows = selectors.monthly_flows()
        peak = max([max(i, r) for _m, i, r in flows] or [1]) or 1
        bars = [
            {
                "month": m,
                "issued": i,
                "redeemed": r,
                "issued_h": round(120 * i / peak),
                "redeemed_h": round(120 * r / peak),
                "x": 60 * n,
            }
            for n, (m, i, r) in enumerate(flows)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Points report"),
            "summary": selectors.summary(),
            "bars": bars,
            "chart_width": max(60 * len(bars), 60),
            "settlement": selectors.settlement(month=month),
            "month": month,
            "form": form,
        }
        return render(request, "admin/points/report.html", context)


class PostingInline(TabularInline):
    model = Posting
    extra = 0
    fields = ("account", "amount", "created_at")
    readonly_fields = ("account", "amount", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Transaction)
class TransactionAdmin(LedgerAdmin):
    list_display = ["id", "kind", "memo", "shown_source", "created_at", "reverses"]
    fields = ["kind", "memo", "shown_source", "reverses", "refunds", "created_at"]
    readonly_fields = ["shown_source"]
    list_filter = ["kind"]
    search_fields = ["memo", "source", "idempotency_key"]
    date_hierarchy = "created_at"
    inlines = [PostingInline]
    change_form_template = "admin/points/transaction/change_form.html"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.reverse_view)
        return [
            path("<int:transaction_id>/reverse/", view, name="points_reverse"),
            *super().get_urls(),
        ]

    @admin.display(description=gettext_lazy("source"), ordering="source")
    def shown_source(self, obj: Transaction) -> str:
        return source_shown(obj.source)

    def reverse_view(self, request: HttpRequest, transaction_id: int) -> HttpResponse:
        self._guard(request)
        original = get_object_or_404(Transaction, pk=transaction_id)
        _refused(access.may_undo, request_actor(request), original.pk)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.transaction_reverse(
                    transaction_id=original.pk,
                    reason=form.cleaned_data["reason"],
                    idempotency_key=f"admin:{request.user.pk}:reverse:{original.pk}",
                )
            except LinliError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Reversed transaction %(id)s.") % {"id": original.pk})
                return redirect("admin:points_transaction_change", original.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reverse transaction %(id)s") % {"id": original.pk},
            "form": form,
        }
        return render(request, "admin/points/form.html", context)


def _nonce() -> str:
    import secrets

    return secrets.token_hex(8)
