"""The shop in the tenant admin: catalogue and batches for operators, orders and parcels at
the counter (status changes go through the services), printable packing lists, reports.

Every queryset and action goes through ``tenants.shop.access`` with the admin's
``Actor``: a staff user sees and runs the shops they run (shop operator for the estate,
or a leader of it) and what belongs to them, the orders, parcels and bookings the same
rules let them see (their own among them), and the services of partners they belong
to; setting up shops, suppliers and services is the district's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import ForeignKey, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.widgets import UnfoldAdminTextInputWidget

from linli import clock
from linli.admin_base import ModelAdmin, TabularInline
from linli.errors import LinliError
from linli.http import absolute_url
from linli.photo_admin import PhotoAdminMixin
from tenants.community.actor import Actor, request_actor
from tenants.shop import access, counter, qr, selectors
from tenants.shop.models import (
    BatchItem,
    Booking,
    Order,
    OrderLine,
    Parcel,
    PartnerService,
    PickupSlot,
    PreorderBatch,
    Product,
    ServiceSlot,
    Shop,
    Supplier,
)
from tenants.shop.services import catalogue, orders, parcels, partners


def yuan(fen: int | None) -> str:
    """Money as the district reads it: yuan with two decimals (it is stored in fen)."""
    return "—" if fen is None else f"¥{fen / 100:.2f}"


# The largest amount a fen column holds (PostgreSQL integer).
MAX_FEN = 2_147_483_647
MONEY_LABELS = {
    "price": gettext_lazy("price"),
    "unit_price": gettext_lazy("unit price"),
    "total": gettext_lazy("total"),
    "money_due": gettext_lazy("money due"),
    "paid": gettext_lazy("paid"),
}


class YuanField(forms.DecimalField):
    """Money typed in yuan (at most two decimals, as on a price tag) for a column in fen."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", UnfoldAdminTextInputWidget(attrs={"inputmode": "decimal"}))
        super().__init__(
            max_digits=12,
            decimal_places=2,
            min_value=Decimal(0),
            max_value=Decimal(MAX_FEN) / 100,
            **kwargs,
        )

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int):  # the stored fen
            return f"{Decimal(value) / 100:.2f}"
        return value

    def clean(self, value: Any) -> int | None:
        amount = super().clean(value)
        return None if amount is None else int(amount * 100)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            amount = self.to_python(data)
        except forms.ValidationError:
            return True
        return (None if amount is None else int(amount * 100)) != initial


class InYuan:
    """Money columns and read-only fields shown in yuan, sorted by the stored fen; money
    typed in yuan."""

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        base = db_field.name.removesuffix("_fen")
        if db_field.name.endswith("_fen") and db_field.editable and base in MONEY_LABELS:
            return YuanField(
                label=format_lazy(gettext_lazy("{name} (yuan)"), name=MONEY_LABELS[base]),
                required=not (db_field.blank or db_field.has_default()),
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]

    @admin.display(description=MONEY_LABELS["price"], ordering="price_fen")
    def price_yuan(self, obj: Any) -> str:
        return yuan(obj.price_fen)

    @admin.display(description=MONEY_LABELS["unit_price"], ordering="unit_price_fen")
    def unit_price_yuan(self, obj: Any) -> str:
        return yuan(obj.unit_price_fen)

    @admin.display(description=MONEY_LABELS["total"], ordering="total_fen")
    def total_yuan(self, obj: Any) -> str:
        return yuan(obj.total_fen)

    @admin.display(description=MONEY_LABELS["money_due"], ordering="money_due_fen")
    def money_due_yuan(self, obj: Any) -> str:
        return yuan(obj.money_due_fen)

    @admin.display(description=MONEY_LABELS["paid"], ordering="paid_fen")
    def paid_yuan(self, obj: Any) -> str:
        return yuan(obj.paid_fen)


def in_yuan(names: list[str]) -> list[str]:
    """Field names with each money field (``*_fen``) replaced by its yuan display."""
    return [
        name.removesuffix("_fen") + "_yuan" if name.endswith("_fen") else name for name in names
    ]


