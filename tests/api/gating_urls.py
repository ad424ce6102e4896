"""A tenant URLconf with one router of a module that is off by default (shop)."""

from django.http import HttpRequest
from django.urls import path
from ninja import NinjaAPI, Router

from api import errors
from api.auth import KeyAuth

shop = Router(auth=KeyAuth("shop"))


@shop.get("/ping", operation_id="shop_ping")
def ping(request: HttpRequest) -> dict[str, str]:
    return {"module": "shop"}


gating_api = NinjaAPI(urls_namespace="gating-test", docs_url=None)
errors.install(gating_api)
gating_api.add_router("/shop", shop)

urlpatterns = [path("api/v1/", gating_api.urls)]
