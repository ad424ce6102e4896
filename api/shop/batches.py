"""Pre-order batches: anyone finds one (by id or by its QR code); those who run the shop
open, close and cancel it and read its packing list and sell-through."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from api.acting import actor
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from api.shop.responses import CSV_FILE, QR_FILES, csv_response, qr_response
from api.shop.schemas import (
    BatchIn,
    BatchOut,
    BatchPage,
    PackingSlotOut,
    ReasonIn,
    SellThroughOut,
)
from tenants.shop import access, qr, selectors
from tenants.shop.models import PreorderBatch
from tenants.shop.selectors import PackingSlot
from tenants.shop.services import catalogue

router = Router()


def _batch_to_run(request: HttpRequest, batch_id: int) -> PreorderBatch:
    batch = access.access_batch(actor=actor(request), batch_id=batch_id)
    access.may_run_shop(actor(request), batch.shop)
    return batch


@router.get(
    "/batches",
    response={200: BatchPage, **READ_ERRORS},
    summary="List pre-order batches",
    operation_id="shop_batches_list",
)
def batches_list(
    request: HttpRequest,
    params: Query[PageParams],
    shop_id: int | None = None,
    open_now: bool = False,
) -> dict[str, Any]:
    batches = selectors.batch_list(
        access.batches_visible(actor(request)), shop_id=shop_id, open_now=open_now
    )
    return page(*paginate(batches, params))


@router.post(
    "/batches",
    response={201: BatchOut, **WRITE_ERRORS},
    summary="Open a pre-order batch",
    operation_id="shop_batches_create",
)
def batches_create(request: HttpRequest, body: BatchIn) -> Status[PreorderBatch]:
    shop = access.shop_named(actor=actor(request), shop_id=body.shop_id)
    access.may_run_shop(actor(request), shop)
    batch = catalogue.batch_create(
        shop_id=shop.pk,
        supplier_id=body.supplier_id,
        title=body.title,
        opens_at=body.opens_at,
        closes_at=body.closes_at,
        pickup_on=body.pickup_on,
        items=[catalogue.ItemSpec(**item.dict()) for item in body.items],
        slots=[catalogue.SlotSpec(**slot.dict()) for slot in body.slots],
    )
    return Status(201, selectors.batch_shown(batch))


@router.get(
    "/batches/by-code/{token}",
    response={200: BatchOut, **READ_ERRORS},
    summary="The batch a scanned QR code names",
    operation_id="shop_batches_by_code",
)
def batches_by_code(request: HttpRequest, token: str) -> PreorderBatch:
    return selectors.batch_shown(access.access_batch_by_code(actor=actor(request), token=token))


@router.get(
    "/batches/{batch_id}",
    response={200: BatchOut, **READ_ERRORS},
    summary="A pre-order batch",
    operation_id="shop_batches_get",
)
def batches_get(request: HttpRequest, batch_id: int) -> PreorderBatch:
    return selectors.batch_shown(access.access_batch(actor=actor(request), batch_id=batch_id))


@router.get(
    "/batches/{batch_id}/qr.{kind}",
    response={200: None, **READ_ERRORS},
    summary="The batch's QR code (svg or png) for the poster",
    operation_id="shop_batches_qr",
    openapi_extra=QR_FILES,
)
def batches_qr(request: HttpRequest, batch_id: int, kind: str) -> HttpResponse:
    batch = access.access_batch(actor=actor(request), batch_id=batch_id)
    return qr_response(request, qr.batch_path(batch.qr_token), kind, f"batch-{batch.pk}")


@router.post(
    "/batches/{batch_id}/photo",
    response={200: BatchOut, **WRITE_ERRORS},
    summary="Set a batch's photo (JPEG or PNG, at most 5 MB; kept phone-sized)",
    operation_id="shop_batches_photo",
)
def batches_photo(request: HttpRequest, batch_id: int, photo: File[UploadedFile]) -> PreorderBatch:
    from linli.uploads import MAX_PHOTO_BYTES

    batch = _batch_to_run(request, batch_id)
    content = photo.read(MAX_PHOTO_BYTES + 1)
    return selectors.batch_shown(catalogue.batch_photo_set(batch_id=batch.pk, content=content))


@router.post(
    "/batches/{batch_id}/close",
    response={200: BatchOut, **WRITE_ERRORS},
    summary="Stop taking orders now (placed orders become confirmed)",
    operation_id="shop_batches_close",
)
def batches_close(request: HttpRequest, batch_id: int) -> PreorderBatch:
    batch = _batch_to_run(request, batch_id)
    return selectors.batch_shown(catalogue.batch_close(batch_id=batch.pk))


@router.post(
    "/batches/{batch_id}/cancel",
    response={200: BatchOut, **WRITE_ERRORS},
    summary="Cancel a batch: every open order is cancelled and refunded",
    operation_id="shop_batches_cancel",
)
def batches_cancel(request: HttpRequest, batch_id: int, body: ReasonIn) -> PreorderBatch:
    batch = _batch_to_run(request, batch_id)
    return selectors.batch_shown(catalogue.batch_cancel(batch_id=batch.pk, reason=body.reason))


@router.get(
    "/batches/{batch_id}/packing-list",
    response={200: list[PackingSlotOut], **READ_ERRORS},
    summary="What to pack, per pickup slot",
    operation_id="shop_batches_packing_list",
)
def batches_packing_list(request: HttpRequest, batch_id: int) -> list[PackingSlot]:
    return selectors.packing_list(batch=_batch_to_run(request, batch_id))


@router.get(
    "/batches/{batch_id}/packing-list.csv",
    response={200: None, **READ_ERRORS},
    summary="The packing list as CSV",
    operation_id="shop_batches_packing_list_csv",
    openapi_extra=CSV_FILE,
)
def batches_packing_list_csv(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch_to_run(request, batch_id)
    names = actor(request).personal_data
    return csv_response(selectors.packing_list_csv(batch=batch, names=names), f"packing-{batch.pk}")


@router.get(
    "/batches/{batch_id}/sell-through",
    response={200: list[SellThroughOut], **READ_ERRORS},
    summary="Per item: available, ordered, collected, expired",
    operation_id="shop_batches_sell_through",
)
def batches_sell_through(request: HttpRequest, batch_id: int) -> list[dict[str, Any]]:
    return selectors.batch_sell_through(batch=_batch_to_run(request, batch_id))