class Scoped(InYuan, ModelAdmin):
    """The rows an access rule gives the admin's actor, and nothing else."""

    def visible(self, actor: Actor) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = self.visible(request_actor(request))
        return super().get_queryset(request) & rows

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.related_model is Shop:  # new products and batches go to shops they run
            kwargs["queryset"] = access.shops_operated(request_actor(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SetUpByTheDistrict(ModelAdmin):
    """Seen by every staff user with the permission; added, changed and removed by the
    district only (``access.may_set_up``)."""

    def _sets_up(self, request: HttpRequest) -> bool:
        return access.permits(access.may_set_up, request_actor(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._sets_up(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._sets_up(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._sets_up(request) and super().has_delete_permission(request, obj)


def _run(
    request: HttpRequest, queryset: QuerySet[Any], check: Any, service: Any, done: str
) -> None:
    """Apply a service to each chosen row the actor may act on; report what was refused
    and why (a refused check or a state conflict alike)."""
    actor = request_actor(request)
    ok = 0
    for row in queryset:
        try:
            check(actor, row)
            service(row)
            ok += 1
        except LinliError as exc:
            messages.error(request, f"#{row.pk}: {exc.message}")
    if ok:
        messages.success(request, done % {"count": ok})


@admin.register(Shop)
class ShopAdmin(Scoped, SetUpByTheDistrict):
    list_display = ["name", "estate", "opening_hours", "active", "qr"]
    list_filter = ["active", "estate"]
    search_fields = ["name"]

    @admin.display(description=gettext_lazy("QR code"))
    def qr(self, shop: Shop) -> str:
        return format_html('<a href="{}">SVG</a>', reverse("admin:shop_shop_qr", args=[shop.pk]))

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.qr_view)
        return [path("<int:shop_id>/qr.svg", view, name="shop_shop_qr"), *super().get_urls()]

    def visible(self, actor: Actor) -> QuerySet[Shop]:
        return access.shops_operated(actor)

    def qr_view(self, request: HttpRequest, shop_id: int) -> HttpResponse:
        shop = get_object_or_404(access.shops_operated(request_actor(request)), pk=shop_id)
        link = absolute_url(request, qr.shop_path(shop.qr_token))
        return HttpResponse(qr.qr_svg(link), content_type="image/svg+xml")


@admin.register(Supplier)
class SupplierAdmin(SetUpByTheDistrict):
    list_display = ["name", "kind", "village", "contact_name", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "village"]


@admin.register(Product)
class ProductAdmin(PhotoAdminMixin, Scoped):
    photo_fields = phone_photo_fields = ("photo",)
    list_display = ["name", "unit", "shop", "price_yuan", "points_share", "stock", "active"]
    list_filter = ["active", "shop", "supplier"]
    search_fields = ["name"]

    def visible(self, actor: Actor) -> QuerySet[Product]:
        return access.products_managed(actor)


class BatchItemInline(InYuan, TabularInline):
    model = BatchItem
    extra = 0
    readonly_fields = ["ordered"]
    raw_id_fields = ["product"]


class PickupSlotInline(TabularInline):
    model = PickupSlot
    extra = 0


@admin.register(PreorderBatch)
class PreorderBatchAdmin(PhotoAdminMixin, Scoped):
    photo_fields = phone_photo_fields = ("photo",)
    list_display = ["title", "shop", "supplier", "opens_at", "closes_at", "pickup_on", "links"]
    list_filter = ["shop", "supplier", "pickup_on"]
    search_fields = ["title"]
    readonly_fields = ["closed_at", "cancelled_at"]
    inlines = [BatchItemInline, PickupSlotInline]
    actions = ["close_now"]

    def visible(self, actor: Actor) -> QuerySet[PreorderBatch]:
        return access.batches_managed(actor)

    @admin.display(description=gettext_lazy("Packing list and QR code"))
    def links(self, batch: PreorderBatch) -> str:
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">QR</a>',
            reverse("admin:shop_batch_packing", args=[batch.pk]),
            _("Packing list"),
            reverse("admin:shop_batch_qr", args=[batch.pk]),
        )

    @admin.action(description=gettext_lazy("Stop taking orders now"))
    def close_now(self, request: HttpRequest, queryset: QuerySet[PreorderBatch]) -> None:
        _run(
            request,
            queryset,
            lambda actor, b: access.may_run_shop(actor, b.shop),
            lambda b: catalogue.batch_close(batch_id=b.pk),
            _("%(count)s batches closed."),
        )

    def get_urls(self) -> list[Any]:
        packing = self.admin_site.admin_view(self.packing_view)
        code = self.admin_site.admin_view(self.qr_view)
        return [
            path("<int:batch_id>/packing/", packing, name="shop_batch_packing"),
            path("<int:batch_id>/qr.svg", code, name="shop_batch_qr"),
            *super().get_urls(),
        ]

    def _batch(self, request: HttpRequest, batch_id: int) -> PreorderBatch:
        batches = access.batches_managed(request_actor(request))
        return get_object_or_404(batches.select_related("shop", "supplier"), pk=batch_id)

    def packing_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        """The print-ready packing list: per pickup slot, each bag and the slot's totals."""
        batch = self._batch(request, batch_id)
        context = {
            "batch": batch,
            "groups": selectors.packing_list(batch=batch),
            "printed_at": clock.now(),
        }
        return render(request, "admin/shop/preorderbatch/packing.html", context)

    def qr_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        batch = self._batch(request, batch_id)
        link = absolute_url(request, qr.batch_path(batch.qr_token))
        return HttpResponse(qr.qr_svg(link), content_type="image/svg+xml")


class OrderLineInline(InYuan, TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["product", "quantity", "unit_price_yuan", "total_yuan", "points_allowed"]
    readonly_fields = ["product", "quantity", "unit_price_yuan", "total_yuan", "points_allowed"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(Scoped):
    list_display = ["id", "shop", "batch", "status", "total_yuan", "points_used", "placed_at"]
    list_filter = ["status", "shop", "batch"]
    search_fields = ["pickup_code"]
    inlines = [OrderLineInline]
    actions = ["mark_ready", "cancel"]
    fields = readonly_fields = in_yuan([f.name for f in Order._meta.fields])

    def visible(self, actor: Actor) -> QuerySet[Order]:
        return access.orders_visible(actor)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.counter_view)
        return [path("counter/", view, name="shop_counter"), *super().get_urls()]

    def counter_view(self, request: HttpRequest) -> HttpResponse:
        return counter.counter_view(request, each_context=self.admin_site.each_context(request))

    @admin.action(description=gettext_lazy("Mark packed and ready (tells the resident)"))
    def mark_ready(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        _run(
            request,
            queryset,
            access.may_run_counter,
            lambda o: orders.order_ready(order_id=o.pk),
            _("%(count)s orders ready."),
        )

    @admin.action(description=gettext_lazy("Cancel (units back on sale, points refunded)"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        _run(
            request,
            queryset,
            access.may_run_counter,  # the shop cancels here; residents cancel their own
            lambda o: orders.order_cancel(order_id=o.pk, reason="cancelled by the shop"),
            _("%(count)s orders cancelled."),
        )


@admin.register(Parcel)
class ParcelAdmin(Scoped):
    list_display = [
        "tracking_number",
        "carrier",
        "shop",
        "household",
        "shelf",
        "status",
        "arrived_at",
    ]
    list_filter = ["status", "shop", "carrier"]
    search_fields = ["tracking_number", "recipient_name"]
    readonly_fields = [f.name for f in Parcel._meta.fields]
    actions = ["send_back"]

    def visible(self, actor: Actor) -> QuerySet[Parcel]:
        return access.parcels_visible(actor)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # logged through the API (with the household suggestion list)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Send back to the carrier"))
    def send_back(self, request: HttpRequest, queryset: QuerySet[Parcel]) -> None:
        _run(
            request,
            queryset,
            access.may_hand_over_parcel,
            lambda p: parcels.parcel_return(parcel_id=p.pk),
            _("%(count)s parcels sent back."),
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.report_view)
        return [path("report/", view, name="shop_reports"), *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        """This month's sales per shop per day, parcel turnaround, partner settlement."""
        actor = request_actor(request)
        shops = set(access.shops_operated(actor).values_list("pk", flat=True))
        if not shops:
            raise PermissionDenied
        month = timezone.localdate()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Shop report"),
            "month": month,
            "sales": [
                r | {"cash": yuan(r["cash_fen"]), "terminal": yuan(r["terminal_fen"])}
                for r in selectors.sales_daily(month=month)
                if r["shop_id"] in shops
            ],
            "parcels": [
                r for r in selectors.parcel_turnaround(month=month) if r["shop_id"] in shops
            ],
            "settlement": [
                r | {"money": yuan(r["money_fen"])}
                for r in selectors.partner_settlement(month=month)
            ]
            if access.permits(access.may_read_district_reports, actor)
            else [],
        }
        return render(request, "admin/shop/report.html", context)


class ServiceSlotInline(TabularInline):
    model = ServiceSlot
    extra = 0
    readonly_fields = ["booked"]


@admin.register(PartnerService)
class PartnerServiceAdmin(Scoped):
    """The partners' members keep their services' slots; offering a service is the
    district's."""

    list_display = ["title", "organisation", "category", "price_yuan", "points_price", "active"]
    list_filter = ["category", "active", "organisation"]
    search_fields = ["title"]
    inlines = [ServiceSlotInline]

    def visible(self, actor: Actor) -> QuerySet[PartnerService]:
        return access.services_managed(actor)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if access.permits(access.may_set_up, request_actor(request)):
            return super().get_readonly_fields(request, obj)
        return [f.name for f in PartnerService._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        sets_up = access.permits(access.may_set_up, request_actor(request))
        return sets_up and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        sets_up = access.permits(access.may_set_up, request_actor(request))
        return sets_up and super().has_delete_permission(request, obj)


@admin.register(Booking)
class BookingAdmin(Scoped):
    list_display = ["id", "service", "slot", "status", "pay_with", "points_paid", "created_at"]
    list_filter = ["status", "pay_with", "service__organisation"]
    readonly_fields = [f.name for f in Booking._meta.fields]
    actions = ["confirm", "complete", "decline"]

    def visible(self, actor: Actor) -> QuerySet[Booking]:
        return access.bookings_visible(actor)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Confirm"))
    def confirm(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        _run(
            request,
            queryset,
            access.may_decide_booking,
            lambda b: partners.booking_confirm(booking_id=b.pk),
            _("%(count)s bookings confirmed."),
        )

    @admin.action(description=gettext_lazy("Mark completed"))
    def complete(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        _run(
            request,
            queryset,
            access.may_decide_booking,
            lambda b: partners.booking_complete(booking_id=b.pk),
            _("%(count)s bookings completed."),
        )

    @admin.action(description=gettext_lazy("Decline (points refunded)"))
    def decline(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        _run(
            request,
            queryset,
            access.may_decide_booking,
            lambda b: partners.booking_decline(booking_id=b.pk),
            _("%(count)s bookings declined."),
        )
