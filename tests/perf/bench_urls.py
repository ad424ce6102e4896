"""URLs for the request-overhead benchmark: the tenant URLs plus one listing endpoint."""

from django.contrib.admin.models import LogEntry
from django.http import HttpRequest
from django.urls import path
from ninja import NinjaAPI, Schema

from api.auth import KeyAuth
from linli.urls_tenant import urlpatterns as tenant_urlpatterns

bench_api = NinjaAPI(urls_namespace="bench")


class Row(Schema):
    id: int
    object_repr: str
    model: str


@bench_api.get("/rows", response=list[Row])
def rows(request: HttpRequest) -> list[Row]:
    entries = LogEntry.objects.select_related("content_type").order_by("id")[:50]
    return [
        Row(
            id=e.id, object_repr=e.object_repr, model=e.content_type.model if e.content_type else ""
        )
        for e in entries
    ]


@bench_api.get("/open")
def open_endpoint(request: HttpRequest) -> dict[str, str]:
    return {"tenant": request.tenant.schema_name}  # type: ignore[attr-defined]


@bench_api.get("/keyed", auth=KeyAuth("community"))
def keyed_endpoint(request: HttpRequest) -> dict[str, str]:
    return {"tenant": request.tenant.schema_name}  # type: ignore[attr-defined]


urlpatterns = [path("bench/", bench_api.urls), *tenant_urlpatterns]
