"""The neighbourhood shop: catalogue, pre-order batches, orders, parcels, partner services.

Money is in fen and points are whole points, both integers. Counters that must
never pass a limit (a batch item's units ordered, a product's stock, a slot's
bookings) are kept on the limited row, changed only under its row lock, and
backed by a check constraint, so no race can oversell.
"""

from __future__ import annotations

import secrets

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from linli import clock
from tenants.community.models import Estate, Household, Organisation, Resident

# Pickup codes avoid characters that read alike (0/O, 1/I/L, 2/Z, 5/S, 8/B).
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 6


def pickup_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def yuan(fen: int) -> str:
    """Fen as yuan for people to read: 2300 → "23.00"."""
    return f"{fen // 100}.{fen % 100:02d}"


def qr_token() -> str:
    return secrets.token_urlsafe(12)


class Shop(models.Model):
    class Zone(models.TextChoices):
        PARCELS = "parcels", _("Parcel collection")
        PREORDERS = "preorders", _("Pre-orders")
        DAILY_GOODS = "daily_goods", _("Daily goods")

    estate = models.ForeignKey(Estate, on_delete=models.PROTECT, related_name="shops")
    name = models.CharField(_("name"), max_length=120, unique=True)
    zones = ArrayField(
        models.CharField(max_length=16, choices=Zone.choices), default=list, verbose_name=_("zones")
    )
    opening_hours = models.CharField(
        _("opening hours"), max_length=120, blank=True, help_text=_("For example 08:00-20:00.")
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    active = models.BooleanField(_("active"), default=True)
    qr_token = models.CharField(max_length=24, default=qr_token, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("shop")
        verbose_name_plural = _("shops")

    def __str__(self) -> str:
        return self.name


class Supplier(models.Model):
    class Kind(models.TextChoices):
        COOPERATIVE = "cooperative", _("Village co-operative")
        FARM = "farm", _("Farm")
        COMPANY = "company", _("Company")

    name = models.CharField(_("name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    village = models.CharField(_("village or address"), max_length=200, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """What a shop sells. Daily goods track ``stock``; produce is sold through batches."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="products")
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, null=True, blank=True, related_name="products"
    )
    name = models.CharField(_("name"), max_length=120)
    unit = models.CharField(_("unit"), max_length=16, help_text=_("For example 斤, bag, box."))
    price_fen = models.PositiveIntegerField(_("price (fen)"))
    points_share = models.PositiveSmallIntegerField(
        _("points share (%)"),
        default=0,
        help_text=_("How much of the price may be paid in points, 0 to 100 per cent."),
    )
    stock = models.IntegerField(
        _("stock"), null=True, blank=True, help_text=_("Units on hand; empty when not tracked.")
    )
    photo = models.ImageField(_("photo"), upload_to="shop/products/", blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["shop_id", "name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(fields=["shop", "name", "unit"], name="shop_product_unique"),
            models.CheckConstraint(
                condition=Q(points_share__lte=100), name="shop_product_share_percent"
            ),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="shop_product_stock_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})"


class PreorderBatch(models.Model):
    """A supplier's round of pre-orders: items with limits, an order window, a pickup day."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="batches")
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="batches")
    title = models.CharField(_("title"), max_length=120)
    opens_at = models.DateTimeField(_("orders open"))
    closes_at = models.DateTimeField(_("orders close"))
    pickup_on = models.DateField(_("pickup day"))
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    qr_token = models.CharField(max_length=24, default=qr_token, unique=True, editable=False)
    photo = models.ImageField(_("photo"), upload_to="shop/batches/", blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-opens_at"]
        verbose_name = _("pre-order batch")
        verbose_name_plural = _("pre-order batches")
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="shop_batch_window_valid"
            ),
        ]
        indexes = [models.Index(fields=["closes_at"], name="shop_batch_closes_at")]

    def __str__(self) -> str:
        return self.title


class BatchItem(models.Model):
    batch = models.ForeignKey(PreorderBatch, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="batch_items")
    price_fen = models.PositiveIntegerField(_("price (fen)"))
    points_share = models.PositiveSmallIntegerField(_("points share (%)"), default=0)
    limit_total = models.PositiveIntegerField(_("units available"), null=True, blank=True)
    limit_per_household = models.PositiveIntegerField(
        _("units per household"), null=True, blank=True
    )
    ordered = models.PositiveIntegerField(_("units ordered"), default=0, editable=False)

    class Meta:
        ordering = ["batch_id", "id"]
        verbose_name = _("batch item")
        verbose_name_plural = _("batch items")
        constraints = [
            models.UniqueConstraint(fields=["batch", "product"], name="shop_batch_item_unique"),
            models.CheckConstraint(
                condition=Q(limit_total__isnull=True) | Q(ordered__lte=F("limit_total")),
                name="shop_batch_item_no_oversell",
            ),
            models.CheckConstraint(
                condition=Q(points_share__lte=100), name="shop_batch_item_share_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.product_id}"


class PickupSlot(models.Model):
    batch = models.ForeignKey(PreorderBatch, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        ordering = ["batch_id", "starts_at"]
        verbose_name = _("pickup slot")
        verbose_name_plural = _("pickup slots")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="shop_slot_window_valid"
            ),
        ]

    def __str__(self) -> str:
        return clock.span(self.starts_at, self.ends_at)


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", _("Placed")
        CONFIRMED = "confirmed", _("Confirmed")
        READY = "ready", _("Ready")
        PICKED_UP = "picked_up", _("Picked up")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    class Payment(models.TextChoices):
        NONE = "", _("Nothing to pay")
        CASH = "cash", _("Cash")
        TERMINAL = "terminal", _("Shop terminal")

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="orders")
    batch = models.ForeignKey(
        PreorderBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    slot = models.ForeignKey(
        PickupSlot, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="shop_orders")
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="shop_orders"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PLACED
    )
    total_fen = models.PositiveIntegerField(_("total (fen)"))
    points_used = models.PositiveIntegerField(_("points used"), default=0)
    money_due_fen = models.PositiveIntegerField(_("money due (fen)"))
    pickup_code = models.CharField(_("pickup code"), max_length=8, default=pickup_code)
    collect_by = models.DateTimeField(_("collect by"))
    points_redemption_id = models.BigIntegerField(null=True, blank=True, editable=False)
    points_refund_id = models.BigIntegerField(null=True, blank=True, editable=False)
    payment = models.CharField(
        _("paid by"), max_length=16, choices=Payment.choices, blank=True, default=""
    )
    paid_fen = models.PositiveIntegerField(_("paid (fen)"), default=0)
    placed_at = models.DateTimeField(_("placed at"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    picked_up_at = models.DateTimeField(_("picked up at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("cancelled or expired at"), null=True, blank=True)
    end_reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "pickup_code"],
                condition=Q(status__in=["placed", "confirmed", "ready"]),
                name="shop_order_open_code_unique",
            ),
            models.CheckConstraint(
                condition=Q(money_due_fen__lte=F("total_fen")), name="shop_order_due_within_total"
            ),
            models.CheckConstraint(
                condition=~Q(status="picked_up") | Q(paid_fen=F("money_due_fen")),
                name="shop_order_paid_in_full_at_pickup",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "collect_by"], name="shop_order_status_collect"),
            models.Index(fields=["shop", "picked_up_at"], name="shop_order_shop_pickup"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def money_due_yuan(self) -> str:
        return yuan(self.money_due_fen)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    batch_item = models.ForeignKey(
        BatchItem, on_delete=models.PROTECT, null=True, blank=True, related_name="order_lines"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price_fen = models.PositiveIntegerField(_("unit price (fen)"))
    total_fen = models.PositiveIntegerField(_("total (fen)"))
    points_allowed = models.PositiveIntegerField(_("points allowed"), default=0)

    class Meta:
        ordering = ["order_id", "id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shop_line_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(total_fen=F("unit_price_fen") * F("quantity")),
                name="shop_line_total_is_price_times_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"


class Parcel(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        PICKED_UP = "picked_up", _("Picked up")
        RETURNED = "returned", _("Returned to carrier")

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="parcels")
    carrier = models.CharField(_("carrier"), max_length=64)
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="parcels")
    recipient_name = models.CharField(_("name on the label"), max_length=64, blank=True)
    shelf = models.CharField(_("shelf"), max_length=16, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.WAITING
    )
    pickup_code = models.CharField(_("pickup code"), max_length=8, default=pickup_code)
    arrived_at = models.DateTimeField(_("arrived at"), auto_now_add=True, db_index=True)
    reminders_sent = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    last_reminded_at = models.DateTimeField(_("last reminded at"), null=True, blank=True)
    picked_up_at = models.DateTimeField(_("picked up at"), null=True, blank=True)
    picked_up_by = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"],
                condition=Q(status="waiting"),
                name="shop_parcel_waiting_once",
            ),
            models.UniqueConstraint(
                fields=["shop", "pickup_code"],
                condition=Q(status="waiting"),
                name="shop_parcel_waiting_code_unique",
            ),
        ]
        indexes = [models.Index(fields=["status", "arrived_at"], name="shop_parcel_status_arrived")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class PartnerService(models.Model):
    """A partner organisation's service residents book through the shop."""

    class Category(models.TextChoices):
        HOUSEKEEPING = "housekeeping", _("Housekeeping")
        ELDERLY_CARE = "elderly_care", _("Elderly care")
        EDUCATION = "education", _("Education and tutoring")
        MEDICAL = "medical", _("Medical")
        PROPERTY = "property", _("Property repairs")
        OTHER = "other", _("Other")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="shop_services"
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, null=True, blank=True, related_name="services"
    )
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    price_fen = models.PositiveIntegerField(_("price (fen)"), null=True, blank=True)
    points_price = models.PositiveIntegerField(_("price in points"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["category", "title"]
        verbose_name = _("partner service")
        verbose_name_plural = _("partner services")
        constraints = [
            models.CheckConstraint(
                condition=Q(price_fen__isnull=False) | Q(points_price__isnull=False),
                name="shop_service_has_a_price",
            ),
            models.CheckConstraint(
                condition=Q(points_price__isnull=True) | Q(points_price__gt=0),
                name="shop_service_points_price_gt_0",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ServiceSlot(models.Model):
    service = models.ForeignKey(PartnerService, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=1)
    booked = models.PositiveSmallIntegerField(_("booked"), default=0, editable=False)

    class Meta:
        ordering = ["service_id", "starts_at"]
        verbose_name = _("service slot")
        verbose_name_plural = _("service slots")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="shop_service_slot_valid"
            ),
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")), name="shop_service_slot_not_overbooked"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {clock.stamp(self.starts_at)}"


class Booking(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        CONFIRMED = "confirmed", _("Confirmed")
        COMPLETED = "completed", _("Completed")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")

    class PayWith(models.TextChoices):
        MONEY = "money", _("Money, paid to the partner")
        POINTS = "points", _("Points, paid on booking")

    service = models.ForeignKey(PartnerService, on_delete=models.PROTECT, related_name="bookings")
    slot = models.ForeignKey(ServiceSlot, on_delete=models.PROTECT, related_name="bookings")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.REQUESTED
    )
    pay_with = models.CharField(_("pay with"), max_length=8, choices=PayWith.choices)
    price_fen = models.PositiveIntegerField(_("price (fen)"), default=0)
    points_paid = models.PositiveIntegerField(_("points paid"), default=0)
    note = models.CharField(_("note"), max_length=500, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    points_redemption_id = models.BigIntegerField(null=True, blank=True, editable=False)
    points_refund_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("booked at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "resident"],
                condition=Q(status__in=["requested", "confirmed"]),
                name="shop_booking_once_per_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"
