"""URLs of a tenant's host: its admin, the resident pages and the API."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from api.v1 import tenant_urls
from linli.accounts.views import welcome as signup_welcome

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("r/", include("tenants.pages.urls")),
    path("signup/welcome/<str:token>", signup_welcome, name="signup-welcome"),
    *tenant_urls,
]
