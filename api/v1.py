"""The one typed API: /api/v1/ on every tenant's host, /api/v1/platform/ on the platform host."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path
from ninja import NinjaAPI

from api import document, errors
from api.community.routes import router as community_router
from api.deliberation.routes import router as deliberation_router
from api.events.routes import router as events_router
from api.events.routes import webhooks as webhooks_router
from api.helpteam.routes import router as helpteam_router
from api.notices.routes import router as notices_router
from api.platform.routes import router as platform_router
from api.points.routes import router as points_router
from api.rendering import LocalTimeRenderer
from api.shop.routes import router as shop_router
from api.tenancy.routes import router as tenancy_router


class LinliAPI(NinjaAPI):
    """NinjaAPI whose document names every component apart, says what errors really are
    (``application/problem+json``), and is built once per process (``api.document``)."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return document.document(self, path_prefix)


api = LinliAPI(
    title="Linli API",
    version="1",
    description=(
        "Neighbourhood programmes: community, deliberation, help team, shop, points. "
        "Authenticate with `Authorization: Bearer <key>`; errors are RFC 9457 problems "
        "with a stable `code`; POSTs accept an `Idempotency-Key`."
    ),
    urls_namespace="api-v1",
    renderer=LocalTimeRenderer(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)
api.add_router("/tenant", tenancy_router)
api.add_router("/community", community_router)
api.add_router("/points", points_router)
api.add_router("/helpteam", helpteam_router)
api.add_router("/deliberation", deliberation_router)
api.add_router("/shop", shop_router)
api.add_router("", events_router)
api.add_router("/notices", notices_router)
api.add_router("", webhooks_router)

platform_api = LinliAPI(
    title="Linli platform API",
    version="1",
    urls_namespace="platform-api-v1",
    renderer=LocalTimeRenderer(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(platform_api)
platform_api.add_router("", platform_router)


def tenant_document(request: HttpRequest) -> HttpResponse:
    return document.serve(request, api, "/api/v1/")


def platform_document(request: HttpRequest) -> HttpResponse:
    return document.serve(request, platform_api, "/api/v1/platform/")


tenant_urls = [
    path("api/v1/openapi.json", tenant_document),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", errors.not_found_view),
]
platform_urls = [
    path("api/v1/platform/openapi.json", platform_document),
    path("api/v1/platform/", platform_api.urls),
    re_path(r"^api/(?P<rest>.*)$", errors.not_found_view),
]
