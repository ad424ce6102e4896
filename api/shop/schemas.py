"""The shop's API schemas. Outputs read model attributes (ninja's ``from_attributes``);
derived fields have ``resolve_<field>`` static methods."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from api.pagination import Page
from api.types import Day, In, Moment, Text
from linli.http import absolute_url
from tenants.community.phones import mask_name
from tenants.shop import qr, selectors


def _link(context: Any, path: str) -> str:
    return absolute_url(context["request"], path)


class ShopIn(In):
    estate_id: int = Field(ge=1)
    name: Text = Field(min_length=1, max_length=120)
    zones: list[str] = Field(
        min_length=1, max_length=3, description="parcels, preorders, daily_goods"
    )
    opening_hours: Text = Field("", max_length=120)
    address: Text = Field("", max_length=255)


class ShopOut(Schema):
    id: int
    estate_id: int
    name: str
    zones: list[str]
    opening_hours: str
    address: str
    active: bool
    link: str = Field(description="What the shop's QR code opens.")

    @staticmethod
    def resolve_link(obj: Any, context: Any) -> str:
        return _link(context, qr.shop_path(obj.qr_token))


class ShopPage(Page[ShopOut]):
    pass


class ActiveIn(In):
    active: bool


class SupplierIn(In):
    name: Text = Field(min_length=1, max_length=120)
    kind: str = Field(pattern="^(cooperative|farm|company)$")
    village: Text = Field("", max_length=200)
    contact_name: Text = Field("", max_length=64)
    contact_phone: Text = Field("", max_length=20)


class SupplierOut(Schema):
    id: int
    name: str
    kind: str
    village: str
    contact_name: str
    contact_phone: str
    active: bool


class SupplierPage(Page[SupplierOut]):
    pass


class ProductIn(In):
    shop_id: int = Field(ge=1)
    supplier_id: int | None = Field(None, ge=1)
    name: Text = Field(min_length=1, max_length=120)
    unit: Text = Field(min_length=1, max_length=16)
    price_fen: int = Field(ge=0, le=100_000_000)
    points_share: int = Field(
        0, ge=0, le=100, description="Per cent of the price payable in points."
    )
    stock: int | None = Field(
        None, ge=0, le=1_000_000, description="Omit for produce sold in batches."
    )


class ProductPatch(In):
    price_fen: int | None = Field(None, ge=0, le=100_000_000)
    points_share: int | None = Field(None, ge=0, le=100)
    active: bool | None = None


class RestockIn(In):
    delta: int = Field(ge=-1_000_000, le=1_000_000, description="Units in (+) or written off (-).")


class ProductOut(Schema):
    id: int
    shop_id: int
    supplier_id: int | None
    name: str
    unit: str
    price_fen: int
    points_share: int
    stock: int | None
    photo_url: str | None
    active: bool

    @staticmethod
    def resolve_photo_url(obj: Any) -> str | None:
        return obj.photo.url if obj.photo else None


class ProductPage(Page[ProductOut]):
    pass


class ItemIn(In):
    product_id: int = Field(ge=1)
    limit_total: int | None = Field(None, ge=1, le=999)
    limit_per_household: int | None = Field(None, ge=1, le=999)
    price_fen: int | None = Field(
        None, ge=0, le=100_000_000, description="The product's price if omitted."
    )
    points_share: int | None = Field(None, ge=0, le=100)


class SlotIn(In):
    starts_at: Moment
    ends_at: Moment


class BatchIn(In):
    shop_id: int = Field(ge=1)
    supplier_id: int = Field(ge=1)
    title: Text = Field(min_length=1, max_length=120)
    opens_at: Moment
    closes_at: Moment
    pickup_on: Day
    items: list[ItemIn] = Field(min_length=1, max_length=100)
    slots: list[SlotIn] = Field([], max_length=24)


class _OfAProduct(Schema):
    """An item or line: named by its product."""

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.product.name)

    @staticmethod
    def resolve_unit(obj: Any) -> str:
        return str(obj.product.unit)


class ItemOut(_OfAProduct):
    id: int
    product_id: int
    name: str
    unit: str
    price_fen: int
    points_share: int
    limit_total: int | None
    limit_per_household: int | None
    ordered: int
    left: int | None

    @staticmethod
    def resolve_left(obj: Any) -> int | None:
        return None if obj.limit_total is None else obj.limit_total - obj.ordered


class SlotOut(Schema):
    id: int
    starts_at: datetime
    ends_at: datetime


class BatchOut(Schema):
    id: int
    shop_id: int
    supplier_id: int
    supplier: str
    title: str
    opens_at: datetime
    closes_at: datetime
    pickup_on: date
    state: str = Field(description="upcoming, open, closed or cancelled")
    link: str = Field(description="What the batch's QR code opens.")
    photo_url: str | None = Field(description="The batch's photo (phone-sized JPEG), if any.")
    items: list[ItemOut]
    slots: list[SlotOut]

    @staticmethod
    def resolve_photo_url(obj: Any) -> str | None:
        return obj.photo.url if obj.photo else None

    @staticmethod
    def resolve_supplier(obj: Any) -> str:
        return str(obj.supplier.name)

    @staticmethod
    def resolve_state(obj: Any) -> str:
        return selectors.batch_state(obj)

    @staticmethod
    def resolve_link(obj: Any, context: Any) -> str:
        return _link(context, qr.batch_path(obj.qr_token))


class BatchPage(Page[BatchOut]):
    pass


class ReasonIn(In):
    reason: Text = Field(min_length=1, max_length=255)


class LineIn(In):
    item_id: int | None = Field(None, ge=1, description="A batch item (batch orders).")
    product_id: int | None = Field(None, ge=1, description="A product (daily-goods orders).")
    quantity: int = Field(ge=1, le=999)


class OrderIn(In):
    resident_id: int | None = Field(None, ge=1, description="Omit when acting for the resident.")
    batch_id: int | None = Field(None, ge=1)
    shop_id: int | None = Field(None, ge=1, description="For daily goods, instead of a batch.")
    slot_id: int | None = Field(None, ge=1)
    lines: list[LineIn] = Field(min_length=1, max_length=50)
    points: int = Field(0, ge=0, le=1_000_000, description="Points to pay with (within the share).")


class LineOut(_OfAProduct):
    product_id: int
    item_id: int | None
    name: str
    unit: str
    quantity: int
    unit_price_fen: int
    total_fen: int
    points_allowed: int

    @staticmethod
    def resolve_item_id(obj: Any) -> int | None:
        return obj.batch_item_id


class OrderOut(Schema):
    id: int
    shop_id: int
    batch_id: int | None
    slot_id: int | None
    resident_id: int
    status: str
    total_fen: int
    points_used: int
    money_due_fen: int
    pickup_code: str | None = Field(description="Shown to the resident and to the shop.")
    collect_by: datetime
    payment: str
    paid_fen: int
    placed_at: datetime
    picked_up_at: datetime | None
    lines: list[LineOut]

    @staticmethod
    def resolve_pickup_code(obj: Any) -> str | None:
        return obj.pickup_code if obj.status in selectors.OPEN else None


class OrderPage(Page[OrderOut]):
    pass


class PickUpIn(In):
    code: Text = Field(min_length=1, max_length=16)
    payment: str = Field("", pattern="^(|cash|terminal)$")
    paid_fen: int = Field(0, ge=0, le=100_000_000)


class CodeIn(In):
    code: Text = Field(min_length=1, max_length=16)


class CancelIn(In):
    reason: Text = Field("", max_length=255)


class PackingOrderOut(Schema):
    order_id: int
    pickup_code: str
    household: str
    resident: str
    status: str
    money_due_fen: int
    lines: list[tuple[str, str, int]]

    @staticmethod
    def resolve_order_id(obj: Any) -> int:
        return int(obj.order.pk)

    @staticmethod
    def resolve_pickup_code(obj: Any) -> str:
        return str(obj.order.pickup_code)

    @staticmethod
    def resolve_resident(obj: Any, context: Any) -> str:
        """Names in full only for a caller who may see personal data."""
        name = str(obj.order.resident.display_name)
        return name if context["request"].actor.personal_data else mask_name(name)

    @staticmethod
    def resolve_status(obj: Any) -> str:
        return str(obj.order.status)

    @staticmethod
    def resolve_money_due_fen(obj: Any) -> int:
        return int(obj.order.money_due_fen)


class PackingSlotOut(Schema):
    slot: str
    slot_id: int | None
    orders: list[PackingOrderOut]
    totals: list[tuple[str, str, int]]

    @staticmethod
    def resolve_slot(obj: Any) -> str:
        return str(obj.label)


class ParcelIn(In):
    shop_id: int = Field(ge=1)
    carrier: Text = Field(min_length=1, max_length=64)
    tracking_number: Text = Field(min_length=1, max_length=64)
    household_id: int = Field(ge=1)
    recipient_name: Text = Field("", max_length=64)
    shelf: Text = Field("", max_length=16)


class ParcelOut(Schema):
    id: int
    shop_id: int
    carrier: str
    tracking_number: str
    household_id: int
    shelf: str
    status: str
    pickup_code: str | None
    arrived_at: datetime
    reminders_sent: int
    picked_up_at: datetime | None
    returned_at: datetime | None

    @staticmethod
    def resolve_pickup_code(obj: Any) -> str | None:
        return obj.pickup_code if obj.status == "waiting" else None


class ParcelPage(Page[ParcelOut]):
    pass


class ParcelPickUpIn(In):
    code: Text = Field(min_length=1, max_length=16)
    resident_id: int | None = Field(None, ge=1, description="Who collected it, if known.")


class RecipientSuggestionOut(Schema):
    household_id: int
    label: str

    @staticmethod
    def resolve_household_id(obj: Any) -> int:
        return int(obj.pk)

    @staticmethod
    def resolve_label(obj: Any) -> str:
        return selectors.household_label(obj)


class ParcelDayOut(Schema):
    shop_id: int
    day: date
    arrived: int
    picked_up: int
    returned: int
    waiting_at_close: int
    waiting_over_remind_days: int
    waiting_over_return_days: int


class TurnaroundOut(Schema):
    shop_id: int
    shop: str
    arrived: int
    picked_up: int
    returned: int
    mean_hours: float | None
    median_hours: float | None
    p90_hours: float | None


class ServiceIn(In):
    organisation_id: int = Field(ge=1)
    shop_id: int | None = Field(None, ge=1)
    category: str = Field(pattern="^(housekeeping|elderly_care|education|medical|property|other)$")
    title: Text = Field(min_length=1, max_length=120)
    description: Text = Field("", max_length=4000)
    price_fen: int | None = Field(None, ge=0, le=100_000_000)
    points_price: int | None = Field(None, ge=1, le=1_000_000)


class ServiceOut(Schema):
    id: int
    organisation_id: int
    organisation: str
    shop_id: int | None
    category: str
    title: str
    description: str
    price_fen: int | None
    points_price: int | None
    active: bool

    @staticmethod
    def resolve_organisation(obj: Any) -> str:
        return str(obj.organisation.name)


class ServicePage(Page[ServiceOut]):
    pass


class ServiceSlotIn(In):
    starts_at: Moment
    ends_at: Moment
    capacity: int = Field(1, ge=1, le=500)


class ServiceSlotOut(Schema):
    id: int
    service_id: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int


class BookingIn(In):
    resident_id: int | None = Field(None, ge=1, description="Omit when acting for the resident.")
    slot_id: int = Field(ge=1)
    pay_with: str = Field(pattern="^(money|points)$")
    note: Text = Field("", max_length=500)


class BookingOut(Schema):
    id: int
    service_id: int
    slot_id: int
    resident_id: int
    status: str
    pay_with: str
    price_fen: int
    points_paid: int
    note: str
    reason: str
    created_at: datetime


class BookingPage(Page[BookingOut]):
    pass


class SalesDayOut(Schema):
    shop_id: int
    shop: str
    day: date
    orders: int
    cash_fen: int
    terminal_fen: int
    points: int
    sales_fen: int


class SellThroughOut(Schema):
    item_id: int
    product: str
    unit: str
    available: int | None
    ordered: int
    collected: int
    expired: int
    orders: int
    sell_through: float | None


class SettlementOut(Schema):
    organisation_id: int
    organisation: str
    completed: int
    money_fen: int
    points: int
    declined_or_cancelled: int
