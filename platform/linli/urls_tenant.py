"""URLs of a tenant's host: its admin, the resident pages and the API."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from api.v1 import tenant_urls

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("r/", include("tenants.pages.urls")),
    *tenant_urls,
]
