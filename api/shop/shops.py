"""Shops, suppliers and products: the public catalogue, kept by the district (shops and
suppliers) and by those who run each shop (its products). Who may do what is
``tenants.shop.access``'s."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from api.acting import actor
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from api.shop.responses import QR_FILES, qr_response
from api.shop.schemas import (
    ActiveIn,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    RestockIn,
    ShopIn,
    ShopOut,
    ShopPage,
    SupplierIn,
    SupplierOut,
    SupplierPage,
)
from tenants.shop import access, qr, selectors
from tenants.shop.models import Product, Shop, Supplier
from tenants.shop.services import catalogue

router = Router()


def _shop(shop_id: int) -> Shop:
    # Through the module router, where the failure tests of tests/ops replace the lookup.
    from api.shop import routes

    return routes._shop(shop_id)


@router.get(
    "/shops",
    response={200: ShopPage, **READ_ERRORS},
    summary="List shops",
    operation_id="shop_shops_list",
)
def shops_list(
    request: HttpRequest, params: Query[PageParams], estate_id: int | None = None
) -> dict[str, Any]:
    shops = selectors.shop_list(access.shops_visible(actor(request)), estate_id=estate_id)
    return page(*paginate(shops, params))


@router.post(
    "/shops",
    response={201: ShopOut, **WRITE_ERRORS},
    summary="Open a shop",
    operation_id="shop_shops_create",
)
def shops_create(request: HttpRequest, body: ShopIn) -> Status[Shop]:
    access.may_set_up(actor(request))
    return Status(201, catalogue.shop_create(**body.dict()))


@router.get(
    "/shops/{shop_id}",
    response={200: ShopOut, **READ_ERRORS},
    summary="A shop",
    operation_id="shop_shops_get",
)
def shops_get(request: HttpRequest, shop_id: int) -> Shop:
    return _shop(shop_id)


@router.post(
    "/shops/{shop_id}/active",
    response={200: ShopOut, **WRITE_ERRORS},
    summary="Open or close a shop",
    operation_id="shop_shops_set_active",
)
def shops_set_active(request: HttpRequest, shop_id: int, body: ActiveIn) -> Shop:
    shop = access.access_shop(actor=actor(request), shop_id=shop_id)
    access.may_set_up(actor(request))
    return catalogue.shop_set_active(shop_id=shop.pk, active=body.active)


@router.get(
    "/shops/{shop_id}/qr.{kind}",
    response={200: None, **READ_ERRORS},
    summary="The shop's QR code (svg or png)",
    operation_id="shop_shops_qr",
    openapi_extra=QR_FILES,
)
def shops_qr(request: HttpRequest, shop_id: int, kind: str) -> HttpResponse:
    shop = _shop(shop_id)
    return qr_response(request, qr.shop_path(shop.qr_token), kind, f"shop-{shop.pk}")


@router.get(
    "/suppliers",
    response={200: SupplierPage, **READ_ERRORS},
    summary="List suppliers",
    operation_id="shop_suppliers_list",
)
def suppliers_list(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    return page(*paginate(access.suppliers_visible(actor(request)), params))


@router.post(
    "/suppliers",
    response={201: SupplierOut, **WRITE_ERRORS},
    summary="Add a supplier (village co-operative, farm, company)",
    operation_id="shop_suppliers_create",
)
def suppliers_create(request: HttpRequest, body: SupplierIn) -> Status[Supplier]:
    access.may_set_up(actor(request))
    return Status(201, catalogue.supplier_create(**body.dict()))


@router.get(
    "/products",
    response={200: ProductPage, **READ_ERRORS},
    summary="List products",
    operation_id="shop_products_list",
)
def products_list(
    request: HttpRequest,
    params: Query[PageParams],
    shop_id: int | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    products = selectors.product_list(
        access.products_visible(actor(request)), shop_id=shop_id, active=active
    )
    return page(*paginate(products, params))


@router.get(
    "/products/{product_id}",
    response={200: ProductOut, **READ_ERRORS},
    summary="A product",
    operation_id="shop_products_get",
)
def products_get(request: HttpRequest, product_id: int) -> Product:
    return access.access_product(actor=actor(request), product_id=product_id)


@router.post(
    "/products",
    response={201: ProductOut, **WRITE_ERRORS},
    summary="Add a product",
    operation_id="shop_products_create",
)
def products_create(request: HttpRequest, body: ProductIn) -> Status[Product]:
    shop = access.shop_named(actor=actor(request), shop_id=body.shop_id)
    access.may_run_shop(actor(request), shop)
    return Status(201, catalogue.product_create(**body.dict()))


def _product_to_keep(request: HttpRequest, product_id: int) -> Product:
    product = access.access_product(actor=actor(request), product_id=product_id)
    access.may_run_shop(actor(request), product.shop)
    return product


@router.patch(
    "/products/{product_id}",
    response={200: ProductOut, **WRITE_ERRORS},
    summary="Change a product's price, points share or availability",
    operation_id="shop_products_update",
)
def products_update(request: HttpRequest, product_id: int, body: ProductPatch) -> Product:
    product = _product_to_keep(request, product_id)
    return catalogue.product_update(product_id=product.pk, **body.dict())


@router.post(
    "/products/{product_id}/stock",
    response={200: ProductOut, **WRITE_ERRORS},
    summary="Record units arriving or written off",
    operation_id="shop_products_restock",
)
def products_restock(request: HttpRequest, product_id: int, body: RestockIn) -> Product:
    product = _product_to_keep(request, product_id)
    return catalogue.product_restock(product_id=product.pk, delta=body.delta)


@router.post(
    "/products/{product_id}/photo",
    response={200: ProductOut, **WRITE_ERRORS},
    summary="Set a product's photo (JPEG or PNG, at most 5 MB)",
    operation_id="shop_products_photo",
)
def products_photo(request: HttpRequest, product_id: int, photo: File[UploadedFile]) -> Product:
    from linli.uploads import MAX_PHOTO_BYTES

    product = _product_to_keep(request, product_id)
    content = photo.read(MAX_PHOTO_BYTES + 1)
    return catalogue.product_photo_set(product_id=product.pk, content=content)
